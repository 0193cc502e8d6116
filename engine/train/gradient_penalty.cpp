#include "train/gradient_penalty.h"

#include <torch/torch.h>

#include "core/error.h"

namespace coalesce {

GradientPenaltyMode parseGradientPenaltyMode(const std::string& name) {
    if (name == "standard") return GradientPenaltyMode::Standard;
    if (name == "per_pixel") return GradientPenaltyMode::PerPixel;
    throw Error("gp: unknown gradient penalty '" + name + "' (use standard or per_pixel)");
}

const char* toString(GradientPenaltyMode mode) {
    return mode == GradientPenaltyMode::PerPixel ? "per_pixel" : "standard";
}

torch::Tensor penaltyFromGradients(const torch::Tensor& gradients, GradientPenaltyMode mode) {
    if (gradients.dim() < 2) throw Error("gradient penalty: expected a batch of gradients, got a " +
                                         std::to_string(gradients.dim()) + "-d tensor");
    // A tiny floor inside the square root keeps the derivative finite where a gradient vanishes
    // (‖g‖ is not differentiable at 0); it shifts the norm by at most 1e-6.
    torch::Tensor squared = gradients.pow(2);
    torch::Tensor norms;
    if (mode == GradientPenaltyMode::PerPixel && gradients.dim() > 2)
        norms = (squared.sum(1) + 1e-12).sqrt();  // B×H×W: over channels only
    else
        norms = (squared.flatten(1).sum(1) + 1e-12).sqrt();  // B: over the whole sample
    return (norms - 1.0).pow(2).mean();
}

torch::Tensor gradientPenalty(const std::function<torch::Tensor(const torch::Tensor&)>& critic,
                              const torch::Tensor& real, const torch::Tensor& fake, const torch::Tensor& epsilon,
                              GradientPenaltyMode mode) {
    if (real.sizes() != fake.sizes())
        throw Error("gradient penalty: real batch " + c10::str(real.sizes()) + " and fake batch " +
                    c10::str(fake.sizes()) + " differ in shape");
    std::vector<int64_t> broadcast(static_cast<size_t>(real.dim()), 1);
    broadcast[0] = real.size(0);
    torch::Tensor eps = epsilon.to(real.options()).view(broadcast);
    torch::Tensor mixed = (eps * real + (1.0 - eps) * fake).detach().requires_grad_(true);
    torch::Tensor scores = critic(mixed);
    torch::Tensor gradients = torch::autograd::grad({scores.sum()}, {mixed}, /*grad_outputs=*/{},
                                                    /*retain_graph=*/true, /*create_graph=*/true)[0];
    return penaltyFromGradients(gradients, mode);
}

}  // namespace coalesce
