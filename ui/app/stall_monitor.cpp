#include "app/stall_monitor.h"

#include <algorithm>

StallMonitor::StallMonitor(int intervalMs, QObject* parent) : QObject(parent) {
    timer_.setInterval(intervalMs);
    timer_.setTimerType(Qt::PreciseTimer);
    connect(&timer_, &QTimer::timeout, this, &StallMonitor::tick);
}

void StallMonitor::start() {
    maxGapMs_ = 0;
    gaps_.clear();
    clock_.start();
    last_ = clock_.nsecsElapsed();
    timer_.start();
}

void StallMonitor::stop() { timer_.stop(); }

void StallMonitor::tick() {
    const qint64 now = clock_.nsecsElapsed();
    const double gap = (now - last_) / 1e6;
    last_ = now;
    maxGapMs_ = std::max(maxGapMs_, gap);
    gaps_ << float(gap);
}

double StallMonitor::percentileGapMs(double p) const {
    if (gaps_.isEmpty()) return 0;
    QVector<float> sorted = gaps_;
    std::sort(sorted.begin(), sorted.end());
    const int i = std::clamp(int(p * (sorted.size() - 1)), 0, int(sorted.size()) - 1);
    return sorted[i];
}
