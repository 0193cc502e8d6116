// Feeds the Toy 2-D view: when a 2-D (mlp2d) run reports a checkpoint, samples that generator for a
// fixed z on a worker thread and stores the points with the run; on a run's first checkpoint it also
// loads the real point sets it was trained against (its data, or each barycenter source). One task at a
// time, in order; image runs are ignored.
#pragma once
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
    bool idle() const { return !busy_ && queue_.isEmpty(); }
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

    RunStore* store_;
    QList<Task> queue_;
    QSet<int> referencesQueued_;
    bool busy_ = false;
};
