// Ternary weight quantisers as explicit autograd operations (METHOD.md stage 3).
//
//   learnedTernarize  the paper's learned-threshold quantiser (He & Fan 2019 truncated-Gaussian scale):
//                       μ = mean(W), σ = std(W) (unbiased), Δc = min(|Δ|, 3σ), a = Δc/σ,
//                       s = μ + σ·λ(a) with λ(a) = φ(a)/(1−Φ(a)) (inverse Mills ratio),
//                       Q(w) = +1 if w > μ+Δc, −1 if w < μ−Δc, else 0;   W_t = s·Q(W).
//                     Backward: ∂L/∂W = ∂L/∂W_t (straight-through) + (Σ ∂L/∂W_t·Q)·∂s/∂W through μ, σ;
//                     ∂L/∂Δ = (Σ ∂L/∂W_t·Q)·λ(a)(λ(a)−a)·sign(Δ) inside (−3σ, 3σ), 0 when clipped,
//                     optionally clamped to ±deltaGradClamp (the reference's 1e-3 hook).
//   twnTernarize      TWN (Li & Liu 2016): Δ = 0.7·mean|W|, α = mean{|w| : |w| > Δ}, W_t = α·sign(W)·[|W|>Δ];
//                     straight-through backward (for optional fine-tuning).
//   ttqTernarize      TTQ (Zhu et al. 2017): thr = t·max|W|, W_t = +W_p above thr, −W_n below −thr;
//                     trained scales: ∂L/∂W_p = Σ_{w>thr} ∂L/∂W_t, ∂L/∂W_n = −Σ_{w<−thr} ∂L/∂W_t; the latent
//                     weights get the paper's scaled STE (W_p/m above, 1 inside, W_n/m below, m = max|W|: the
//                     paper's factors W_p, W_n expressed for weights not normalised to [−1, 1]).
//
// One threshold and one scale (two for TTQ) per layer, all weights pooled (as in the reference).
#pragma once
#include <torch/types.h>

namespace coalesce {

// λ(a) = φ(a) / (1 − Φ(a)) for the standard normal, evaluated stably through erfc.
double inverseMillsRatio(double a);

// The learned quantiser's per-layer quantities, as 0-dim tensors in the weight's dtype/device.
struct LearnedTernaryStats {
    torch::Tensor mean;       // μ
    torch::Tensor std;        // σ (unbiased)
    torch::Tensor threshold;  // Δc = min(|Δ|, 3σ)
    torch::Tensor ratio;      // a = Δc/σ
    torch::Tensor scale;      // s = μ + σ·λ(a)
    torch::Tensor clipped;    // bool: |Δ| ≥ 3σ (Δ then gets no gradient)
};
// No autograd. Throws coalesce::Error if weight has fewer than 2 elements or delta is not one element.
LearnedTernaryStats learnedTernaryStats(const torch::Tensor& weight, const torch::Tensor& delta);

// Codes in {−1, 0, +1} (weight's dtype): +1 above center+threshold, −1 below center−threshold.
torch::Tensor ternaryCodes(const torch::Tensor& weight, const torch::Tensor& center, const torch::Tensor& threshold);

// W_t = s·Q(W) with the backward described above. delta: a one-element tensor (any shape).
// deltaGradClamp > 0 clamps ∂L/∂Δ to [−deltaGradClamp, deltaGradClamp]; 0 disables the clamp.
torch::Tensor learnedTernarize(const torch::Tensor& weight, const torch::Tensor& delta, double deltaGradClamp = 0.0);

struct TwnStats {
    torch::Tensor threshold;  // Δ = 0.7·mean|W|
    torch::Tensor scale;      // α = mean{|w| : |w| > Δ} (0 if no weight exceeds Δ)
};
TwnStats twnStats(const torch::Tensor& weight);
torch::Tensor twnTernarize(const torch::Tensor& weight);

// TTQ threshold t·max|W| (t = thresholdFraction, the paper's 0.05).
torch::Tensor ttqThreshold(const torch::Tensor& weight, double thresholdFraction);
// Least-squares initial scales for the current weights: W_p = mean{w : w > thr}, W_n = mean{−w : w < −thr}.
std::pair<double, double> ttqInitialScales(const torch::Tensor& weight, double thresholdFraction);
// wPos, wNeg: one-element tensors (positive magnitudes).
torch::Tensor ttqTernarize(const torch::Tensor& weight, const torch::Tensor& wPos, const torch::Tensor& wNeg,
                           double thresholdFraction);

}  // namespace coalesce
