#include "plots/curves_panel.h"

#include <QApplication>
#include <QScrollBar>
#include <algorithm>
#include <ctime>
#include <QBuffer>
#include <QCheckBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPdfWriter>
#include <QRegularExpression>
#include <QSaveFile>
#include <QScrollArea>
#include <QSlider>
#include <QTextStream>
#include <QToolButton>

#include "plots/metric_chart.h"
#include "runs/run_store.h"

CurvesPanel::CurvesPanel(RunStore* store, QWidget* parent) : QWidget(parent), store_(store) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);

    auto* bar = new QWidget(this);
    bar->setObjectName("curvesToolbar");
    auto* barLayout = new QHBoxLayout(bar);
    barLayout->setContentsMargins(10, 6, 10, 6);
    barLayout->setSpacing(8);
    barLayout->addWidget(new QLabel(tr("Smoothing"), bar));
    smoothingSlider_ = new QSlider(Qt::Horizontal, bar);
    smoothingSlider_->setRange(0, 99);  // TensorBoard caps the weight at 0.99
    smoothingSlider_->setValue(60);
    smoothingSlider_->setFixedWidth(140);
    smoothingSlider_->setToolTip(tr("Debiased exponential moving average (as in TensorBoard); the faint line is the raw data"));
    barLayout->addWidget(smoothingSlider_);
    smoothingValue_ = new QLabel(QStringLiteral("0.60"), bar);
    smoothingValue_->setMinimumWidth(32);
    barLayout->addWidget(smoothingValue_);
    barLayout->addSpacing(8);
    logCheck_ = new QCheckBox(tr("Log y"), bar);
    logCheck_->setToolTip(tr("Logarithmic value axis (non-positive values are not drawn)"));
    barLayout->addWidget(logCheck_);
    auto* fit = new QToolButton(bar);
    fit->setText(tr("Fit all"));
    fit->setToolTip(tr("Fit every chart to its data and follow new points again.\n"
                       "In a chart: drag to pan, Ctrl+wheel to zoom, Shift+wheel to zoom steps, "
                       "double-click to fit, click a legend entry to hide/show it."));
    barLayout->addWidget(fit);
    barLayout->addStretch(1);
    filter_ = new QLineEdit(bar);
    filter_->setPlaceholderText(tr("Filter charts (regex)"));
    filter_->setClearButtonEnabled(true);
    filter_->setMaximumWidth(220);
    barLayout->addWidget(filter_);
    layout->addWidget(bar);

    scroll_ = new QScrollArea(this);
    scroll_->setWidgetResizable(true);
    scroll_->setFrameShape(QFrame::NoFrame);
    grid_ = new QWidget(scroll_);
    grid_->setObjectName("curvesGrid");
    gridLayout_ = new QGridLayout(grid_);
    gridLayout_->setContentsMargins(10, 6, 10, 10);
    gridLayout_->setSpacing(10);
    emptyLabel_ = new QLabel(tr("<h3>No curves yet</h3><p>Start a stage (<b>Run ▸ Start</b>, F5) or open a finished run "
                                "(<b>File ▸ Open Run Directory…</b>).<br>Metrics appear here live, one chart per metric; "
                                "runs are overlaid.</p>"),
                             grid_);
    emptyLabel_->setAlignment(Qt::AlignCenter);
    emptyLabel_->setWordWrap(true);
    emptyLabel_->setEnabled(false);
    gridLayout_->addWidget(emptyLabel_, 0, 0);
    scroll_->setWidget(grid_);
    layout->addWidget(scroll_, 1);

    replotTimer_.setSingleShot(true);
    replotTimer_.setInterval(40);
    connect(&replotTimer_, &QTimer::timeout, this, [this] { applyPending(/*all=*/false); });
    replots_.setOnReplot([this](QCustomPlot*) { ++stats_.replots; });

    connect(smoothingSlider_, &QSlider::valueChanged, this, [this](int v) {
        smoothingValue_->setText(QString::number(v / 100.0, 'f', 2));
        QVector<const RunData*> runs;
        for (int id : store_->ids()) runs << store_->run(id);
        for (MetricChart* c : charts_) {
            c->setSmoothing(v / 100.0, runs);
            requestReplot(c);
        }
    });
    connect(logCheck_, &QCheckBox::toggled, this, [this](bool on) {
        for (MetricChart* c : charts_) {
            c->setLogY(on);
            requestReplot(c);
        }
    });
    connect(fit, &QToolButton::clicked, this, [this] {
        for (MetricChart* c : charts_) {
            c->fitToData();
            requestReplot(c);
        }
    });
    connect(filter_, &QLineEdit::textChanged, this, [this] { relayout(); });

    connect(scroll_->verticalScrollBar(), &QScrollBar::valueChanged, this, &CurvesPanel::replotStaleCharts);
    connect(store_, &RunStore::metricsAppended, this, &CurvesPanel::scheduleUpdate);
    connect(store_, &RunStore::runAdded, this, &CurvesPanel::scheduleUpdate);
    connect(store_, &RunStore::runChanged, this, &CurvesPanel::onRunChanged);
    connect(store_, &RunStore::runRemoved, this, &CurvesPanel::onRunRemoved);
    connect(store_, &RunStore::runReset, this, [this](int id) {
        for (MetricChart* c : charts_) c->removeRun(id);  // re-synced from the truncated data
        scheduleUpdate(id);
    });
}

QList<MetricChart*> CurvesPanel::charts() const {
    QList<MetricChart*> out;
    for (const QString& g : chartOrder_) out << charts_.value(g);
    return out;
}

double CurvesPanel::smoothing() const { return smoothingSlider_->value() / 100.0; }
void CurvesPanel::setSmoothing(double weight) { smoothingSlider_->setValue(qRound(std::clamp(weight, 0.0, 0.99) * 100)); }
bool CurvesPanel::logY() const { return logCheck_->isChecked(); }
void CurvesPanel::setLogY(bool log) { logCheck_->setChecked(log); }
void CurvesPanel::setFilter(const QString& regex) { filter_->setText(regex); }

void CurvesPanel::scheduleUpdate(int runId) {
    dirtyRuns_.insert(runId);
    if (!replotTimer_.isActive()) replotTimer_.start();  // single-shot: coalesces every burst
}

int CurvesPanel::ordinalOf(int runId) const { return int(store_->ids().indexOf(runId)); }

MetricChart* CurvesPanel::ensureChart(const QString& group) {
    if (MetricChart* c = charts_.value(group)) return c;
    auto* c = new MetricChart(group, grid_);
    c->setReplotScheduler(&replots_);  // its resizes (relayouts) replot through the scheduler too
    c->setTheme(PlotTheme::fromPalette(palette()));
    c->setSmoothing(smoothing(), {});
    if (logY()) c->setLogY(true);
    charts_.insert(group, c);
    // The method's key quantities first (Ŵ_k against η_k, distances, weights), then losses, then the
    // rest in order of appearance.
    static const QStringList priority{"w_hat", "w1", "sliced_w1", "eval", "lambda", "loss_g", "loss_d", "gp"};
    const auto rank = [](const QString& g) {
        const int i = int(priority.indexOf(g));
        return i < 0 ? int(priority.size()) : i;
    };
    auto at = std::find_if(chartOrder_.begin(), chartOrder_.end(), [&](const QString& other) { return rank(other) > rank(group); });
    chartOrder_.insert(at, group);
    relayout();
    return c;
}

namespace {
constexpr int kMinChartWidth = 360;  // a new column once every chart can be this wide

double threadCpuMs() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// On screen = shown and not entirely scrolled out of the viewport.
bool onScreen(QWidget* w) { return w->isVisible() && !w->visibleRegion().isEmpty(); }
}  // namespace

void CurvesPanel::flush() { applyPending(/*all=*/true); }

void CurvesPanel::requestReplot(MetricChart* c) {
    // A chart the grid has not placed yet has no size of its own: drawing it now would be wasted, and
    // the layout's first resize queues its replot anyway.
    if (!c->testAttribute(Qt::WA_Resized)) return;
    if (onScreen(c)) {
        replots_.request(c);
        staleCharts_.remove(c);
    } else {
        staleCharts_.insert(c);
    }
}

void CurvesPanel::applyPending(bool all) {
    replotTimer_.stop();
    if (dirtyRuns_.isEmpty()) {
        if (all) replots_.runAll();
        return;
    }
    QElapsedTimer timer;
    timer.start();
    const double cpuStart = threadCpuMs();
    QSet<MetricChart*> changed;
    // In the store's order, so series and legend entries of several runs come in the Runs dock's order.
    const QSet<int> dirtySet = std::exchange(dirtyRuns_, {});
    QVector<int> dirty(dirtySet.begin(), dirtySet.end());
    std::sort(dirty.begin(), dirty.end(), [this](int a, int b) { return ordinalOf(a) < ordinalOf(b); });
    for (int id : dirty) {
        const RunData* run = store_->run(id);
        if (!run) continue;
        const int ordinal = ordinalOf(id);
        for (const QString& metric : run->metricOrder)
            if (!MetricChart::isHiddenGroup(MetricChart::groupOf(metric))) ensureChart(MetricChart::groupOf(metric));
        for (MetricChart* c : charts_)
            if (c->sync(*run, ordinal)) changed.insert(c);
    }
    for (MetricChart* c : changed) {
        c->fitIfFollowing();
        // Only charts the user can see are redrawn; the others when they scroll into view.
        requestReplot(c);
        if (staleCharts_.contains(c)) ++stats_.deferredReplots;
    }
    if (all) {
        // New charts get their size from the grid's layout: lay out now so they are drawn at it.
        QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
        replots_.runAll();
    } else {
        replots_.runSome();
    }
    if (!changed.isEmpty()) {
        stats_.lastFlushMs = timer.nsecsElapsed() / 1e6;
        stats_.maxFlushMs = std::max(stats_.maxFlushMs, stats_.lastFlushMs);
        stats_.lastFlushCpuMs = threadCpuMs() - cpuStart;
        stats_.maxFlushCpuMs = std::max(stats_.maxFlushCpuMs, stats_.lastFlushCpuMs);
        stats_.flushCpuHistory << float(stats_.lastFlushCpuMs);
        ++stats_.flushes;
    }
}

double CurvesPanel::ReplotStats::flushCpuPercentile(double p) const {
    if (flushCpuHistory.isEmpty()) return 0;
    QVector<float> sorted = flushCpuHistory;
    std::sort(sorted.begin(), sorted.end());
    return sorted[std::clamp(int(p * (sorted.size() - 1)), 0, int(sorted.size()) - 1)];
}

void CurvesPanel::replotStaleCharts() {
    for (auto it = staleCharts_.begin(); it != staleCharts_.end();) {
        MetricChart* c = *it;
        if (onScreen(c)) {
            replots_.request(c);
            it = staleCharts_.erase(it);
        } else {
            ++it;
        }
    }
}

void CurvesPanel::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    QMetaObject::invokeMethod(this, &CurvesPanel::replotStaleCharts, Qt::QueuedConnection);
}

void CurvesPanel::onRunChanged(int runId) {
    const RunData* run = store_->run(runId);
    if (!run) return;
    bool shownChanged = false;
    for (MetricChart* c : charts_) {
        if (!c->hasRun(runId)) continue;
        const bool before = c->hasVisibleRun();
        c->updateRun(*run, ordinalOf(runId));
        shownChanged |= c->hasVisibleRun() != before;
        c->fitIfFollowing();
        requestReplot(c);
    }
    if (shownChanged) relayout();
    scheduleUpdate(runId);  // radii may have arrived after the first points
}

void CurvesPanel::onRunRemoved(int runId) {
    dirtyRuns_.remove(runId);
    for (auto it = charts_.begin(); it != charts_.end();) {
        MetricChart* c = it.value();
        c->removeRun(runId);
        if (c->seriesCount() == 0) {
            staleCharts_.remove(c);
            replots_.cancel(c);
            chartOrder_.removeAll(it.key());
            c->deleteLater();
            it = charts_.erase(it);
        } else {
            c->fitIfFollowing();
            requestReplot(c);
            ++it;
        }
    }
    relayout();
}

bool CurvesPanel::chartMatchesFilter(const QString& group) const {
    const QString text = filter_->text().trimmed();
    if (text.isEmpty()) return true;
    const QRegularExpression re(text, QRegularExpression::CaseInsensitiveOption);
    return re.isValid() ? re.match(group).hasMatch() : group.contains(text, Qt::CaseInsensitive);
}

void CurvesPanel::relayout() {
    const int available = scroll_->viewport()->width();
    columns_ = std::max(1, available / kMinChartWidth);
    for (MetricChart* c : charts_) gridLayout_->removeWidget(c);
    gridLayout_->removeWidget(emptyLabel_);
    int shown = 0;
    for (const QString& group : chartOrder_) {
        MetricChart* c = charts_.value(group);
        // A chart whose runs are all hidden in the Runs dock would be an empty frame: leave it out.
        const bool visible = chartMatchesFilter(group) && (c->seriesCount() == 0 || c->hasVisibleRun());
        c->setVisible(visible);
        if (!visible) continue;
        gridLayout_->addWidget(c, shown / columns_, shown % columns_);
        ++shown;
    }
    for (int col = 0; col < gridLayout_->columnCount(); ++col) gridLayout_->setColumnStretch(col, col < columns_ ? 1 : 0);
    emptyLabel_->setVisible(charts_.isEmpty());
    if (charts_.isEmpty()) gridLayout_->addWidget(emptyLabel_, 0, 0);
    QMetaObject::invokeMethod(this, &CurvesPanel::replotStaleCharts, Qt::QueuedConnection);
    gridLayout_->setRowStretch(gridLayout_->rowCount(), 0);
}

void CurvesPanel::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    const int wanted = std::max(1, scroll_->viewport()->width() / kMinChartWidth);
    if (wanted != columns_) relayout();
}

void CurvesPanel::changeEvent(QEvent* event) {
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) applyTheme();
}

void CurvesPanel::applyTheme() {
    const PlotTheme theme = PlotTheme::fromPalette(palette());
    for (MetricChart* c : charts_) {
        c->setTheme(theme);
        for (int id : store_->ids())
            if (const RunData* r = store_->run(id); r && c->hasRun(id)) c->updateRun(*r, ordinalOf(id));
        requestReplot(c);
    }
}

bool CurvesPanel::exportCsv(const QString& path, QString* error) const {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text)) {
        if (error) *error = tr("%1: cannot write (%2)").arg(path, file.errorString());
        return false;
    }
    QTextStream out(&file);
    out << "run,metric,step,value,smoothed\n";
    out.setRealNumberPrecision(9);
    for (int id : store_->ids()) {
        const RunData* run = store_->run(id);
        if (!run || !run->visible) continue;
        QString label = run->label;
        label.replace('"', QStringLiteral("\"\""));
        for (const QString& metric : run->metricOrder) {
            const MetricSeries& s = run->metrics[metric];
            const QVector<double> smoothed = smoothDebiasedEma(s.values, smoothing());
            for (int i = 0; i < s.steps.size(); ++i)
                out << '"' << label << "\"," << metric << ',' << qint64(s.steps[i]) << ',' << s.values[i] << ','
                    << smoothed[i] << '\n';
        }
    }
    out.flush();
    if (!file.commit()) {
        if (error) *error = tr("%1: cannot write (%2)").arg(path, file.errorString());
        return false;
    }
    return true;
}

bool CurvesPanel::exportPng(const QString& path, QString* error) {
    flush();
    if (charts_.isEmpty()) {
        if (error) *error = tr("there are no curves to export yet");
        return false;
    }
    for (MetricChart* c : std::exchange(staleCharts_, {})) c->replot(QCustomPlot::rpImmediateRefresh);
    const QPixmap pixmap = grid_->grab();
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || !pixmap.save(&file, "PNG") || !file.commit()) {
        if (error) *error = tr("%1: cannot write (%2)").arg(path, file.errorString());
        return false;
    }
    return true;
}

bool CurvesPanel::exportPdf(const QString& path, QString* error) {
    flush();
    const QList<MetricChart*> shown = [&] {
        QList<MetricChart*> l;
        for (MetricChart* c : charts())
            if (chartMatchesFilter(c->group())) l << c;
        return l;
    }();
    if (shown.isEmpty()) {
        if (error) *error = tr("there are no curves to export yet");
        return false;
    }
    // QPdfWriter writes directly; render into memory first so a failure leaves no partial file.
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    {
        QPdfWriter pdf(&buffer);
        pdf.setPageSize(QPageSize(QPageSize::A4));
        pdf.setPageOrientation(QPageLayout::Portrait);
        pdf.setResolution(96);
        pdf.setTitle(tr("Coalesce curves"));
        pdf.setCreator(QStringLiteral("Coalesce"));
        QCPPainter painter(&pdf);
        const QRect page = pdf.pageLayout().paintRectPixels(96);
        const int perPage = 2;
        const int h = (page.height() - 20) / perPage;
        for (int i = 0; i < shown.size(); ++i) {
            if (i > 0 && i % perPage == 0) pdf.newPage();
            painter.save();
            painter.translate(0, (i % perPage) * (h + 20));
            shown[i]->toPainter(&painter, page.width(), h);
            painter.restore();
        }
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(buffer.data()) != buffer.size() || !file.commit()) {
        if (error) *error = tr("%1: cannot write (%2)").arg(path, file.errorString());
        return false;
    }
    return true;
}
