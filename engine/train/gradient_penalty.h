// WGAN-GP gradient penalty (Gulrajani et al. 2017) in the two variants Coalesce offers:
//   standard  : GP = mean_b (‖∇_x D(x̂_b)‖₂ − 1)², the norm over every element of sample b (default);
//   per_pixel : the reference code's variant (`gradients.norm(2, dim=1)`): the norm over the channel axis
//               only, per pixel, and the mean over batch × H × W. For C = 1 this penalises
//               (|∂D/∂pixel| − 1)² for every pixel. For point data (B×D) both variants coincide.
// x̂ = ε·real + (1 − ε)·fake with ε ~ U(0,1) per sample, broadcast over the sample's other axes.
#pragma once
#include <functional>
#include <string>

#include <torch/types.h>

namespace coalesce {

enum class GradientPenaltyMode { Standard, PerPixel };

// "standard" or "per_pixel"; anything else is a coalesce::Error naming the field "gp".
GradientPenaltyMode parseGradientPenaltyMode(const std::string& name);
const char* toString(GradientPenaltyMode mode);

// The penalty for given input gradients g = ∂D/∂x̂ (B×C×H×W or B×D). Differentiable in g.
torch::Tensor penaltyFromGradients(const torch::Tensor& gradients, GradientPenaltyMode mode);

// Interpolates real and fake with `epsilon` (B values in [0,1]), evaluates the critic there and returns
// the scalar penalty, built with create_graph so that backward() reaches the critic's parameters.
// `real` and `fake` must not require grad (fakes are detached, as in the reference).
torch::Tensor gradientPenalty(const std::function<torch::Tensor(const torch::Tensor&)>& critic,
                              const torch::Tensor& real, const torch::Tensor& fake, const torch::Tensor& epsilon,
                              GradientPenaltyMode mode);

}  // namespace coalesce
