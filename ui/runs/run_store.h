// The runs the window knows about: live ones fed by the JobRunner and finished ones read from run
// directories. Holds every metric point and every sample grid (they are small), so plots and
// previews can step through all of them (TensorBoard keeps only 10 images per tag; users asked for all).
#pragma once
#include <QColor>
#include <QImage>
#include <QMap>
#include <QObject>
#include <QPointF>
#include <QStringList>
#include <QVector>
#include <map>
#include <memory>

#include "bridge/job_event.h"

struct MetricSeries {
    QVector<double> steps;
    QVector<double> values;
};

struct RunData {
    int id = 0;
    QString label;
    QString kind;
    QString dir;
    QString status;  // running, paused, finished, cancelled, failed, loaded
    QColor color;
    bool visible = true;
    QStringList metricOrder;                   // metric names in order of first appearance
    QMap<QString, MetricSeries> metrics;
    QMap<QString, QMap<qint64, QImage>> images;  // tag -> step -> grid
    QVector<QPair<qint64, QString>> checkpoints;
    QVector<double> radii;                     // η_k of the run's sources, for the Ŵ_k chart
    QMap<QString, QVector<QPointF>> referencePoints;  // toy mode: named real point sets (target, sources)
    QMap<qint64, QVector<QPointF>> generatedPoints;  // toy mode: generator samples per step

    QStringList imageTags() const { return images.keys(); }
    QVector<qint64> imageSteps(const QString& tag) const;
};

class RunStore : public QObject {
    Q_OBJECT
public:
    explicit RunStore(QObject* parent = nullptr);
    ~RunStore() override;

    int addRun(const QString& label, const QString& kind, const QString& dir, const QString& status);
    void removeRun(int id);
    void clear();
    RunData* run(int id);
    const RunData* run(int id) const;
    QVector<int> ids() const;  // in insertion order
    int findByDir(const QString& dir) const;  // -1 if none

    // Appends a drained batch of job events (metrics, images, checkpoints) to a run.
    void apply(int id, const QVector<JobEvent>& events);
    void setStatus(int id, const QString& status);
    void setVisible(int id, bool visible);
    void setLabel(int id, const QString& label);
    void setRadii(int id, const QVector<double>& radii);
    void setReferencePoints(int id, const QString& name, const QVector<QPointF>& points);
    void addGeneratedPoints(int id, qint64 step, const QVector<QPointF>& points);
    void addMetricPoints(int id, const QString& name, const QVector<double>& steps, const QVector<double>& values);
    void addImage(int id, const QString& tag, qint64 step, const QImage& image);
    // Drops everything after `step` (a resumed run restarts from its checkpoint); emits runReset.
    void truncate(int id, qint64 step);

    static QColor colorForIndex(int index);  // a qualitative palette that reads on light and dark

Q_SIGNALS:
    void runAdded(int id);
    void runRemoved(int id);
    void runChanged(int id);          // label, status, visibility, radii
    void metricsAppended(int id);     // new points in some series
    void imagesAdded(int id);
    void pointsAdded(int id);
    void checkpointAdded(int id, qint64 step, const QString& path);
    void runReset(int id);            // data was removed (truncate): views rebuild this run

private:
    std::map<int, std::unique_ptr<RunData>> runs_;
    QVector<int> order_;
    int nextId_ = 1;
    int colorsUsed_ = 0;
};
