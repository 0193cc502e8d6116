#include "app/point_sampler.h"

#include <QFile>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtConcurrent/QtConcurrentRun>

#include "app/engine_samples.h"
#include "project/model_file_info.h"
#include "runs/run_store.h"

namespace {
bool isPointModel(const QString& path) {
    const ModelFileInfo info = inspectModelFile(path);
    return info.usable() && !info.isImageModel;
}
}  // namespace

PointSampler::PointSampler(RunStore* store, QObject* parent) : QObject(parent), store_(store) {
    connect(store_, &RunStore::checkpointAdded, this, &PointSampler::onCheckpoint);
    connect(store_, &RunStore::runRemoved, this, [this](int id) {
        queue_.erase(std::remove_if(queue_.begin(), queue_.end(), [id](const Task& t) { return t.runId == id; }), queue_.end());
        referencesQueued_.remove(id);
        isPointRun_.remove(id);
        waitingForKind_.remove(id);
    });
}

void PointSampler::onCheckpoint(int runId, qint64 step, const QString& path) {
    Task t;
    t.runId = runId;
    t.step = step;
    t.generator = path;
    queueIfPointRun(runId, {t}, path);
}

void PointSampler::sampleRun(int runId) {
    const RunData* run = store_->run(runId);
    if (!run) return;
    QList<Task> tasks;
    for (const auto& [step, path] : run->checkpoints) {
        Task t;
        t.runId = runId;
        t.step = step;
        t.generator = path;
        tasks << t;
    }
    if (tasks.isEmpty() && QFileInfo::exists(run->dir + "/generator.coalesce")) {
        Task t;
        t.runId = runId;
        t.step = run->metrics.isEmpty() ? 0 : qint64(run->metrics.first().steps.value(run->metrics.first().steps.size() - 1));
        t.generator = run->dir + "/generator.coalesce";
        tasks << t;
    }
    if (!tasks.isEmpty()) queueIfPointRun(runId, tasks, tasks.first().generator);
}

void PointSampler::queueIfPointRun(int runId, const QList<Task>& tasks, const QString& probe) {
    if (const auto known = isPointRun_.constFind(runId); known != isPointRun_.constEnd()) {
        if (!*known) return;
        queueReferences(runId);
        queue_ << tasks;
        startNext();
        return;
    }
    QList<Task>& waiting = waitingForKind_[runId];
    const bool checking = !waiting.isEmpty();
    waiting << tasks;
    if (checking) return;  // the run's first check is still running: these wait with the others
    auto* watcher = new QFutureWatcher<bool>(this);
    connect(watcher, &QFutureWatcher<bool>::finished, this, [this, watcher, runId] {
        const bool isPoint = watcher->result();
        watcher->deleteLater();
        const QList<Task> held = waitingForKind_.take(runId);
        if (!store_->run(runId)) return;  // removed meanwhile
        isPointRun_.insert(runId, isPoint);
        if (isPoint) {
            queueReferences(runId);
            queue_ << held;
        }
        startNext();  // also says "idle" when an image run was all there was
    });
    watcher->setFuture(QtConcurrent::run([probe] { return isPointModel(probe); }));
}

void PointSampler::queueReferences(int runId) {
    if (referencesQueued_.contains(runId)) return;
    referencesQueued_.insert(runId);
    const RunData* run = store_->run(runId);
    if (!run || run->dir.isEmpty()) return;
    QFile f(run->dir + "/config.json");
    if (!f.open(QIODevice::ReadOnly)) return;
    const QJsonObject config = QJsonDocument::fromJson(f.readAll()).object();
    QList<Task> refs;
    auto addData = [&](const QString& spec, const QString& name) {
        if (!spec.startsWith(QLatin1String("toy:"))) return;
        Task t;
        t.runId = runId;
        t.dataSpec = spec;
        t.name = name;
        refs << t;
    };
    addData(config.value("data").toString(), tr("data"));
    const QJsonArray sources = config.value("sources").toArray();
    for (int k = 0; k < sources.size(); ++k) {
        const QJsonObject s = sources[k].toObject();
        const QString name = QStringLiteral("source %1").arg(k) + (s.contains("name") ? ": " + s.value("name").toString() : QString());
        if (s.contains("generator")) {
            Task t;
            t.runId = runId;
            t.generator = s.value("generator").toString();
            t.name = name;
            refs << t;
        } else {
            addData(s.value("data").toString(), name);
        }
    }
    if (config.contains("barycenter")) {
        Task t;
        t.runId = runId;
        t.generator = config.value("barycenter").toString();
        t.name = tr("barycenter");
        refs << t;
    }
    queue_ = refs + queue_;  // references first: the scatter shows them under the first points
}

void PointSampler::startNext() {
    if (busy_) return;
    if (queue_.isEmpty()) {
        Q_EMIT becameIdle();
        return;
    }
    const Task task = queue_.takeFirst();
    busy_ = true;
    auto* watcher = new QFutureWatcher<EngineSamples>(this);
    connect(watcher, &QFutureWatcher<EngineSamples>::finished, this, [this, watcher, task] {
        const EngineSamples s = watcher->result();
        watcher->deleteLater();
        busy_ = false;
        if (!s.error.isEmpty()) {
            Q_EMIT problem(tr("toy view: %1").arg(s.error));
        } else if (store_->run(task.runId)) {
            if (task.step >= 0)
                store_->addGeneratedPoints(task.runId, task.step, s.points);
            else
                store_->setReferencePoints(task.runId, task.name, s.points);
        }
        startNext();
    });
    watcher->setFuture(QtConcurrent::run([task] {
        return task.generator.isEmpty() ? loadDataPoints(task.dataSpec, 2 * kPoints)
                                        : sampleGeneratorPoints(task.generator, kPoints, 20260101);
    }));
}
