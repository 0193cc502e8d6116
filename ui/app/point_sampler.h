// Feeds the Toy 2-D view: when a 2-D (mlp2d) run reports a checkpoint, samples that generator for a
// fixed z on a worker thread and stores the points with the run; on a run's first checkpoint it also
// loads the real point sets it was trained against (its data, or each barycenter source). One task at a
// time, in order; image runs are ignored. Whether a run is 2-D is decided once per run, from its first
// checkpoint, on a worker thread: the check verifies the whole file (an image checkpoint with its critics
// and optimizer state is ~15 MB), which stalled the GUI thread ~120 ms at every checkpoint of an image run.
#pragma once
#include <QHash>
#include <QList>
#include <QObject>
#include <QSet>

class RunStore;

class PointSampler : public QObject {
    Q_OBJECT
public:
    explicit PointSampler(RunStore* store, QObject* parent = nullptr);
    void onCheckpoint(int runId, qint64 step, const QString& path);
    // A run read from disk: every checkpoint of a 2-D run, plus its reference points.
    void sampleRun(int runId);
    bool idle() const { return !busy_ && queue_.isEmpty() && waitingForKind_.isEmpty(); }
    static constexpr int kPoints = 1000;

Q_SIGNALS:
    void problem(const QString& message);
    void becameIdle();

private:
    struct Task {
        int runId = 0;
        qint64 step = -1;     // >= 0: a checkpoint (generated points); -1: a reference set
        QString generator;    // a generator file to sample ...
        QString dataSpec;     // ... or a dataset spec to load
        QString name;         // reference set name
    };
    void queueReferences(int runId);
    void startNext();
    // Queues a run's checkpoint tasks once the run is known to be 2-D (decided from `probe`, a model
    // file of the run, on a worker thread, and remembered); drops them for an image run.
    void queueIfPointRun(int runId, const QList<Task>& tasks, const QString& probe);

    RunStore* store_;
    QList<Task> queue_;
    QSet<int> referencesQueued_;
    QHash<int, bool> isPointRun_;               // run -> 2-D, once known
    QHash<int, QList<Task>> waitingForKind_;    // run -> tasks held while its kind is being checked
    bool busy_ = false;
};
