// Runs one engine Job on a worker QThread and delivers its events to the GUI thread in batches.
//
//   worker thread:  factory() -> Job::run(observer, cancel)   observer = BufferedObserver (mutex)
//   GUI thread:     a ~40 ms QTimer drains the buffer -> eventsReady(batch), progressChanged(...)
//                   after the worker ends: last drain -> finished(outcome). Nothing follows finished.
//
// Pause/cancel go through the job's CancelToken (cooperative: jobs call check() every iteration).
// Destroying a running JobRunner cancels the job and waits for it.
#pragma once
#include <QElapsedTimer>
#include <QObject>
#include <QTimer>
#include <functional>
#include <memory>

#include "bridge/eta_estimator.h"
#include "bridge/job_event.h"

namespace coalesce {
class Job;
class CancelToken;
}  // namespace coalesce
class BufferedObserver;
class QThread;

class JobRunner : public QObject {
    Q_OBJECT
public:
    // Called on the worker thread (creating a job may read files); may throw coalesce::Error.
    using JobFactory = std::function<std::unique_ptr<coalesce::Job>()>;

    explicit JobRunner(QObject* parent = nullptr);
    ~JobRunner() override;

    // Starts a job; false (and nothing happens) if one is already running.
    bool start(const QString& title, JobFactory factory);
    bool isRunning() const { return thread_ != nullptr; }
    bool isPaused() const { return paused_; }
    QString title() const { return title_; }
    JobProgress progress() const { return progress_; }

    void setPaused(bool paused);
    void cancel();
    // Milliseconds between drains of the event buffer (default 40: at most 25 GUI updates a second).
    void setDrainInterval(int ms) { drainTimer_.setInterval(ms); }
    int drainInterval() const { return drainTimer_.interval(); }
    // Number of drains that delivered events, since start (tests check batching with it).
    int batchesDelivered() const { return batches_; }

Q_SIGNALS:
    void started(const QString& title);
    void eventsReady(const QVector<JobEvent>& events);
    void progressChanged(const JobProgress& progress);
    void pausedChanged(bool paused);
    void finished(const JobOutcome& outcome);

private:
    void drain();
    void onWorkerFinished();
    double activeSeconds() const;

    QThread* thread_ = nullptr;
    std::shared_ptr<BufferedObserver> observer_;
    std::shared_ptr<coalesce::CancelToken> cancel_;
    std::shared_ptr<JobOutcome> outcome_;  // written by the worker, read after it has finished
    QTimer drainTimer_;
    QString title_;
    JobProgress progress_;
    EtaEstimator eta_;
    QElapsedTimer clock_;
    double pausedSeconds_ = 0;
    QElapsedTimer pauseClock_;
    bool paused_ = false;
    int batches_ = 0;
};
