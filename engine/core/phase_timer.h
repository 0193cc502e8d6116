// Wall seconds by named phase, added into a map the caller keeps (the trainer's phaseSeconds, the
// evaluator's per-stage seconds): one clock and one rule for every "where did the time go" figure.
#pragma once
#include <chrono>
#include <map>
#include <string>

namespace coalesce {

// lap("x") charges the time since the previous lap (or since construction) to "x".
class LapTimer {
public:
    explicit LapTimer(std::map<std::string, double>& totals) : totals_(totals) {}
    void lap(const std::string& phase) {
        const auto now = std::chrono::steady_clock::now();
        totals_[phase] += std::chrono::duration<double>(now - last_).count();
        last_ = now;
    }

private:
    std::map<std::string, double>& totals_;
    std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// Charges the wall time of its scope to one phase (also when the scope is left by an exception).
class ScopedPhaseTimer {
public:
    ScopedPhaseTimer(std::map<std::string, double>& totals, std::string phase) : laps_(totals), phase_(std::move(phase)) {}
    ~ScopedPhaseTimer() { laps_.lap(phase_); }
    ScopedPhaseTimer(const ScopedPhaseTimer&) = delete;
    ScopedPhaseTimer& operator=(const ScopedPhaseTimer&) = delete;

private:
    LapTimer laps_;
    std::string phase_;
};

}  // namespace coalesce
