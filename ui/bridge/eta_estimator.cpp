#include "bridge/eta_estimator.h"

void EtaEstimator::add(double activeSeconds, long long done) {
    if (!samples_.empty() && done < samples_.back().second) samples_.clear();  // restarted phase
    samples_.emplace_back(activeSeconds, done);
    // Keep the oldest sample that is still inside the window plus everything newer.
    while (samples_.size() > 2 && activeSeconds - samples_[1].first >= window_) samples_.pop_front();
}

double EtaEstimator::rate() const {
    if (samples_.size() < 2) return 0.0;
    const auto& a = samples_.front();
    const auto& b = samples_.back();
    const double dt = b.first - a.first;
    if (dt < 0.5 || b.second <= a.second) return 0.0;
    return double(b.second - a.second) / dt;
}

double EtaEstimator::etaSeconds(long long total) const {
    const double r = rate();
    if (r <= 0 || samples_.empty()) return -1.0;
    const long long left = total - samples_.back().second;
    return left <= 0 ? 0.0 : double(left) / r;
}
