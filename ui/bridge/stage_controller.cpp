#include "bridge/stage_controller.h"

#include <QDateTime>
#include <QFileInfo>
#include <QJsonDocument>
#include <QTime>

#include "bridge/engine_json.h"
#include "bridge/job_runner.h"
#include "project/project.h"
#include "project/stage_configs.h"
#include "runs/run_directory_reader.h"
#include "runs/run_store.h"

namespace {
bool hasCheckpoint(const QString& runDir) { return QFileInfo::exists(runDir + "/checkpoints/latest.coalesce"); }
}  // namespace

StageController::StageController(JobCatalog catalog, Project* project, RunStore* runs, const ModelFileCache* files, QObject* parent)
    : QObject(parent), catalog_(std::move(catalog)), project_(project), runs_(runs), files_(files), runner_(new JobRunner(this)) {
    if (catalog_.kinds) kinds_ = catalog_.kinds();
    connect(runner_, &JobRunner::eventsReady, this, &StageController::onEvents);
    connect(runner_, &JobRunner::progressChanged, this, &StageController::progressChanged);
    connect(runner_, &JobRunner::pausedChanged, this, &StageController::onPaused);
    connect(runner_, &JobRunner::finished, this, &StageController::onFinished);
}

bool StageController::isRunning() const { return runner_->isRunning(); }

QStringList StageController::problems(const QString& kind) const { return stageProblems(kind, *project_, *files_, lastLoad_); }

QString StageController::start(const QString& kind, QJsonObject config, const QString& resumeDir) {
    if (runner_->isRunning()) return tr("“%1” is still running; one job runs at a time.").arg(runner_->title());
    if (kind.isEmpty() || !kinds_.contains(kind)) return tr("this engine build has no “%1” stage.").arg(kind);
    if (const QStringList why = problems(kind); !why.isEmpty()) return why.join('\n');

    const bool resume = !resumeDir.isEmpty();
    // A run_dir typed into the config is respected (runs are immutable: the engine refuses a
    // non-empty one); otherwise a fresh one under the project's runs/ folder.
    const QString typedDir = config.value("run_dir").toString().trimmed();
    const QString runDir = resume ? resumeDir : !typedDir.isEmpty() ? QFileInfo(typedDir).absoluteFilePath() : newRunDirectory(kind, *project_);
    config["kind"] = kind;
    config["run_dir"] = runDir;
    // Only a resumed run says so: one-shot jobs (evaluate, average, …) have no checkpoint to resume from.
    if (resume)
        config["resume"] = true;
    else
        config.remove("resume");
    coalesce::Json json;
    try {
        json = toEngineJson(config);
        // The engine checks the whole config now (constructing a job reads and validates it, loads
        // nothing): a misspelt key or a negative count is said here, and no failed run is left behind.
        catalog_.create(json);
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what()).section('\n', 0, 0) + missingInputHint(kind, config);
    }

    int id = resume ? runs_->findByDir(runDir) : -1;
    if (id >= 0) {
        const RunData* r = runs_->run(id);
        runs_->truncate(id, r->checkpoints.isEmpty() ? 0 : r->checkpoints.last().first);
        runs_->setStatus(id, "running");
    } else {
        id = runs_->addRun(QStringLiteral("%1 %2").arg(kind, QTime::currentTime().toString("HH:mm:ss")), kind, runDir, "running");
        if (kind == "barycenter") {
            QVector<double> radii;
            for (const SourceModel& s : project_->sources())
                if (s.enabled) radii << s.radius;
            runs_->setRadii(id, radii);
        }
        project_->addRun({kind, runDir, runs_->run(id)->label, "running", QDateTime::currentDateTime()});
    }
    activeRunId_ = id;
    activeKind_ = kind;
    activeRunDir_ = runDir;
    resumable_.remove(kind);
    auto create = catalog_.create;
    runner_->start(QStringLiteral("%1 (%2)").arg(kind, QFileInfo(runDir).fileName()), [create, json] { return create(json); });
    Q_EMIT resumableChanged();
    Q_EMIT started(kind, runDir, resume);
    return {};
}

void StageController::setPaused(bool paused) { runner_->setPaused(paused); }

void StageController::cancel() { runner_->cancel(); }

void StageController::onEvents(const QVector<JobEvent>& events) {
    if (activeRunId_ >= 0) runs_->apply(activeRunId_, events);
    if (activeRunId_ >= 0 && activeKind_ == QLatin1String("barycenter")) {
        QVector<double> lambdas;
        const RunData* run = runs_->run(activeRunId_);
        for (int k = 0; run && !run->metrics.value(QStringLiteral("lambda/%1").arg(k)).values.isEmpty(); ++k)
            lambdas << run->metrics.value(QStringLiteral("lambda/%1").arg(k)).values.last();
        if (!lambdas.isEmpty()) Q_EMIT liveWeightsChanged(lambdas);
    }
    Q_EMIT eventsApplied(events);
}

void StageController::onPaused(bool paused) {
    if (activeRunId_ >= 0) runs_->setStatus(activeRunId_, paused ? "paused" : "running");
    Q_EMIT pausedChanged(paused);
}

void StageController::onFinished(const JobOutcome& outcome) {
    const QString status = statusName(outcome.status);
    if (activeRunId_ >= 0) runs_->setStatus(activeRunId_, status);
    project_->setRunStatus(activeRunDir_, status);
    const bool resumable = outcome.status != JobOutcome::Status::Finished && hasCheckpoint(activeRunDir_);
    if (resumable) resumable_[activeKind_] = activeRunDir_;
    activeRunId_ = -1;
    Q_EMIT liveWeightsChanged({});
    if (resumable) Q_EMIT resumableChanged();
    Q_EMIT finished(outcome, activeKind_, activeRunDir_, resumable);
}

void StageController::reloadProjectRuns() {
    if (!runner_->isRunning()) runs_->clear();
    resumable_.clear();
    for (const RunRecord& r : project_->runs()) {
        if (runs_->findByDir(r.dir) >= 0 || !isRunDirectory(r.dir)) continue;
        QString error;
        const int id = loadRunDirectory(r.dir, *runs_, nullptr, &error);
        if (id < 0) continue;
        if (!r.label.isEmpty()) runs_->setLabel(id, r.label);
        Q_EMIT runLoaded(id);
        if ((r.status == "cancelled" || r.status == "failed") && hasCheckpoint(r.dir)) resumable_[r.kind] = r.dir;
    }
    Q_EMIT resumableChanged();
}
