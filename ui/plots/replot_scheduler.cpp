#include "plots/replot_scheduler.h"

#include "plots/qcustomplot_include.h"

ReplotScheduler::ReplotScheduler(QObject* parent) : QObject(parent) {
    // A zero-interval timer fires on the next event-loop turn, after pending input and paint events.
    turn_.setSingleShot(true);
    turn_.setInterval(0);
    connect(&turn_, &QTimer::timeout, this, &ReplotScheduler::runSome);
}

void ReplotScheduler::request(QCustomPlot* plot) {
    if (!plot || pending(plot)) return;
    queue_.push_back(plot);
    if (!turn_.isActive()) turn_.start();
}

void ReplotScheduler::cancel(QCustomPlot* plot) { queue_.removeAll(QPointer<QCustomPlot>(plot)); }

bool ReplotScheduler::pending(QCustomPlot* plot) const { return queue_.contains(QPointer<QCustomPlot>(plot)); }

void ReplotScheduler::replotFront() {
    QPointer<QCustomPlot> plot = queue_.takeFirst();
    if (!plot) return;  // deleted while queued
    if (onReplot_) onReplot_(plot);
    // Queued refresh: the buffers are drawn now, the widget is painted with the window's next paint,
    // so several charts replotted in one turn cost one repaint.
    plot->replot(QCustomPlot::rpQueuedRefresh);
}

void ReplotScheduler::runSome() {
    QElapsedTimer clock;
    clock.start();
    while (!queue_.isEmpty()) {
        replotFront();
        if (clock.nsecsElapsed() / 1e6 >= budgetMs_) break;
    }
    if (!queue_.isEmpty()) turn_.start();
}

void ReplotScheduler::runAll() {
    turn_.stop();
    while (!queue_.isEmpty()) replotFront();
}
