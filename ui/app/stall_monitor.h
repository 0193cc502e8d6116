// Measures how responsive the GUI thread is: a fast heartbeat timer records the gap between ticks;
// any gap much longer than the interval is time the event loop could not run (a stall).
#pragma once
#include <QElapsedTimer>
#include <QEvent>
#include <QObject>
#include <QString>
#include <QTimer>
#include <QVector>

class StallMonitor : public QObject {
    Q_OBJECT
public:
    explicit StallMonitor(int intervalMs = 5, QObject* parent = nullptr);
    void start();
    void stop();
    // Forget the gap in progress (e.g. around a deliberate screenshot grab, which is not a stall).
    void skipCurrentGap();
    // Stop charging handlers (paused) for work that is not the application's own, such as a grab.
    void setAttributionPaused(bool paused);
    bool running() const { return timer_.isActive(); }
    double maxGapMs() const { return maxGapMs_; }     // longest time between two heartbeats
    // GUI-thread CPU time spent inside that longest gap: near the gap itself = our code blocked the
    // event loop; near zero = the thread was runnable but not scheduled (a loaded machine).
    double maxGapCpuMs() const { return maxGapCpuMs_; }
    // The most GUI-thread CPU time spent inside any one gap: the longest stall our own code caused.
    double maxBusyMs() const { return maxBusyMs_; }
    int gapsOver(double ms) const;
    double percentileGapMs(double p) const;           // e.g. 0.99
    int samples() const { return int(gaps_.size()); }
    int intervalMs() const { return timer_.interval(); }
    double wallMs() const { return wallMs_; }  // start() to stop()
    double cpuMs() const { return cpuMs_; }    // GUI-thread CPU time in that span
    // Which handlers the GUI thread's CPU went to: every event the application delivers on the GUI
    // thread is charged the thread CPU time until the next one starts (so a handler's nested events
    // are charged to themselves). "QCustomPlot Paint 31.2 ms" = the longest single such span;
    // culprits() lists the worst receiver/event kinds, maxGapCulprit() the worst one inside the longest gap.
    QString maxGapCulprit() const { return maxGapCulprit_; }
    // The longest gap's GUI-thread CPU summed per receiver/event kind, most first: many small handlers
    // in one gap (a burst of paints or queued calls) show up here and not in maxGapCulprit().
    QString maxGapBreakdown(int count) const;
    QString culprits(int count) const;

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void tick();
    void chargeCurrentEvent(double cpu);
    struct Dispatch {
        const char* receiver = nullptr;  // class name (static storage in the meta-object)
        int type = 0;                    // QEvent::Type
    };
    Dispatch current_;
    double currentStartCpu_ = 0;
    Dispatch gapWorst_;
    double gapWorstMs_ = 0;
    QString maxGapCulprit_;
    struct KindTotal {
        Dispatch kind;
        double ms = 0;
        int count = 0;
    };
    QVector<KindTotal> gapKinds_;     // the gap in progress
    QVector<KindTotal> maxGapKinds_;  // the longest gap's
    QVector<QPair<QString, double>> worst_;  // label → longest single span, CPU ms
    QTimer timer_;
    QElapsedTimer clock_;
    qint64 last_ = 0;
    double maxGapMs_ = 0;
    double maxGapCpuMs_ = 0;
    double maxBusyMs_ = 0;
    double lastCpu_ = 0;
    double wallMs_ = 0;
    double cpuMs_ = 0;
    double cpuStart_ = 0;
    QVector<float> gaps_;
};
