#include "train/critic_weights.h"

#include <cmath>

#include "core/error.h"
#include "train/weight_rule.h"

namespace coalesce {

WeightMode parseWeightMode(const std::string& name) {
    if (name == "fixed") return WeightMode::Fixed;
    if (name == "constrained") return WeightMode::Constrained;
    throw Error("weights: unknown mode '" + name + "' (use fixed or constrained)");
}

const char* toString(WeightMode mode) { return mode == WeightMode::Constrained ? "constrained" : "fixed"; }

WeightSchedule parseWeightSchedule(const std::string& name) {
    if (name == "constant") return WeightSchedule::Constant;
    if (name == "linear") return WeightSchedule::Linear;
    if (name == "cosine") return WeightSchedule::Cosine;
    throw Error("schedule: unknown schedule '" + name + "' (use constant, linear or cosine)");
}

const char* toString(WeightSchedule schedule) {
    switch (schedule) {
        case WeightSchedule::Linear: return "linear";
        case WeightSchedule::Cosine: return "cosine";
        default: return "constant";
    }
}

double scheduleFactor(WeightSchedule schedule, double progress) {
    const double p = std::min(1.0, std::max(0.0, progress));
    switch (schedule) {
        case WeightSchedule::Linear: return 1.0 - p;
        case WeightSchedule::Cosine: return 0.5 * (1.0 + std::cos(M_PI * p));
        default: return 1.0;
    }
}

namespace {
std::vector<double> normalised(std::vector<double> v) {
    double sum = 0;
    for (double x : v) sum += x;
    for (double& x : v) x /= sum;
    return v;
}
}  // namespace

CriticWeights::CriticWeights(const CriticWeightOptions& options, size_t sourceCount) : options_(options) {
    const size_t k = sourceCount;
    if (k == 0) throw Error("weights: no sources");
    if (!options_.lambdas.empty()) {
        if (options_.lambdas.size() != k)
            throw Error("lambda: " + std::to_string(options_.lambdas.size()) + " weights given for " +
                        std::to_string(k) + " sources");
        double sum = 0;
        for (double l : options_.lambdas) {
            if (!std::isfinite(l) || l < 0) throw Error("lambda: weights must be finite and >= 0, got " + std::to_string(l));
            sum += l;
        }
        if (sum <= 0) throw Error("lambda: at least one weight must be > 0");
    }
    size_t withRadius = 0;
    if (!options_.radii.empty()) {
        if (options_.radii.size() != k)
            throw Error("radius: " + std::to_string(options_.radii.size()) + " radii given for " + std::to_string(k) +
                        " sources");
        for (double r : options_.radii) {
            if (std::isnan(r)) continue;
            if (!std::isfinite(r) || r <= 0) throw Error("radius: η must be finite and > 0, got " + std::to_string(r));
            ++withRadius;
        }
    }
    if (!options_.schedules.empty() && options_.schedules.size() != k)
        throw Error("schedule: " + std::to_string(options_.schedules.size()) + " schedules given for " + std::to_string(k) +
                    " sources");
    if (scheduled() && options_.horizon < 1) throw Error("schedule: a weight schedule needs the run's iterations (>= 1)");
    if (options_.mode == WeightMode::Constrained) {
        if (withRadius == 0) throw Error("weights: constrained mode needs a radius η for at least one source");
        if (options_.updateEvery < 1)
            throw Error("weights: update_every must be >= 1, got " + std::to_string(options_.updateEvery));
        if (!std::isfinite(options_.stepSize) || options_.stepSize <= 0)
            throw Error("weights: step_size ρ must be finite and > 0, got " + std::to_string(options_.stepSize));
        if (!std::isfinite(options_.penalty) || options_.penalty < 0)
            throw Error("weights: penalty κ must be finite and >= 0, got " + std::to_string(options_.penalty));
    }

    if (!options_.lambdas.empty()) {
        lambdas_ = normalised(options_.lambdas);
    } else if (withRadius == k) {
        lambdas_ = lambdasFromRadii(options_.radii);
    } else if (withRadius > 0 && options_.mode == WeightMode::Fixed) {
        throw Error("radius: fixed weights from radii need a radius for every source (or give lambda)");
    } else {
        lambdas_.assign(k, 1.0 / static_cast<double>(k));
    }
}

bool CriticWeights::hasRadius(size_t k) const { return k < options_.radii.size() && !std::isnan(options_.radii[k]); }

double CriticWeights::radius(size_t k) const { return hasRadius(k) ? options_.radii[k] : std::nan(""); }

bool CriticWeights::afterIteration(int64_t step, const std::vector<double>& wHat) {
    if (options_.mode != WeightMode::Constrained || step % options_.updateEvery != 0) return false;
    bool moved = false;
    for (size_t k = 0; k < lambdas_.size(); ++k) {
        if (!hasRadius(k) || k >= wHat.size() || !std::isfinite(wHat[k])) continue;
        const double next = std::max(0.0, lambdas_[k] + options_.stepSize * (wHat[k] - options_.radii[k]));
        moved = moved || next != lambdas_[k];
        lambdas_[k] = next;
    }
    return moved;
}

bool CriticWeights::scheduled() const {
    for (WeightSchedule s : options_.schedules)
        if (s != WeightSchedule::Constant) return true;
    return false;
}

std::vector<double> CriticWeights::effectiveWeights(const std::vector<double>& wHat, int64_t step) const {
    std::vector<double> w = lambdas_;
    if (damped())
        for (size_t k = 0; k < w.size(); ++k)
            if (hasRadius(k) && k < wHat.size() && std::isfinite(wHat[k]))
                w[k] = std::max(0.0, lambdas_[k] + options_.penalty * (wHat[k] - options_.radii[k]));
    for (size_t k = 0; k < options_.schedules.size() && k < w.size(); ++k)
        w[k] *= scheduleFactor(options_.schedules[k], static_cast<double>(step) / static_cast<double>(options_.horizon));
    return w;
}

nlohmann::json CriticWeights::state() const { return {{"lambda", lambdas_}, {"mode", toString(options_.mode)}}; }

void CriticWeights::restore(const nlohmann::json& state) {
    std::vector<double> l;
    try {
        l = state.at("lambda").get<std::vector<double>>();
    } catch (const nlohmann::json::exception&) {
        throw Error("resume: checkpoint has no readable λ state");
    }
    if (l.size() != lambdas_.size())
        throw Error("resume: checkpoint has " + std::to_string(l.size()) + " weights, the run has " +
                    std::to_string(lambdas_.size()) + " sources");
    lambdas_ = l;
}

}  // namespace coalesce
