// The workbench's stage runs, without any widget: it checks a stage against the project (what is
// missing, the engine's own config check), picks and records the run directory, starts the job on the
// JobRunner, applies its events to the RunStore, keeps the project's run records and statuses, and
// remembers which stopped run of each kind can be resumed. MainWindow only turns its signals into
// status-bar text, dialogs and panel updates; tests drive it directly. Torch-free.
#pragma once
#include <QJsonObject>
#include <QMap>
#include <QObject>
#include <QString>
#include <QVector>

#include "bridge/job_catalog.h"
#include "bridge/job_event.h"
#include "project/stage_readiness.h"

class JobRunner;
class Project;
class RunStore;

class StageController : public QObject {
    Q_OBJECT
public:
    StageController(JobCatalog catalog, Project* project, RunStore* runs, const ModelFileCache* files, QObject* parent = nullptr);

    JobRunner* runner() const { return runner_; }
    bool isRunning() const;
    // kind -> one-line summary of the stages this engine build has.
    const QMap<QString, QString>& availableKinds() const { return kinds_; }

    // What keeps `kind` from starting, from the project model (project/stage_readiness.h).
    QStringList problems(const QString& kind) const;
    // The engine's latest load of the local samples (the Local data preview); its error blocks adapt
    // and experiment while the project's local-data settings are the ones loaded.
    void setLocalDataLoad(const LocalDataLoad& load) { lastLoad_ = load; }

    // Starts stage `kind` with `config` (kind, run_dir and resume are filled in): a fresh run folder
    // under the project's runs/ (or the config's own run_dir), or `resumeDir` to continue a stopped run.
    // Returns "" when started, else why not, with what to do next. Nothing is recorded on failure.
    QString start(const QString& kind, QJsonObject config, const QString& resumeDir = QString());
    void setPaused(bool paused);
    void cancel();

    int activeRunId() const { return activeRunId_; }
    QString activeKind() const { return activeKind_; }
    QString activeRunDir() const { return activeRunDir_; }
    // The last cancelled or failed run of `kind` that has a checkpoint ("" = none).
    QString resumableRun(const QString& kind) const { return resumable_.value(kind); }

    // A different project was loaded: forget the old project's runs (unless one is still running) and
    // load the new one's recorded run folders; runLoaded is emitted for each.
    void reloadProjectRuns();

Q_SIGNALS:
    void started(const QString& kind, const QString& runDir, bool resumed);
    void progressChanged(const JobProgress& progress);
    void pausedChanged(bool paused);
    // A batch of the running job's events, already applied to the RunStore.
    void eventsApplied(const QVector<JobEvent>& events);
    // A running barycenter's current λ_k (constrained mode moves them); empty when the run ends.
    void liveWeightsChanged(const QVector<double>& lambdas);
    // After the run's status is recorded; resumable = it stopped with a checkpoint to continue from.
    void finished(const JobOutcome& outcome, const QString& kind, const QString& runDir, bool resumable);
    void runLoaded(int runId);
    void resumableChanged();

private:
    void onEvents(const QVector<JobEvent>& events);
    void onPaused(bool paused);
    void onFinished(const JobOutcome& outcome);

    JobCatalog catalog_;
    QMap<QString, QString> kinds_;
    Project* project_;
    RunStore* runs_;
    const ModelFileCache* files_;
    JobRunner* runner_;
    LocalDataLoad lastLoad_;
    int activeRunId_ = -1;
    QString activeKind_;
    QString activeRunDir_;
    QMap<QString, QString> resumable_;  // kind -> run dir of its last cancelled/failed run with a checkpoint
};
