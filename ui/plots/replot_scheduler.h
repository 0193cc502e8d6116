// Spreads chart replots over event-loop turns so that no single turn blocks the GUI thread for long.
//
// Why: one QCustomPlot replot costs 1–9 ms of GUI-thread CPU (the first one of a chart the most), and
// on a loaded 2-core machine every CPU millisecond takes two to three on the wall clock. When a
// pretraining job reports its first metrics, five charts appear at once and the grid relayout resizes
// each of them; QCustomPlot replots synchronously on every resize, and doing all of that in one turn
// stalled the GUI for ~90 ms (measured with StallMonitor). Here every chart that needs a replot is
// queued once, and each turn replots queued charts only until a small time budget is spent (always at
// least one), then yields to the event loop (input, paint, the heartbeat) and continues next turn.
#pragma once
#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <QVector>
#include <functional>

class QCustomPlot;

class ReplotScheduler : public QObject {
    Q_OBJECT
public:
    explicit ReplotScheduler(QObject* parent = nullptr);

    // Wall-clock budget of one turn; a turn ends once it is spent (after at least one replot).
    void setBudgetMs(double ms) { budgetMs_ = ms; }
    double budgetMs() const { return budgetMs_; }
    // Called with each chart just before it is replotted (e.g. to count it).
    void setOnReplot(std::function<void(QCustomPlot*)> hook) { onReplot_ = std::move(hook); }

    // Queues a replot (at most once per chart); runs in a later turn.
    void request(QCustomPlot* plot);
    void cancel(QCustomPlot* plot);
    bool pending(QCustomPlot* plot) const;
    bool idle() const { return queue_.isEmpty(); }
    // Replots queued charts now within the budget; the rest continue next turn.
    void runSome();
    // Replots every queued chart now (exports, screenshots, tests).
    void runAll();

private:
    void replotFront();

    QVector<QPointer<QCustomPlot>> queue_;
    QTimer turn_;
    double budgetMs_ = 6.0;
    std::function<void(QCustomPlot*)> onReplot_;
};
