// One live chart (QCustomPlot) for a metric or a metric family: metrics named "<group>/<key>" share
// the chart <group> (e.g. w_hat/0, w_hat/1), others get their own. Per series: a faint raw curve and
// a debiased-EMA smoothed curve; several runs overlaid; legend click hides/shows a series; wheel/drag
// zoom and pan (double-click fits again); log y axis; for Ŵ_k charts dashed lines at each radius η_k.
//
// The chart never pulls data on its own: CurvesPanel calls sync() from its coalescing timer and then
// replots once, so a burst of points costs one replot (PlotJuggler's pattern).
#pragma once
#include <memory>
#include "plots/qcustomplot_include.h"
#include <vector>

#include "plots/plot_theme.h"
#include "plots/smoothing.h"

struct RunData;
class ReplotScheduler;

class MetricChart : public QCustomPlot {
    Q_OBJECT
public:
    explicit MetricChart(const QString& group, QWidget* parent = nullptr);
    ~MetricChart() override;

    static QString groupOf(const QString& metric);      // "w_hat/0" -> "w_hat", "loss" -> "loss"
    static QString seriesKeyOf(const QString& metric);  // "w_hat/0" -> "0", "loss" -> ""
    static bool isRadiusGroup(const QString& group);    // Ŵ_k charts: w_hat, w1_hat, w_estimate ...
    // η_k of a run: RunData::radii if set, else the latest values of its "eta/<k>" metrics.
    static QVector<double> radiiOf(const RunData& run);
    // Groups drawn as decoration of another chart rather than as charts of their own ("eta").
    static bool isHiddenGroup(const QString& group) { return group == QLatin1String("eta"); }

    QString group() const { return group_; }
    // Appends the run's new points for this chart's metrics; true if anything changed. runOrdinal is
    // the run's position among the runs shown (0 = first) and picks its colour variant.
    bool sync(const RunData& run, int runOrdinal);
    void removeRun(int runId);
    // Re-reads radii/visibility/label of a run (after RunStore::runChanged).
    void updateRun(const RunData& run, int runOrdinal);
    // Recomputes every smoothed curve from the run data (the EMA weight changed).
    void setSmoothing(double weight, const QVector<const RunData*>& runs);
    void setLogY(bool log);
    void setTheme(const PlotTheme& theme);
    // Rescales to the data unless the user has zoomed or panned (then only after a double-click).
    void fitIfFollowing();
    void fitToData();
    bool followsData() const { return followData_; }
    int seriesCount() const { return int(bindings_.size()); }
    qint64 pointCount() const;
    bool hasRun(int runId) const;
    bool hasVisibleRun() const;  // false when every run in it is hidden (Runs dock): the panel hides the chart
    // For tests: the smoothed/raw graph of a run's metric (nullptr if absent).
    QCPGraph* smoothedGraph(int runId, const QString& metric) const;
    QCPGraph* rawGraph(int runId, const QString& metric) const;
    bool seriesHiddenByUser(int runId, const QString& metric) const;
    void toggleSeries(int runId, const QString& metric);
    // With a scheduler, a resize only updates the viewport and queues the replot there (see resizeEvent).
    void setReplotScheduler(ReplotScheduler* scheduler) { scheduler_ = scheduler; }

protected:
    void resizeEvent(QResizeEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;

private:
    struct Binding;
    struct RadiusMarks;
    Binding* find(int runId, const QString& metric) const;
    Binding* create(const RunData& run, const QString& metric, int runOrdinal);
    void styleBinding(Binding& b, const RunData& run, int runOrdinal);
    void applyVisibility(Binding& b);
    void onLegendClick(QCPLegend* legend, QCPAbstractLegendItem* item, QMouseEvent* event);
    void rebuildRadiusMarks(const RunData& run, int runOrdinal);
    void updateLegendVisibility();
    int keyIndex(const QString& key) const;
    bool multiRun() const;  // more than one visible run in this chart
    void restyle();         // colours and line styles of every series and radius line

    QString group_;
    QCPTextElement* title_ = nullptr;
    std::vector<std::unique_ptr<Binding>> bindings_;
    std::vector<std::unique_ptr<RadiusMarks>> radiusMarks_;
    QStringList keysInOrder_;
    double smoothing_ = 0.6;
    bool logY_ = false;
    bool followData_ = true;
    bool pressOnLegend_ = false;
    PlotTheme theme_;
    ReplotScheduler* scheduler_ = nullptr;
};
