// The "Curves" view: one MetricChart per metric group, for every run in the RunStore, laid out in a
// responsive grid, with smoothing, log-y, a filter and exports (CSV, PNG, PDF).
//
// Updates are coalesced: RunStore::metricsAppended only marks runs dirty and starts a single-shot
// timer (40 ms by default); when it fires, each chart appends just the new points and replots once.
// Replots go through a ReplotScheduler, which spreads a burst (many new charts, a relayout that
// resizes all of them) over several event-loop turns instead of blocking one.
#pragma once
#include <QElapsedTimer>
#include <QMap>
#include <QSet>
#include <QTimer>
#include <QVector>
#include <QWidget>

#include "plots/replot_scheduler.h"

class RunStore;
class MetricChart;
class QCheckBox;
class QGridLayout;
class QLabel;
class QLineEdit;
class QScrollArea;
class QSlider;

class CurvesPanel : public QWidget {
    Q_OBJECT
public:
    struct ReplotStats {
        int replots = 0;          // chart replots done (data, resizes, settings)
        int flushes = 0;          // timer firings that changed something
        double lastFlushMs = 0;   // wall time of the last flush (append + the replots done in its turn)
        double maxFlushMs = 0;
        double lastFlushCpuMs = 0;  // GUI-thread CPU time of the same (wall time includes waiting for a CPU)
        double maxFlushCpuMs = 0;
        int deferredReplots = 0;  // charts scrolled out of view: replotted when they come into view
        QVector<float> flushCpuHistory;  // GUI-thread CPU ms of every flush, in order
        double flushCpuPercentile(double p) const;
    };

    explicit CurvesPanel(RunStore* store, QWidget* parent = nullptr);

    void setReplotInterval(int ms) { replotTimer_.setInterval(ms); }
    int replotInterval() const { return replotTimer_.interval(); }
    // Applies pending data and replots now, all of it (the timer would do it within one interval,
    // spread over event-loop turns).
    void flush();
    bool updatePending() const { return replotTimer_.isActive() || !replots_.idle(); }
    QList<MetricChart*> charts() const;  // in display order
    MetricChart* chart(const QString& group) const { return charts_.value(group); }
    ReplotStats stats() const { return stats_; }

    double smoothing() const;
    void setSmoothing(double weight);  // 0 … 0.99
    bool logY() const;
    void setLogY(bool log);
    void setFilter(const QString& regex);
    void applyTheme();  // re-reads colours from the application palette

    bool exportCsv(const QString& path, QString* error) const;
    bool exportPng(const QString& path, QString* error);
    bool exportPdf(const QString& path, QString* error);

protected:
    void resizeEvent(QResizeEvent* event) override;
    void showEvent(QShowEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    void scheduleUpdate(int runId);
    void applyPending(bool all);  // all: replot everything now; else within the scheduler's budget
    void requestReplot(MetricChart* chart);  // on screen: queued; off screen: when it scrolls into view
    void onRunChanged(int runId);
    void onRunRemoved(int runId);
    void relayout();
    void replotStaleCharts();  // charts that got data while off screen and are on screen now
    int ordinalOf(int runId) const;
    MetricChart* ensureChart(const QString& group);
    bool chartMatchesFilter(const QString& group) const;

    RunStore* store_;
    QTimer replotTimer_;
    ReplotScheduler replots_;
    QSet<int> dirtyRuns_;
    QSet<MetricChart*> staleCharts_;
    QMap<QString, MetricChart*> charts_;
    QStringList chartOrder_;
    QScrollArea* scroll_ = nullptr;
    QWidget* grid_ = nullptr;
    QGridLayout* gridLayout_ = nullptr;
    QLabel* emptyLabel_ = nullptr;
    QSlider* smoothingSlider_ = nullptr;
    QLabel* smoothingValue_ = nullptr;
    QCheckBox* logCheck_ = nullptr;
    QLineEdit* filter_ = nullptr;
    int columns_ = 0;
    ReplotStats stats_;
};
