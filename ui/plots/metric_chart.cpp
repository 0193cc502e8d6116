#include "plots/metric_chart.h"

#include <QMap>
#include <QRegularExpression>
#include <QToolTip>
#include <algorithm>
#include <cmath>
#include <limits>

#include "plots/replot_scheduler.h"
#include "runs/run_store.h"

struct MetricChart::Binding {
    int runId = 0;
    QString metric;
    QString key;
    QString runLabel;
    QCPGraph* raw = nullptr;
    QCPGraph* smooth = nullptr;
    int consumed = 0;  // points of the run's series already in the graphs
    DebiasedEma ema;
    double lastKey = -std::numeric_limits<double>::infinity();
    bool hiddenByUser = false;
    bool runVisible = true;
    QColor runColor;
    int runOrdinal = 0;
};

struct MetricChart::RadiusMarks {
    int runId = 0;
    QVector<double> radii;
    QVector<QCPItemStraightLine*> lines;
    QVector<QCPItemText*> labels;
    bool visible = true;
    QColor runColor;
};

namespace {
bool isNumber(const QString& s, int* value) {
    bool ok = false;
    *value = s.toInt(&ok);
    return ok;
}

// Steps are whole numbers: never a tick at 24.25.
class StepTicker : public QCPAxisTicker {
protected:
    double getTickStep(const QCPRange& range) override { return std::max(1.0, QCPAxisTicker::getTickStep(range)); }
};

// Series with this few points (evaluations every few hundred steps, a run that just started) also get a
// dot per point: a single point has no line to draw and would otherwise be invisible.
constexpr int kMarkerMaxPoints = 15;

QString titleOf(const QString& group) {
    // The engine's metric families, in words; the metric's own name stays in the title for searching.
    static const QMap<QString, QString> titles{
        {"w_hat", QStringLiteral("Ŵ_k: critic estimate of W1(G, source k)")},
        {"w1", QStringLiteral("W1(G, source k) on held-out samples (sliced for images)")},
        {"sliced_w1", QStringLiteral("sliced W1(G, data)")},
        {"lambda", QStringLiteral("λ_k: weight of source k")},
        {"weight", QStringLiteral("λ_k used by the generator step")},
        {"loss_g", QStringLiteral("generator loss")},
        {"loss_d", QStringLiteral("critic loss (per source k)")},
        {"gp", QStringLiteral("gradient penalty (per source k)")},
        {"eval", QStringLiteral("evaluation")},
        {"ternary", QStringLiteral("ternary vs float")}};
    const QString words = titles.value(group);
    return words.isEmpty() ? group : QStringLiteral("%1   [%2]").arg(words, group);
}
}  // namespace

QString MetricChart::groupOf(const QString& metric) {
    const int slash = metric.lastIndexOf('/');
    return slash > 0 ? metric.left(slash) : metric;
}

QString MetricChart::seriesKeyOf(const QString& metric) {
    const int slash = metric.lastIndexOf('/');
    return slash > 0 ? metric.mid(slash + 1) : QString();
}

QVector<double> MetricChart::radiiOf(const RunData& run) {
    if (!run.radii.isEmpty()) return run.radii;
    // The engine reports each source's radius as metric "eta/<k>" (its latest value counts).
    QVector<double> radii;
    for (int k = 0;; ++k) {
        const auto it = run.metrics.constFind(QStringLiteral("eta/%1").arg(k));
        if (it == run.metrics.constEnd() || it->values.isEmpty()) break;
        radii << it->values.last();
    }
    return radii;
}

bool MetricChart::isRadiusGroup(const QString& group) {
    static const QRegularExpression re(QStringLiteral("^(w1?_?hat|w_?est(imate)?|w1_?estimate)$"),
                                       QRegularExpression::CaseInsensitiveOption);
    return re.match(group).hasMatch();
}

MetricChart::MetricChart(const QString& group, QWidget* parent) : QCustomPlot(parent), group_(group) {
    setMinimumHeight(220);
    setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    axisRect()->setRangeDrag(Qt::Horizontal | Qt::Vertical);
    axisRect()->setRangeZoom(Qt::Horizontal | Qt::Vertical);
    setNoAntialiasingOnDrag(true);
    setPlottingHint(QCP::phCacheLabels, true);
    plotLayout()->insertRow(0);
    title_ = new QCPTextElement(this, isRadiusGroup(group) ? titleOf(group) + QStringLiteral("   (dashed: η_k)") : titleOf(group),
                                QFont(font().family(), font().pointSize(), QFont::DemiBold));
    plotLayout()->addElement(0, 0, title_);
    xAxis->setTicker(QSharedPointer<StepTicker>::create());
    xAxis->setLabel(tr("step"));
    xAxis->ticker()->setTickCount(6);
    yAxis->ticker()->setTickCount(5);
    QFont small = font();
    small.setPointSizeF(std::max(7.0, small.pointSizeF() - 1));
    xAxis->setTickLabelFont(small);
    yAxis->setTickLabelFont(small);
    xAxis->setLabelFont(small);
    legend->setFont(small);
    legend->setIconSize(16, 8);
    legend->setRowSpacing(-2);
    legend->setVisible(false);
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    connect(this, &QCustomPlot::legendClick, this, &MetricChart::onLegendClick);
    setToolTip(QString());
}

MetricChart::~MetricChart() = default;

MetricChart::Binding* MetricChart::find(int runId, const QString& metric) const {
    for (const auto& b : bindings_)
        if (b->runId == runId && b->metric == metric) return b.get();
    return nullptr;
}

bool MetricChart::hasRun(int runId) const {
    return std::any_of(bindings_.begin(), bindings_.end(), [&](const auto& b) { return b->runId == runId; });
}

bool MetricChart::hasVisibleRun() const {
    return std::any_of(bindings_.begin(), bindings_.end(), [](const auto& b) { return b->runVisible; });
}

QCPGraph* MetricChart::smoothedGraph(int runId, const QString& metric) const {
    const Binding* b = find(runId, metric);
    return b ? b->smooth : nullptr;
}

QCPGraph* MetricChart::rawGraph(int runId, const QString& metric) const {
    const Binding* b = find(runId, metric);
    return b ? b->raw : nullptr;
}

bool MetricChart::seriesHiddenByUser(int runId, const QString& metric) const {
    const Binding* b = find(runId, metric);
    return b && b->hiddenByUser;
}

qint64 MetricChart::pointCount() const {
    qint64 n = 0;
    for (const auto& b : bindings_) n += b->consumed;
    return n;
}

int MetricChart::keyIndex(const QString& key) const {
    // Numbered families (w_hat/0, lambda/1) use the source's index, so Ŵ_k, λ_k and the η_k line of
    // one source share a colour across charts.
    int k = 0;
    if (isNumber(key, &k)) return k;
    return std::max(0, int(keysInOrder_.indexOf(key)));
}

bool MetricChart::multiRun() const {
    QSet<int> runs;
    for (const auto& b : bindings_)
        if (b->runVisible) runs.insert(b->runId);
    return runs.size() > 1;
}

void MetricChart::restyle() {
    // One run: colour = series (source k). Several runs: colour = run (as in the Runs dock), and a
    // run's series differ by line style. Dashed is reserved for the η_k radius lines.
    static const Qt::PenStyle styles[] = {Qt::SolidLine, Qt::DashDotLine, Qt::DotLine, Qt::DashDotDotLine};
    const bool several = multiRun();
    for (auto& b : bindings_) {
        const int k = keyIndex(b->key);
        const QColor c = several || b->key.isEmpty() ? b->runColor : RunStore::colorForIndex(k);
        QColor faint = c;
        faint.setAlpha(theme_.dark ? 70 : 60);
        b->raw->setPen(QPen(faint, 1));
        // Exactly 1 px: any wider pen sends QPainter through its stroker, which made a live chart with
        // 12 × 30k points cost ~600 ms per replot instead of ~14 ms (measured; see test_curves).
        QPen pen(c, 1.0, several ? styles[k % 4] : Qt::SolidLine);
        pen.setCosmetic(true);
        b->smooth->setPen(pen);
        b->smooth->setScatterStyle(b->consumed <= kMarkerMaxPoints ? QCPScatterStyle(QCPScatterStyle::ssDisc, c, c, 4)
                                                                   : QCPScatterStyle());
    }
    int markSet = 0;
    for (auto& m : radiusMarks_) {
        for (int k = 0; k < m->lines.size(); ++k) {
            const QColor c = several ? m->runColor : RunStore::colorForIndex(k);
            m->lines[k]->setPen(QPen(c, 1.2, Qt::DashLine));
            m->labels[k]->setColor(c);
            // On a backing of the chart's colour: under a constraint Ŵ_k runs right along its η_k line
            // and would cross out an unbacked label.
            QColor backing = theme_.background;
            backing.setAlpha(225);
            m->labels[k]->setBrush(backing);
            m->labels[k]->setPadding(QMargins(3, 0, 3, 1));
            m->labels[k]->setLayer(QStringLiteral("axes"));  // above the curves, below the legend
            // Spread the labels along the line so equal radii do not print on top of each other.
            m->labels[k]->position->setCoords(0.01 + 0.13 * double((markSet * m->lines.size() + k) % 7), m->radii[k]);
        }
        ++markSet;
    }
}

void MetricChart::styleBinding(Binding& b, const RunData& run, int runOrdinal) {
    b.runLabel = run.label;
    b.runColor = run.color;
    b.runOrdinal = runOrdinal;
}

void MetricChart::applyVisibility(Binding& b) {
    const bool visible = b.runVisible && !b.hiddenByUser;
    b.smooth->setVisible(visible);
    b.raw->setVisible(visible && smoothing_ > 0);
    if (auto* item = legend->itemWithPlottable(b.smooth)) {
        QColor text = theme_.foreground;
        if (b.hiddenByUser) text.setAlpha(90);
        item->setTextColor(text);
        QFont f = legend->font();
        f.setStrikeOut(b.hiddenByUser);
        item->setFont(f);
    }
}

void MetricChart::updateLegendVisibility() {
    // Names: with several runs in one chart the run label is needed to tell series apart.
    QSet<int> runs;
    for (const auto& b : bindings_)
        if (b->runVisible) runs.insert(b->runId);
    const bool multiRun = runs.size() > 1;
    for (const auto& b : bindings_) {
        int k = 0;
        const QString key = isNumber(b->key, &k) ? QStringLiteral("k = %1").arg(k) : b->key;  // the title says what k is
        QString name = b->key.isEmpty() ? (multiRun ? b->runLabel : b->metric)
                                        : (multiRun ? b->runLabel + QStringLiteral(" · ") + key : key);
        b->smooth->setName(name);
        if (b->runVisible && !legend->hasItemWithPlottable(b->smooth)) b->smooth->addToLegend();
        if (!b->runVisible && legend->hasItemWithPlottable(b->smooth)) b->smooth->removeFromLegend();
        applyVisibility(*b);
    }
    legend->setVisible(legend->itemCount() > 1);
    restyle();
}

MetricChart::Binding* MetricChart::create(const RunData& run, const QString& metric, int runOrdinal) {
    auto b = std::make_unique<Binding>();
    b->runId = run.id;
    b->metric = metric;
    b->key = seriesKeyOf(metric);
    if (!b->key.isEmpty() && !keysInOrder_.contains(b->key)) keysInOrder_ << b->key;
    b->ema = DebiasedEma(smoothing_);
    b->raw = addGraph(xAxis, yAxis);
    b->raw->removeFromLegend();
    b->raw->setAntialiased(false);  // faint raw data: aliasing invisible, halves the cost
    b->smooth = addGraph(xAxis, yAxis);
    b->runVisible = run.visible;
    styleBinding(*b, run, runOrdinal);
    bindings_.push_back(std::move(b));
    updateLegendVisibility();
    return bindings_.back().get();
}

bool MetricChart::sync(const RunData& run, int runOrdinal) {
    bool changed = false;
    for (const QString& metric : run.metricOrder) {
        if (groupOf(metric) != group_) continue;
        Binding* b = find(run.id, metric);
        if (!b) {
            b = create(run, metric, runOrdinal);
            changed = true;
        }
        const auto it = run.metrics.constFind(metric);
        if (it == run.metrics.constEnd()) continue;
        const int n = it->steps.size();
        if (b->consumed >= n) continue;
        const QVector<double> keys = it->steps.mid(b->consumed);
        const QVector<double> values = it->values.mid(b->consumed);
        QVector<double> smoothed(values.size());
        for (int i = 0; i < values.size(); ++i) smoothed[i] = b->ema.push(values[i]);
        const bool sorted = keys.first() >= b->lastKey && std::is_sorted(keys.begin(), keys.end());
        b->raw->addData(keys, values, sorted);
        b->smooth->addData(keys, smoothed, sorted);
        b->lastKey = std::max(b->lastKey, keys.last());
        const bool hadMarkers = b->consumed <= kMarkerMaxPoints;
        b->consumed = n;
        if (hadMarkers && n > kMarkerMaxPoints) b->smooth->setScatterStyle(QCPScatterStyle());  // dense: the line suffices
        changed = true;
    }
    if (isRadiusGroup(group_) && hasRun(run.id)) {
        const QVector<double> radii = radiiOf(run);
        const auto it = std::find_if(radiusMarks_.begin(), radiusMarks_.end(), [&](const auto& m) { return m->runId == run.id; });
        const bool same = it != radiusMarks_.end() ? (*it)->radii == radii : radii.isEmpty();
        if (!same) {
            rebuildRadiusMarks(run, runOrdinal);
            changed = true;
        }
    }
    return changed;
}

void MetricChart::updateRun(const RunData& run, int runOrdinal) {
    for (auto& b : bindings_) {
        if (b->runId != run.id) continue;
        b->runVisible = run.visible;
        styleBinding(*b, run, runOrdinal);
    }
    updateLegendVisibility();
    if (isRadiusGroup(group_) && hasRun(run.id)) rebuildRadiusMarks(run, runOrdinal);
}

void MetricChart::removeRun(int runId) {
    for (auto it = bindings_.begin(); it != bindings_.end();) {
        if ((*it)->runId == runId) {
            removeGraph((*it)->raw);
            removeGraph((*it)->smooth);
            it = bindings_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = radiusMarks_.begin(); it != radiusMarks_.end();) {
        if ((*it)->runId == runId) {
            for (auto* l : (*it)->lines) removeItem(l);
            for (auto* t : (*it)->labels) removeItem(t);
            it = radiusMarks_.erase(it);
        } else {
            ++it;
        }
    }
    updateLegendVisibility();
}

void MetricChart::rebuildRadiusMarks(const RunData& run, int /*runOrdinal*/) {
    auto it = std::find_if(radiusMarks_.begin(), radiusMarks_.end(), [&](const auto& m) { return m->runId == run.id; });
    if (it != radiusMarks_.end()) {
        for (auto* l : (*it)->lines) removeItem(l);
        for (auto* t : (*it)->labels) removeItem(t);
        radiusMarks_.erase(it);
    }
    const QVector<double> radii = radiiOf(run);
    if (radii.isEmpty()) return;
    auto marks = std::make_unique<RadiusMarks>();
    marks->runId = run.id;
    marks->radii = radii;
    marks->visible = run.visible;
    marks->runColor = run.color;
    for (int k = 0; k < radii.size(); ++k) {
        const QColor c = RunStore::colorForIndex(k);  // final colours: restyle()
        auto* line = new QCPItemStraightLine(this);
        line->point1->setCoords(0, radii[k]);
        line->point2->setCoords(1, radii[k]);
        line->setPen(QPen(c, 1.2, Qt::DashLine));
        line->setVisible(run.visible);
        line->setSelectable(false);
        auto* label = new QCPItemText(this);
        label->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
        label->position->setTypeY(QCPItemPosition::ptPlotCoords);
        label->position->setCoords(0.01, radii[k]);
        label->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
        label->setText(QStringLiteral("η_%1 = %2").arg(k).arg(radii[k], 0, 'g', 3));
        label->setColor(c);
        QFont f = legend->font();
        label->setFont(f);
        label->setVisible(run.visible);
        label->setSelectable(false);
        marks->lines << line;
        marks->labels << label;
    }
    radiusMarks_.push_back(std::move(marks));
    restyle();
}

void MetricChart::setSmoothing(double weight, const QVector<const RunData*>& runs) {
    smoothing_ = std::clamp(weight, 0.0, 0.999);
    for (auto& b : bindings_) {
        const RunData* run = nullptr;
        for (const RunData* r : runs)
            if (r && r->id == b->runId) run = r;
        if (!run) continue;
        const auto it = run->metrics.constFind(b->metric);
        if (it == run->metrics.constEnd()) continue;
        b->ema = DebiasedEma(smoothing_);
        const QVector<double> keys = it->steps.mid(0, b->consumed);
        QVector<double> smoothed(keys.size());
        for (int i = 0; i < keys.size(); ++i) smoothed[i] = b->ema.push(it->values[i]);
        b->smooth->setData(keys, smoothed, std::is_sorted(keys.begin(), keys.end()));
        applyVisibility(*b);
    }
}

void MetricChart::setLogY(bool log) {
    logY_ = log;
    if (log) {
        yAxis->setScaleType(QCPAxis::stLogarithmic);
        auto ticker = QSharedPointer<QCPAxisTickerLog>::create();
        ticker->setSubTickCount(8);
        yAxis->setTicker(ticker);
        yAxis->setNumberFormat("eb");
        yAxis->setNumberPrecision(0);
    } else {
        yAxis->setScaleType(QCPAxis::stLinear);
        yAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
        yAxis->ticker()->setTickCount(5);
        yAxis->setNumberFormat("g");
        yAxis->setNumberPrecision(6);
    }
    fitToData();
}

void MetricChart::setTheme(const PlotTheme& theme) {
    theme_ = theme;
    theme.applyTo(this);
    title_->setTextColor(theme.foreground);
    restyle();
    for (auto& b : bindings_) applyVisibility(*b);
}

void MetricChart::fitIfFollowing() {
    if (followData_) fitToData();
}

void MetricChart::fitToData() {
    // Ranges over the visible series, computed here rather than with rescaleAxes(): QCustomPlot keeps
    // the previous span for flat data (a constant λ = 1 showed as ±1e7), and log axes need positives.
    bool foundKeys = false, foundValues = false;
    QCPRange keys, values;
    const QCP::SignDomain domain = logY_ ? QCP::sdPositive : QCP::sdBoth;
    for (const auto& b : bindings_) {
        for (QCPGraph* g : {b->smooth, b->raw}) {
            if (!g->visible() || g->data()->isEmpty()) continue;
            bool ok = false;
            const QCPRange k = g->getKeyRange(ok, QCP::sdBoth);
            if (ok) {
                if (foundKeys) keys.expand(k); else keys = k;
                foundKeys = true;
            }
            const QCPRange v = g->getValueRange(ok, domain);
            if (ok) {
                if (foundValues) values.expand(v); else values = v;
                foundValues = true;
            }
        }
    }
    if (!foundKeys || !foundValues) return;
    // Keep the radius lines in view: a Ŵ_k far below its η_k is exactly what the user must see.
    for (const auto& m : radiusMarks_)
        if (m->visible)
            for (double r : m->radii)
                if (!logY_ || r > 0) values.expand(r);
    if (logY_) {
        values = QCPRange(values.lower / 1.25, values.upper * 1.25);
    } else if (values.size() <= 0) {
        const double half = std::abs(values.center()) > 0 ? std::abs(values.center()) * 0.1 : 1.0;
        values = QCPRange(values.center() - half, values.center() + half);
    } else {
        const double pad = values.size() * 0.06;
        values = QCPRange(values.lower - pad, values.upper + pad);
    }
    if (keys.size() <= 0) keys = QCPRange(keys.lower - 1, keys.upper + 1);
    xAxis->setRange(keys);
    yAxis->setRange(values);
}

void MetricChart::toggleSeries(int runId, const QString& metric) {
    if (Binding* b = find(runId, metric)) {
        b->hiddenByUser = !b->hiddenByUser;
        applyVisibility(*b);
        replot(QCustomPlot::rpQueuedReplot);
    }
}

void MetricChart::onLegendClick(QCPLegend*, QCPAbstractLegendItem* item, QMouseEvent*) {
    auto* plottableItem = qobject_cast<QCPPlottableLegendItem*>(item);
    if (!plottableItem) return;
    for (auto& b : bindings_)
        if (b->smooth == plottableItem->plottable()) {
            toggleSeries(b->runId, b->metric);
            return;
        }
}

void MetricChart::resizeEvent(QResizeEvent* event) {
    if (!scheduler_) {
        QCustomPlot::resizeEvent(event);
        return;
    }
    // QCustomPlot replots synchronously on every resize, and one relayout of the Curves grid resizes
    // every chart in the same turn (a new chart, a scroll bar appearing). Do what it does, minus that
    // replot; the scheduler replots in later turns, a few charts at a time.
    setViewport(rect());
    scheduler_->request(this);
}

void MetricChart::mousePressEvent(QMouseEvent* event) {
    pressOnLegend_ = legend->visible() && legend->selectTest(event->position(), false) >= 0;
    QCustomPlot::mousePressEvent(event);
}

void MetricChart::wheelEvent(QWheelEvent* event) {
    // Plain wheel scrolls the panel; Ctrl+wheel zooms both axes, Shift+wheel only the steps.
    const auto mods = event->modifiers();
    if (!(mods & (Qt::ControlModifier | Qt::ShiftModifier))) {
        event->ignore();
        return;
    }
    axisRect()->setRangeZoom(mods & Qt::ShiftModifier ? Qt::Horizontal : (Qt::Horizontal | Qt::Vertical));
    followData_ = false;
    QCustomPlot::wheelEvent(event);
}

void MetricChart::mouseDoubleClickEvent(QMouseEvent* event) {
    QCustomPlot::mouseDoubleClickEvent(event);
    followData_ = true;
    fitToData();
    replot(QCustomPlot::rpQueuedReplot);
}

void MetricChart::mouseMoveEvent(QMouseEvent* event) {
    QCustomPlot::mouseMoveEvent(event);
    if ((event->buttons() & Qt::LeftButton) && !pressOnLegend_) followData_ = false;  // panning: stop auto-fit
    if (event->buttons() != Qt::NoButton || !axisRect()->rect().contains(event->pos())) {
        QToolTip::hideText();
        return;
    }
    // Nearest point of any visible smoothed series, within 24 px: show smoothed and raw value.
    const double x = xAxis->pixelToCoord(event->position().x());
    const Binding* best = nullptr;
    double bestDistance = 24.0;
    int bestIndex = -1;
    for (const auto& b : bindings_) {
        if (!b->smooth->visible() || b->smooth->data()->isEmpty()) continue;
        const auto data = b->smooth->data();
        auto it = data->findBegin(x, false);
        for (auto candidate : {it, it == data->constBegin() ? it : it - 1}) {
            if (candidate == data->constEnd()) continue;
            const double dx = xAxis->coordToPixel(candidate->key) - event->position().x();
            const double dy = yAxis->coordToPixel(candidate->value) - event->position().y();
            const double d = std::hypot(dx, dy);
            if (d < bestDistance) {
                bestDistance = d;
                best = b.get();
                bestIndex = int(candidate - data->constBegin());
            }
        }
    }
    if (!best) {
        QToolTip::hideText();
        return;
    }
    const auto s = best->smooth->data()->at(bestIndex);
    QString text = QStringLiteral("<b>%1</b><br>step %2<br>smoothed %3")
                       .arg(best->smooth->name().toHtmlEscaped())
                       .arg(qint64(s->key))
                       .arg(s->value, 0, 'g', 5);
    if (bestIndex < best->raw->data()->size())
        text += QStringLiteral("<br>raw %1").arg(best->raw->data()->at(bestIndex)->value, 0, 'g', 5);
    QToolTip::showText(event->globalPosition().toPoint(), text, this);
}
