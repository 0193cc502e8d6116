// Plain value types that carry a job's events from the worker thread to the GUI thread.
// No QObject here: these are copied into a mutex-protected buffer on the worker and drained in
// batches by the GUI (see BufferedObserver and JobRunner).
#pragma once
#include <QImage>
#include <QMetaType>
#include <QString>
#include <QVector>

struct JobEvent {
    enum class Type { Progress, Metric, Image, Log, Checkpoint };
    Type type = Type::Log;
    QString name;      // metric name, image tag, progress phase, log text or checkpoint path
    qint64 step = 0;   // metric / image / checkpoint step; for Progress: iterations done
    qint64 total = 0;  // Progress only: iterations in total
    double value = 0;  // Metric only
    int level = 0;     // Log only: coalesce::LogLevel as int (0 debug .. 3 error)
    QImage image;      // Image only (already converted on the worker thread)
};

// Where a running job stands, with a time estimate that ignores paused time.
struct JobProgress {
    qint64 done = 0;
    qint64 total = 0;
    QString phase;
    double elapsedSeconds = 0;  // active (not paused) time since the job started
    double etaSeconds = -1;     // < 0: unknown yet
    double ratePerSecond = 0;   // job units (usually iterations) per active second
    double fraction() const { return total > 0 ? double(done) / double(total) : 0.0; }
};

// How a job ended. status mirrors coalesce::JobResult::Status.
struct JobOutcome {
    enum class Status { Finished, Cancelled, Failed };
    Status status = Status::Finished;
    QString message;
    QString runDir;
    QString summaryJson;  // the job's summary as compact JSON text
    double seconds = 0;
};

QString statusName(JobOutcome::Status status);
QString formatDuration(double seconds);  // "42 s", "3:07", "1:02:03"

Q_DECLARE_METATYPE(JobEvent)
Q_DECLARE_METATYPE(JobProgress)
Q_DECLARE_METATYPE(JobOutcome)
