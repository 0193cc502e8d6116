#include "bridge/job_event.h"

#include <cmath>

QString statusName(JobOutcome::Status status) {
    switch (status) {
        case JobOutcome::Status::Finished: return QStringLiteral("finished");
        case JobOutcome::Status::Cancelled: return QStringLiteral("cancelled");
        case JobOutcome::Status::Failed: return QStringLiteral("failed");
    }
    return QStringLiteral("?");
}

QString formatDuration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return QStringLiteral("–");
    const qint64 s = qint64(std::llround(seconds));
    if (s < 60) return QStringLiteral("%1 s").arg(s);
    const qint64 h = s / 3600, m = (s % 3600) / 60, r = s % 60;
    if (h == 0) return QStringLiteral("%1:%2").arg(m).arg(r, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1:%2:%3").arg(h).arg(m, 2, 10, QLatin1Char('0')).arg(r, 2, 10, QLatin1Char('0'));
}
