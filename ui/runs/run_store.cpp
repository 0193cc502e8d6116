#include "runs/run_store.h"

#include <algorithm>

QVector<qint64> RunData::imageSteps(const QString& tag) const {
    const auto it = images.constFind(tag);
    return it == images.constEnd() ? QVector<qint64>() : QVector<qint64>(it->keyBegin(), it->keyEnd());
}

RunStore::RunStore(QObject* parent) : QObject(parent) {}
RunStore::~RunStore() = default;

QColor RunStore::colorForIndex(int index) {
    // Tableau 10: distinguishable, colour-blind friendlier than Qt's defaults, fine on dark backgrounds.
    static const QColor palette[] = {QColor(0x4e, 0x79, 0xa7), QColor(0xf2, 0x8e, 0x2b), QColor(0xe1, 0x57, 0x59),
                                     QColor(0x76, 0xb7, 0xb2), QColor(0x59, 0xa1, 0x4f), QColor(0xed, 0xc9, 0x48),
                                     QColor(0xb0, 0x7a, 0xa1), QColor(0xff, 0x9d, 0xa7), QColor(0x9c, 0x75, 0x5f),
                                     QColor(0xba, 0xb0, 0xac)};
    return palette[((index % 10) + 10) % 10];
}

int RunStore::addRun(const QString& label, const QString& kind, const QString& dir, const QString& status) {
    auto run = std::make_unique<RunData>();
    run->id = nextId_++;
    run->label = label;
    run->kind = kind;
    run->dir = dir;
    run->status = status;
    run->color = colorForIndex(colorsUsed_++);
    const int id = run->id;
    runs_[id] = std::move(run);
    order_ << id;
    Q_EMIT runAdded(id);
    return id;
}

void RunStore::removeRun(int id) {
    if (!runs_.count(id)) return;
    order_.removeAll(id);
    Q_EMIT runRemoved(id);  // listeners drop their references before the data goes
    runs_.erase(id);
}

void RunStore::clear() {
    for (int id : QVector<int>(order_)) removeRun(id);
    colorsUsed_ = 0;
}

RunData* RunStore::run(int id) {
    auto it = runs_.find(id);
    return it == runs_.end() ? nullptr : it->second.get();
}

const RunData* RunStore::run(int id) const {
    auto it = runs_.find(id);
    return it == runs_.end() ? nullptr : it->second.get();
}

QVector<int> RunStore::ids() const { return order_; }

int RunStore::findByDir(const QString& dir) const {
    for (int id : order_)
        if (!dir.isEmpty() && runs_.at(id)->dir == dir) return id;
    return -1;
}

void RunStore::apply(int id, const QVector<JobEvent>& events) {
    RunData* r = run(id);
    if (!r) return;
    bool metrics = false, images = false;
    for (const JobEvent& e : events) {
        switch (e.type) {
            case JobEvent::Type::Metric: {
                auto it = r->metrics.find(e.name);
                if (it == r->metrics.end()) {
                    it = r->metrics.insert(e.name, MetricSeries{});
                    r->metricOrder << e.name;
                }
                it->steps.push_back(double(e.step));
                it->values.push_back(e.value);
                metrics = true;
                break;
            }
            case JobEvent::Type::Image:
                if (!e.image.isNull()) {
                    r->images[e.name][e.step] = e.image;
                    images = true;
                }
                break;
            case JobEvent::Type::Checkpoint:
                r->checkpoints.push_back({e.step, e.name});
                Q_EMIT checkpointAdded(id, e.step, e.name);
                break;
            default:
                break;
        }
    }
    if (metrics) Q_EMIT metricsAppended(id);
    if (images) Q_EMIT imagesAdded(id);
}

void RunStore::addMetricPoints(int id, const QString& name, const QVector<double>& steps, const QVector<double>& values) {
    RunData* r = run(id);
    if (!r || steps.size() != values.size() || steps.isEmpty()) return;
    auto it = r->metrics.find(name);
    if (it == r->metrics.end()) {
        it = r->metrics.insert(name, MetricSeries{});
        r->metricOrder << name;
    }
    it->steps += steps;
    it->values += values;
    Q_EMIT metricsAppended(id);
}

void RunStore::addImage(int id, const QString& tag, qint64 step, const QImage& image) {
    RunData* r = run(id);
    if (!r || image.isNull()) return;
    r->images[tag][step] = image;
    Q_EMIT imagesAdded(id);
}

void RunStore::setStatus(int id, const QString& status) {
    if (RunData* r = run(id); r && r->status != status) {
        r->status = status;
        Q_EMIT runChanged(id);
    }
}

void RunStore::setVisible(int id, bool visible) {
    if (RunData* r = run(id); r && r->visible != visible) {
        r->visible = visible;
        Q_EMIT runChanged(id);
    }
}

void RunStore::setLabel(int id, const QString& label) {
    if (RunData* r = run(id); r && r->label != label) {
        r->label = label;
        Q_EMIT runChanged(id);
    }
}

void RunStore::setRadii(int id, const QVector<double>& radii) {
    if (RunData* r = run(id)) {
        r->radii = radii;
        Q_EMIT runChanged(id);
    }
}

void RunStore::setReferencePoints(int id, const QString& name, const QVector<QPointF>& points) {
    if (RunData* r = run(id)) {
        r->referencePoints[name] = points;
        Q_EMIT pointsAdded(id);
    }
}

void RunStore::addGeneratedPoints(int id, qint64 step, const QVector<QPointF>& points) {
    if (RunData* r = run(id)) {
        r->generatedPoints[step] = points;
        Q_EMIT pointsAdded(id);
    }
}

void RunStore::truncate(int id, qint64 step) {
    RunData* r = run(id);
    if (!r) return;
    for (auto it = r->metrics.begin(); it != r->metrics.end(); ++it) {
        int keep = 0;
        while (keep < it->steps.size() && it->steps[keep] <= double(step)) ++keep;
        it->steps.resize(keep);
        it->values.resize(keep);
    }
    for (auto& grids : r->images)
        for (auto it = grids.begin(); it != grids.end();) it = it.key() > step ? grids.erase(it) : std::next(it);
    r->checkpoints.erase(std::remove_if(r->checkpoints.begin(), r->checkpoints.end(),
                                        [&](const auto& c) { return c.first > step; }),
                         r->checkpoints.end());
    for (auto it = r->generatedPoints.begin(); it != r->generatedPoints.end();)
        it = it.key() > step ? r->generatedPoints.erase(it) : std::next(it);
    Q_EMIT runReset(id);
    Q_EMIT imagesAdded(id);
}
