#include "previews/scatter_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>
#include <QStackedLayout>
#include <QVBoxLayout>

#include "plots/plot_theme.h"
#include "plots/qcustomplot_include.h"
#include "runs/run_store.h"

ScatterView::ScatterView(RunStore* store, QWidget* parent) : QWidget(parent), store_(store) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(10, 6, 10, 8);
    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Run"), this));
    runs_ = new QComboBox(this);
    runs_->setMinimumContentsLength(20);
    top->addWidget(runs_);
    top->addStretch(1);
    layout->addLayout(top);

    auto* stack = new QStackedLayout;
    plot_ = new QCustomPlot(this);
    plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    plot_->legend->setVisible(true);
    plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    placeholder_ = new QLabel(tr("<h3>2-D toy mode</h3><p>Runs on toy data (e.g. <code>toy:ring8</code>) show their "
                                 "generated points here over the real ones, step by step.</p>"),
                              this);
    placeholder_->setAlignment(Qt::AlignCenter);
    placeholder_->setWordWrap(true);
    placeholder_->setEnabled(false);
    stack->addWidget(placeholder_);
    stack->addWidget(plot_);
    layout->addLayout(stack, 1);

    auto* bottom = new QHBoxLayout;
    slider_ = new QSlider(Qt::Horizontal, this);
    slider_->setEnabled(false);
    stepLabel_ = new QLabel(this);
    stepLabel_->setMinimumWidth(120);
    stepLabel_->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    bottom->addWidget(new QLabel(tr("Step"), this));
    bottom->addWidget(slider_, 1);
    bottom->addWidget(stepLabel_);
    layout->addLayout(bottom);

    connect(runs_, &QComboBox::currentIndexChanged, this, &ScatterView::reloadSteps);
    connect(slider_, &QSlider::valueChanged, this, [this] {
        followLatest_ = slider_->value() == slider_->maximum();
        showStep();
    });
    connect(store_, &RunStore::pointsAdded, this, [this, stack](int id) {
        refreshRuns();
        if (runs_->count() > 0) stack->setCurrentWidget(plot_);
        // Follow the newest run (a live one, typically) unless the user picked another.
        if (!userPicked_ && id != runId() && runs_->findData(id) == runs_->count() - 1) {
            runs_->setCurrentIndex(runs_->count() - 1);
            return;
        }
        if (id == runId()) reloadSteps();
    });
    connect(runs_, &QComboBox::activated, this, [this] { userPicked_ = true; });
    connect(store_, &RunStore::runRemoved, this, [this] { QMetaObject::invokeMethod(this, &ScatterView::refreshRuns, Qt::QueuedConnection); });
    applyTheme();
    refreshRuns();
}

int ScatterView::runId() const { return runs_->currentIndex() < 0 ? -1 : runs_->currentData().toInt(); }

int ScatterView::generatedPointCount() const {
    int n = 0;
    for (int i = 0; i < plot_->graphCount(); ++i)
        if (plot_->graph(i)->property("generated").toBool()) n += plot_->graph(i)->data()->size();
    return n;
}

void ScatterView::showRun(int id) {
    refreshRuns();
    const int i = runs_->findData(id);
    if (i >= 0) runs_->setCurrentIndex(i);
}

void ScatterView::refreshRuns() {
    const int previous = runId();
    {
        const QSignalBlocker b(runs_);
        runs_->clear();
        for (int id : store_->ids()) {
            const RunData* r = store_->run(id);
            if (r && (!r->generatedPoints.isEmpty() || !r->referencePoints.isEmpty())) runs_->addItem(r->label, id);
        }
        const int i = runs_->findData(previous);
        runs_->setCurrentIndex(i >= 0 ? i : runs_->count() - 1);
    }
    if (runId() != previous) reloadSteps();
}

void ScatterView::reloadSteps() {
    const RunData* r = store_->run(runId());
    steps_ = r ? QVector<qint64>(r->generatedPoints.keyBegin(), r->generatedPoints.keyEnd()) : QVector<qint64>();
    {
        const QSignalBlocker b(slider_);
        slider_->setRange(0, std::max(0, int(steps_.size()) - 1));
        slider_->setEnabled(steps_.size() > 1);
        if (followLatest_) slider_->setValue(slider_->maximum());
    }
    showStep();
}

void ScatterView::showStep() {
    if (!isVisible()) {
        // Rebuilding and replotting ~2k translucent discs costs the GUI thread 10-20 ms: not for a
        // tab nobody is looking at.
        stale_ = true;
        return;
    }
    stale_ = false;
    plot_->clearGraphs();
    const RunData* r = store_->run(runId());
    if (!r) {
        plot_->replot();
        return;
    }
    const PlotTheme theme = PlotTheme::fromPalette(palette());
    auto addPoints = [&](const QVector<QPointF>& points, const QColor& color, const QString& name, double size, bool generated) {
        QCPGraph* g = plot_->addGraph();
        g->setName(name);
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, color, color, size));
        g->setProperty("generated", generated);
        g->setAdaptiveSampling(false);
        QVector<double> x(points.size()), y(points.size());
        for (int i = 0; i < points.size(); ++i) {
            x[i] = points[i].x();
            y[i] = points[i].y();
        }
        g->setData(x, y);
    };
    // Reference sets: grey when there is one; else source k's colour (as its curves), faint. The
    // generated points: the run's colour unless a reference set already uses it.
    int k = 0;
    QVector<QRgb> used;
    for (auto it = r->referencePoints.cbegin(); it != r->referencePoints.cend(); ++it, ++k) {
        QColor c = theme.dark ? QColor(200, 200, 200) : QColor(90, 90, 90);
        if (r->referencePoints.size() > 1) c = RunStore::colorForIndex(k);
        used << c.rgb();
        c.setAlpha(90);
        addPoints(it.value(), c, it.key(), 4, false);
    }
    const int i = slider_->value();
    if (i >= 0 && i < steps_.size()) {
        QColor c = r->color;
        for (int j = 0; used.contains(c.rgb()) && j < 10; ++j) c = RunStore::colorForIndex(int(used.size()) + j);
        c.setAlpha(200);
        addPoints(r->generatedPoints.value(steps_[i]), c, tr("generated"), 4, true);
        stepLabel_->setText(tr("step %1").arg(steps_[i]));
    } else {
        stepLabel_->clear();
    }
    plot_->rescaleAxes();
    // Same scale on both axes (circles must look like circles), everything in view with a margin:
    // the axis that needs more room per pixel sets the scale, the other follows.
    const QCPRange x = plot_->xAxis->range(), y = plot_->yAxis->range();
    const double hx = 0.55 * std::max(x.size(), 1e-9), hy = 0.55 * std::max(y.size(), 1e-9);
    const QRect area = plot_->axisRect()->rect();
    const double aspect = area.height() > 0 ? double(area.width()) / area.height() : 1.0;
    if (hx / hy > aspect) {
        plot_->xAxis->setRange(x.center() - hx, x.center() + hx);
        plot_->yAxis->setRange(y.center() - hx / aspect, y.center() + hx / aspect);
    } else {
        plot_->yAxis->setRange(y.center() - hy, y.center() + hy);
        plot_->xAxis->setRange(x.center() - hy * aspect, x.center() + hy * aspect);
    }
    plot_->replot();
}

void ScatterView::applyTheme() {
    PlotTheme::fromPalette(palette()).applyTo(plot_);
    showStep();
}

void ScatterView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    if (stale_) showStep();
}

void ScatterView::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    QMetaObject::invokeMethod(this, &ScatterView::showStep, Qt::QueuedConnection);  // the aspect changed
}

void ScatterView::changeEvent(QEvent* event) {
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) applyTheme();
}
