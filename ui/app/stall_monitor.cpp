#include "app/stall_monitor.h"

#include <algorithm>
#include <ctime>

namespace {
double threadCpuMs() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
}  // namespace

StallMonitor::StallMonitor(int intervalMs, QObject* parent) : QObject(parent) {
    timer_.setInterval(intervalMs);
    timer_.setTimerType(Qt::PreciseTimer);
    connect(&timer_, &QTimer::timeout, this, &StallMonitor::tick);
}

void StallMonitor::start() {
    maxGapMs_ = maxGapCpuMs_ = maxBusyMs_ = 0;
    gaps_.clear();
    clock_.start();
    last_ = clock_.nsecsElapsed();
    cpuStart_ = lastCpu_ = threadCpuMs();
    timer_.start();
}

void StallMonitor::stop() {
    if (!timer_.isActive()) return;
    timer_.stop();
    wallMs_ = clock_.nsecsElapsed() / 1e6;
    cpuMs_ = threadCpuMs() - cpuStart_;
}

void StallMonitor::skipCurrentGap() {
    last_ = clock_.nsecsElapsed();
    lastCpu_ = threadCpuMs();
}

void StallMonitor::tick() {
    const qint64 now = clock_.nsecsElapsed();
    const double cpu = threadCpuMs();
    const double gap = (now - last_) / 1e6, busy = cpu - lastCpu_;
    last_ = now;
    lastCpu_ = cpu;
    if (gap > maxGapMs_) {
        maxGapMs_ = gap;
        maxGapCpuMs_ = busy;
    }
    maxBusyMs_ = std::max(maxBusyMs_, busy);
    gaps_ << float(gap);
}

int StallMonitor::gapsOver(double ms) const {
    return int(std::count_if(gaps_.begin(), gaps_.end(), [ms](float g) { return g > ms; }));
}

double StallMonitor::percentileGapMs(double p) const {
    if (gaps_.isEmpty()) return 0;
    QVector<float> sorted = gaps_;
    std::sort(sorted.begin(), sorted.end());
    const int i = std::clamp(int(p * (sorted.size() - 1)), 0, int(sorted.size()) - 1);
    return sorted[i];
}
