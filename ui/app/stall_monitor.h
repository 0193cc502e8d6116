// Measures how responsive the GUI thread is: a fast heartbeat timer records the gap between ticks;
// any gap much longer than the interval is time the event loop could not run (a stall).
#pragma once
#include <QElapsedTimer>
#include <QObject>
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

private:
    void tick();
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
