#include "bridge/job_runner.h"

#include <QThread>
#include <exception>

#include "bridge/buffered_observer.h"
#include "core/error.h"
#include "core/job.h"
#include "core/json_text.h"

namespace {
JobOutcome::Status toOutcomeStatus(coalesce::JobResult::Status s) {
    switch (s) {
        case coalesce::JobResult::Status::Finished: return JobOutcome::Status::Finished;
        case coalesce::JobResult::Status::Cancelled: return JobOutcome::Status::Cancelled;
        case coalesce::JobResult::Status::Failed: return JobOutcome::Status::Failed;
    }
    return JobOutcome::Status::Failed;
}
}  // namespace

JobRunner::JobRunner(QObject* parent) : QObject(parent) {
    qRegisterMetaType<JobEvent>();
    qRegisterMetaType<JobProgress>();
    qRegisterMetaType<JobOutcome>();
    drainTimer_.setInterval(40);
    drainTimer_.setTimerType(Qt::CoarseTimer);
    connect(&drainTimer_, &QTimer::timeout, this, &JobRunner::drain);
}

JobRunner::~JobRunner() {
    if (thread_) {
        cancel_->requestCancel();
        cancel_->setPaused(false);
        thread_->wait();
        delete thread_;
        thread_ = nullptr;
    }
}

bool JobRunner::start(const QString& title, JobFactory factory) {
    if (thread_) return false;
    title_ = title;
    observer_ = std::make_shared<BufferedObserver>();
    cancel_ = std::make_shared<coalesce::CancelToken>();
    outcome_ = std::make_shared<JobOutcome>();
    progress_ = JobProgress{};
    eta_.reset();
    paused_ = false;
    pausedSeconds_ = 0;
    batches_ = 0;
    clock_.start();

    // The lambda holds its own references: the job, observer and token outlive any early return.
    auto observer = observer_;
    auto cancel = cancel_;
    auto outcome = outcome_;
    thread_ = QThread::create([factory = std::move(factory), observer, cancel, outcome]() {
        QElapsedTimer t;
        t.start();
        std::unique_ptr<coalesce::Job> job;
        try {
            job = factory();
            if (!job) throw coalesce::Error("no job was created");
            const coalesce::JobResult r = job->run(*observer, *cancel);
            outcome->status = toOutcomeStatus(r.status);
            outcome->message = QString::fromStdString(r.message);
            outcome->runDir = QString::fromStdString(r.runDir);
            outcome->summaryJson = QString::fromStdString(r.summary.is_null() ? std::string() : r.summary.dump());
        } catch (const coalesce::Cancelled&) {
            outcome->status = JobOutcome::Status::Cancelled;
            outcome->message = QStringLiteral("cancelled");
        } catch (const std::exception& e) {  // Job::run must not throw, but a factory may
            outcome->status = JobOutcome::Status::Failed;
            outcome->message = QString::fromUtf8(e.what());
        } catch (...) {
            outcome->status = JobOutcome::Status::Failed;
            outcome->message = QStringLiteral("unknown error");
        }
        // From here on the job is over: anything a stray thread of the job still reports is dropped.
        observer->close();
        job.reset();  // destroyed on the worker, so a slow destructor never blocks the GUI
        outcome->seconds = t.elapsed() / 1000.0;
        // A resumed training run reports its whole wall time (every part), as its summary records it.
        const auto summary = coalesce::parseJsonOrDiscarded(outcome->summaryJson.toStdString());
        if (summary.is_object() && summary.contains("wall_seconds") && summary["wall_seconds"].is_number())
            outcome->seconds = std::max(outcome->seconds, summary["wall_seconds"].get<double>());
    });
    thread_->setObjectName(QStringLiteral("coalesce-job"));
    connect(thread_, &QThread::finished, this, &JobRunner::onWorkerFinished);
    drainTimer_.start();
    // LowPriority is a hint that Linux's default scheduling policy ignores (it has one static priority); a
    // real nice value for the job thread was tried (+10) and starved training on a busy machine (~6 % of a
    // core beside three busy processes), so the job keeps the GUI's priority (docs/EXPERIMENTS.md).
    thread_->start(QThread::LowPriority);
    Q_EMIT started(title_);
    return true;
}

void JobRunner::setPaused(bool paused) {
    if (!thread_ || paused == paused_) return;
    paused_ = paused;
    if (paused) {
        pauseClock_.start();
    } else {
        pausedSeconds_ += pauseClock_.elapsed() / 1000.0;
    }
    cancel_->setPaused(paused);
    Q_EMIT pausedChanged(paused_);
}

void JobRunner::cancel() {
    if (!thread_) return;
    cancel_->requestCancel();  // also wakes a paused job, which then throws Cancelled
}

double JobRunner::activeSeconds() const {
    double paused = pausedSeconds_;
    if (paused_) paused += pauseClock_.elapsed() / 1000.0;
    return clock_.elapsed() / 1000.0 - paused;
}

void JobRunner::drain() {
    if (!observer_) return;
    std::vector<JobEvent> events = observer_->take();
    if (events.empty()) return;
    bool progressed = false;
    for (const JobEvent& e : events) {
        if (e.type != JobEvent::Type::Progress) continue;
        progress_.done = e.step;
        progress_.total = e.total;
        progress_.phase = e.name;
        progressed = true;
    }
    if (progressed) {
        progress_.elapsedSeconds = activeSeconds();
        eta_.add(progress_.elapsedSeconds, progress_.done);
        progress_.ratePerSecond = eta_.rate();
        progress_.etaSeconds = eta_.etaSeconds(progress_.total);
    }
    ++batches_;
    Q_EMIT eventsReady(QVector<JobEvent>(std::make_move_iterator(events.begin()), std::make_move_iterator(events.end())));
    if (progressed) Q_EMIT progressChanged(progress_);
}

void JobRunner::onWorkerFinished() {
    thread_->wait();
    drainTimer_.stop();
    drain();  // the observer is closed: this is the last batch
    const JobOutcome outcome = *outcome_;
    thread_->deleteLater();
    thread_ = nullptr;
    observer_.reset();
    cancel_.reset();
    if (paused_) {
        paused_ = false;
        Q_EMIT pausedChanged(false);
    }
    Q_EMIT finished(outcome);
}
