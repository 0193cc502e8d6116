// The weights λ_k of the generator loss L_G = −Σ_k λ_k E D_k(G(z)) (METHOD.md, stage 1).
//
// "fixed" mode: λ stays constant. Typed λ are used as given up to scale (normalised to Σλ = 1); without
// typed λ, radii give λ_k ∝ 1/η_k (normalised); without either, λ_k = 1/K. (The reference normalises to
// Σλ = K and also scales the critic loss by λ_k; with Adam that critic-side scaling has no effect, so
// Coalesce applies λ only in L_G, as METHOD.md writes the losses.)
//
// "constrained" mode (adaptive coalescence): λ starts as in fixed mode, then every M generator
// iterations each source k with a radius η_k takes a projected dual-ascent step
//     λ_k ← max(0, λ_k + ρ (Ŵ_k − η_k)),
// Ŵ_k being critic k's smoothed estimate of W1(ν, μ_k). There is deliberately NO renormalisation
// afterwards: λ are the Lagrange multipliers of W1(ν, μ_k) ≤ η_k, so a satisfied constraint must be able
// to lose weight while a violated one gains it; renormalising would cancel the update whenever all
// constraints are violated alike and would forbid the feasible end state "all λ_k = 0". Sources without a
// radius (e.g. the local data in stage 2) are the objective term: their λ stays fixed. Because Adam is
// invariant to the overall loss scale, only the ratios of λ matter to the generator's update direction.
//
// Damping (`penalty` κ ≥ 0, default 0.5; 0 = exactly the plain rule above): L_G uses the effective weight
//     w_k = max(0, λ_k + κ (Ŵ_k − η_k))
// for sources with a radius, i.e. the method of multipliers (augmented Lagrangian with penalty κ):
// a violated constraint pulls at once in proportion to its violation, a satisfied one stops pulling.
// Why: a W1 barycenter is "linear" along geodesics (with unequal weights its minimiser is the heavier
// source itself), so with the plain rule G swings all the way to whichever λ is larger and the duals
// chase it; measured in the 2-D toy mode (two sources ~4.5 apart, radii 3, mlp2d G, lr 3e-4, ρ 0.01)
// Ŵ oscillated between ~0.5 and ~5.5 for 800 iterations without settling; with κ = 0.2 or 1 the same
// run settled by iteration ~100–300 at Ŵ ≈ 2.5–2.8 (both constraints met, every λ back to 0). The λ_k
// themselves still follow the ascent rule above.
//
// Schedules (stage 2's anchor): a source's weight can decay over the run, λ_k(t) = λ_k · s(t/T) with
// T = the run's iterations and s = 1 ("constant"), 1 − t/T ("linear") or (1 + cos πt/T)/2 ("cosine"),
// so the critic on the frozen barycenter holds G near B early and lets it reach the target later.
// s depends only on the step, which checkpoints record: a resumed run continues the same schedule.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace coalesce {

enum class WeightMode { Fixed, Constrained };
enum class WeightSchedule { Constant, Linear, Cosine };
WeightSchedule parseWeightSchedule(const std::string& name);  // "constant" | "linear" | "cosine", else Error
const char* toString(WeightSchedule schedule);
// s(progress) for progress = t/T in [0, 1] (clamped).
double scheduleFactor(WeightSchedule schedule, double progress);
WeightMode parseWeightMode(const std::string& name);  // "fixed" | "constrained", else Error naming "weights"
const char* toString(WeightMode mode);

struct CriticWeightOptions {
    WeightMode mode = WeightMode::Fixed;
    std::vector<double> lambdas;  // typed λ per source (empty = derive)
    std::vector<double> radii;    // η_k per source; NaN = this source has no radius (empty = none)
    int64_t updateEvery = 10;     // M, in generator iterations (constrained mode)
    double stepSize = 0.01;       // ρ, λ units per unit of W1 violation (constrained mode)
    double penalty = 0.5;         // κ, the damping above (constrained mode); 0 = METHOD.md's plain rule
    std::vector<WeightSchedule> schedules;  // per source (empty = all constant)
    int64_t horizon = 0;          // T of the schedules: the run's generator iterations
};

class CriticWeights {
public:
    // Validates against the number of sources; throws coalesce::Error naming the field.
    CriticWeights(const CriticWeightOptions& options, size_t sourceCount);

    const std::vector<double>& lambdas() const { return lambdas_; }
    WeightMode mode() const { return options_.mode; }
    bool hasRadius(size_t k) const;
    double radius(size_t k) const;  // NaN when none

    // Call after generator iteration `step` (1-based) with the current smoothed Ŵ; returns true if λ moved.
    bool afterIteration(int64_t step, const std::vector<double>& wHat);
    // The weights L_G uses at generator iteration `step` (0-based) given the current Ŵ: λ, plus the
    // damping term in constrained mode, times each source's schedule factor.
    std::vector<double> effectiveWeights(const std::vector<double>& wHat, int64_t step) const;
    bool scheduled() const;  // some source's weight follows a non-constant schedule
    bool damped() const { return options_.mode == WeightMode::Constrained && options_.penalty > 0; }

    nlohmann::json state() const;             // λ, for checkpoints
    void restore(const nlohmann::json& state);  // Error if malformed or of the wrong length

private:
    CriticWeightOptions options_;
    std::vector<double> lambdas_;
};

}  // namespace coalesce
