// Remaining-time estimate for a job from its progress reports. The rate is measured over a sliding
// window of active (not paused) time, so it follows speed changes (e.g. evaluation phases) without
// jumping on every report.
#pragma once
#include <deque>
#include <utility>

class EtaEstimator {
public:
    explicit EtaEstimator(double windowSeconds = 20.0) : window_(windowSeconds) {}
    void reset() { samples_.clear(); }
    // activeSeconds: time since start excluding pauses; done/total in job units.
    void add(double activeSeconds, long long done);
    // Units per second over the window; 0 while unknown.
    double rate() const;
    // Seconds left for `total`; < 0 while unknown (fewer than two samples 0.5 s apart, or no progress).
    double etaSeconds(long long total) const;

private:
    double window_;
    std::deque<std::pair<double, long long>> samples_;
};
