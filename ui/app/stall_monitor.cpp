#include "app/stall_monitor.h"

#include <algorithm>
#include <ctime>

#include <QCoreApplication>
#include <QMetaEnum>

namespace {
double threadCpuMs() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
QString label(const char* receiver, int type) {
    const char* name = QMetaEnum::fromType<QEvent::Type>().valueToKey(type);
    return QString::fromLatin1(receiver ? receiver : "?") + " " + (name ? QString::fromLatin1(name) : QString::number(type));
}
}  // namespace

StallMonitor::StallMonitor(int intervalMs, QObject* parent) : QObject(parent) {
    timer_.setInterval(intervalMs);
    timer_.setTimerType(Qt::PreciseTimer);
    connect(&timer_, &QTimer::timeout, this, &StallMonitor::tick);
}

void StallMonitor::start() {
    maxGapMs_ = maxGapCpuMs_ = maxBusyMs_ = 0;
    gaps_.clear();
    clock_.start();
    last_ = clock_.nsecsElapsed();
    cpuStart_ = lastCpu_ = currentStartCpu_ = threadCpuMs();
    current_ = gapWorst_ = Dispatch{};
    gapWorstMs_ = 0;
    maxGapCulprit_.clear();
    gapKinds_.clear();
    maxGapKinds_.clear();
    worst_.clear();
    QCoreApplication::instance()->installEventFilter(this);
    timer_.start();
}

void StallMonitor::stop() {
    if (!timer_.isActive()) return;
    timer_.stop();
    QCoreApplication::instance()->removeEventFilter(this);
    wallMs_ = clock_.nsecsElapsed() / 1e6;
    cpuMs_ = threadCpuMs() - cpuStart_;
}

void StallMonitor::skipCurrentGap() {
    last_ = clock_.nsecsElapsed();
    lastCpu_ = currentStartCpu_ = threadCpuMs();
    current_ = gapWorst_ = Dispatch{};
    gapWorstMs_ = 0;
    gapKinds_.clear();
}

void StallMonitor::setAttributionPaused(bool paused) {
    if (!timer_.isActive()) return;
    if (paused) {
        QCoreApplication::instance()->removeEventFilter(this);
    } else {
        QCoreApplication::instance()->installEventFilter(this);
        skipCurrentGap();
    }
}

void StallMonitor::tick() {
    const qint64 now = clock_.nsecsElapsed();
    const double cpu = threadCpuMs();
    const double gap = (now - last_) / 1e6, busy = cpu - lastCpu_;
    last_ = now;
    lastCpu_ = cpu;
    chargeCurrentEvent(cpu);
    if (gap > maxGapMs_) {
        maxGapMs_ = gap;
        maxGapCpuMs_ = busy;
        maxGapCulprit_ = gapWorst_.receiver ? QString("%1 %2 ms").arg(label(gapWorst_.receiver, gapWorst_.type)).arg(gapWorstMs_, 0, 'f', 1)
                                            : QString();
        maxGapKinds_ = gapKinds_;
    }
    gapWorst_ = Dispatch{};
    gapWorstMs_ = 0;
    gapKinds_.clear();
    maxBusyMs_ = std::max(maxBusyMs_, busy);
    gaps_ << float(gap);
}

bool StallMonitor::eventFilter(QObject* watched, QEvent* event) {
    if (watched->thread() == thread()) {
        chargeCurrentEvent(threadCpuMs());
        current_ = {watched->metaObject()->className(), int(event->type())};
    }
    return false;
}

void StallMonitor::chargeCurrentEvent(double cpu) {
    const double spent = cpu - currentStartCpu_;
    currentStartCpu_ = cpu;
    if (!current_.receiver) return;
    auto kind = std::find_if(gapKinds_.begin(), gapKinds_.end(), [&](const KindTotal& k) {
        return k.kind.type == current_.type && k.kind.receiver == current_.receiver;  // class names are static
    });
    if (kind == gapKinds_.end()) gapKinds_.append({current_, spent, 1});
    else kind->ms += spent, ++kind->count;
    if (spent > gapWorstMs_) {
        gapWorstMs_ = spent;
        gapWorst_ = current_;
    }
    if (spent < 1.0) return;  // only handlers worth naming
    const QString key = label(current_.receiver, current_.type);
    auto it = std::find_if(worst_.begin(), worst_.end(), [&](const auto& e) { return e.first == key; });
    if (it == worst_.end()) worst_.append({key, spent});
    else it->second = std::max(it->second, spent);
}

QString StallMonitor::culprits(int count) const {
    auto sorted = worst_;
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    QStringList parts;
    for (int i = 0; i < std::min(count, int(sorted.size())); ++i)
        parts << QString("%1 %2 ms").arg(sorted[i].first).arg(sorted[i].second, 0, 'f', 1);
    return parts.join(", ");
}

QString StallMonitor::maxGapBreakdown(int count) const {
    auto sorted = maxGapKinds_;
    std::sort(sorted.begin(), sorted.end(), [](const KindTotal& a, const KindTotal& b) { return a.ms > b.ms; });
    QStringList parts;
    for (int i = 0; i < std::min(count, int(sorted.size())); ++i)
        parts << QString("%1 %2 ms in %3").arg(label(sorted[i].kind.receiver, sorted[i].kind.type)).arg(sorted[i].ms, 0, 'f', 1).arg(sorted[i].count);
    return parts.join(", ");
}

int StallMonitor::gapsOver(double ms) const {
    return int(std::count_if(gaps_.begin(), gaps_.end(), [ms](float g) { return g > ms; }));
}

double StallMonitor::percentileGapMs(double p) const {
    if (gaps_.isEmpty()) return 0;
    QVector<float> sorted = gaps_;
    std::sort(sorted.begin(), sorted.end());
    const int i = std::clamp(int(p * (sorted.size() - 1)), 0, int(sorted.size()) - 1);
    return sorted[i];
}
