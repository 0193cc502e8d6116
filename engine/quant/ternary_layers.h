// Ternary layers usable in place of Conv2d / ConvTranspose2d / Linear, and the conversion of a float
// Generator into a ternarised one with the same forward signature (METHOD.md stage 3).
//
// A ternary layer keeps the full-precision ("latent") weight and bias as parameters and ternarises the
// weight on every forward pass with one of three quantisers (quant/ternary_ops.h):
//   learned  trainable threshold "delta" (Δ, initialised to 0.05·max|W|), scale from the truncated Gaussian;
//   twn      Δ = 0.7·mean|W|, α = mean|W| above Δ (post-training; straight-through if fine-tuned);
//   ttq      trainable scales "w_pos", "w_neg" (initialised to the least-squares scales), thr = 0.05·max|W|.
// Parameter names stay those of the float layer ("net.0.weight", "net.0.bias") plus "net.0.delta" or
// "net.0.w_pos"/"net.0.w_neg", so the float weights of a ternarised generator are still addressable.
#pragma once
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "models/networks.h"

namespace coalesce {

enum class TernaryMethod { Learned, Twn, Ttq };
const char* toString(TernaryMethod method);
// "learned" | "twn" | "ttq"; throws coalesce::Error naming the accepted values otherwise.
TernaryMethod parseTernaryMethod(const std::string& name);

// learned: how Δ starts. MaxFraction = thresholdFraction·max|W| (the paper); Twn = 0.7·mean|W − μ|, TWN's
// near-optimal threshold for Gaussian-like weights (more zeros: the paper's start gives ~5-10 % zeros).
enum class ThresholdInit { MaxFraction, Twn };
const char* toString(ThresholdInit init);
// "max_fraction" | "twn"; throws coalesce::Error naming the accepted values otherwise.
ThresholdInit parseThresholdInit(const std::string& name);

struct TernaryOptions {
    TernaryMethod method = TernaryMethod::Learned;
    // learned: Δ = thresholdFraction·max|W| at conversion; ttq: thr = thresholdFraction·max|W| always.
    double thresholdFraction = 0.05;
    ThresholdInit thresholdInit = ThresholdInit::MaxFraction;
    // learned: clamp ∂L/∂Δ to ±deltaGradClamp (the reference's hook on G); 0 = no clamp.
    double deltaGradClamp = 1e-3;
    // Leave the generator's first and last weight layers in float (common practice; off in the paper).
    bool keepFirstLastFloat = false;
    // Leave only the last weight layer (the image output) in float. In dcgan32 it holds < 0.1 % of the
    // weights, so the file stays ~15x smaller, while the output pixels are no longer 3-level sums.
    bool keepLastFloat = false;
};

// A snapshot of what the quantiser does to one layer right now (no autograd, CPU).
// Dequantised weight = scalePos·[code = +1] − scaleNeg·[code = −1].
struct TernaryLayerSnapshot {
    torch::Tensor codes;      // int8 in {−1, 0, +1}, the weight's shape
    double scalePos = 0.0;    // learned: s; twn: α; ttq: W_p
    double scaleNeg = 0.0;    // learned: s; twn: α; ttq: W_n
    double threshold = 0.0;   // learned: Δc; twn: 0.7·mean|W|; ttq: t·max|W|
    double center = 0.0;      // learned: μ (codes are taken around μ ± Δc); twn, ttq: 0
};

// Shared state and quantiser of every ternary layer. Subclasses only differ in the op they apply.
class TernaryLayerImpl : public torch::nn::Module {
public:
    TernaryMethod method() const { return options_.method; }
    const TernaryOptions& ternaryOptions() const { return options_; }
    // The weight the layer computes with (differentiable as described in quant/ternary_ops.h).
    torch::Tensor ternaryWeight() const;
    TernaryLayerSnapshot snapshot() const;
    // learned: Δ = thresholdFraction·max|W|; ttq: W_p, W_n = least-squares scales. Call after the float
    // weights changed outside training (the reference re-initialises Δ after loading weights).
    void resetQuantizer();
    // Per-layer report: kind, shape, method, sparsity, fraction ±1, scales, threshold, μ, σ, Δ, Δc/max|W|.
    nlohmann::json report() const;
    virtual std::string layerKind() const = 0;  // "conv2d" | "conv_transpose2d" | "linear"

    torch::Tensor weight, bias;  // latent float weight; bias (undefined if the layer has none)
    torch::Tensor delta;         // learned: Δ (1 element)
    torch::Tensor wPos, wNeg;    // ttq: W_p, W_n (1 element each)

protected:
    TernaryLayerImpl(const torch::Tensor& floatWeight, const torch::Tensor& floatBias, const TernaryOptions& options);

private:
    TernaryOptions options_;
};

class TernaryConv2dImpl : public TernaryLayerImpl {
public:
    // Copies the source's weight and bias (zero padding mode only).
    TernaryConv2dImpl(const torch::nn::Conv2d& source, const TernaryOptions& options);
    torch::Tensor forward(const torch::Tensor& x);
    std::string layerKind() const override { return "conv2d"; }
    torch::nn::detail::ConvNdOptions<2> convOptions;  // the source layer's options
};
TORCH_MODULE(TernaryConv2d);

class TernaryConvTranspose2dImpl : public TernaryLayerImpl {
public:
    TernaryConvTranspose2dImpl(const torch::nn::ConvTranspose2d& source, const TernaryOptions& options);
    torch::Tensor forward(const torch::Tensor& x);
    std::string layerKind() const override { return "conv_transpose2d"; }
    torch::nn::detail::ConvNdOptions<2> convOptions;
};
TORCH_MODULE(TernaryConvTranspose2d);

// For the 2-D toy mode's MLP generators (the paper quantises conv layers only).
class TernaryLinearImpl : public TernaryLayerImpl {
public:
    TernaryLinearImpl(const torch::nn::Linear& source, const TernaryOptions& options);
    torch::Tensor forward(const torch::Tensor& x);
    std::string layerKind() const override { return "linear"; }
};
TORCH_MODULE(TernaryLinear);

// A new generator (same device, same train/eval mode, same forward) whose conv / transposed-conv
// (dcgan32) or linear (mlp2d) layers are ternary layers built from `floatGenerator`'s weights; every
// other layer (BatchNorm with its running statistics, activations) is copied. The input is untouched.
Generator ternarizeGenerator(const Generator& floatGenerator, const TernaryOptions& options);
// True if any layer of the module is a ternary layer.
bool isTernarized(const torch::nn::Module& module);
// The ternary layers of a ternarised generator with their names in its Sequential ("net.0", ...).
std::vector<std::pair<std::string, std::shared_ptr<TernaryLayerImpl>>> ternaryLayers(const Generator& generator);
// A plain float generator computing exactly what the ternarised one computes: every ternary layer's
// weight replaced by its dequantised ternary weight (deployment / evaluation copy; no latent weights).
Generator materializeTernaryGenerator(const Generator& ternarized);
// Re-estimates every BatchNorm's running mean and variance from `batches` forward passes of `batchSize`
// random latents drawn from `rng` (train mode, no grad, cumulative average over the batches), then
// restores the generator's mode. Ternarising rescales every layer's output, so the float network's
// running statistics no longer match and a post-training ternarised generator is badly off in eval
// mode; this needs no data. No-op for a generator without BatchNorm (mlp2d).
void recalibrateBatchNorm(Generator& generator, int64_t batches, int64_t batchSize, at::Generator rng);
// {"method", "layers": [report per ternary layer], "float_layers": [names kept float],
//  "ternary_weights", "zero_fraction"} for a ternarised generator.
nlohmann::json ternaryReport(const Generator& ternarized);

// Parameters split for the paper's alternating updates: thresholds = every learned Δ; weights = all
// other parameters (latent weights, biases, norm affines, TTQ scales).
struct TernaryParameterGroups {
    std::vector<torch::Tensor> thresholds;
    std::vector<torch::Tensor> weights;
};
TernaryParameterGroups ternaryParameterGroups(const torch::nn::Module& module);

// The reference's alternating update with two Adam optimisers (lr 1e-4, betas (0.5, 0.999) by default):
// evaluate the loss and step only Δ, then evaluate it again (same inputs, inside `loss`) and step only the
// weights. Without thresholds (twn, ttq, float) it is a plain Adam step on the weights.
class AlternatingTernaryOptimizer {
public:
    AlternatingTernaryOptimizer(const torch::nn::Module& module, const torch::optim::AdamOptions& thresholdOptions,
                                const torch::optim::AdamOptions& weightOptions);
    // `loss` must rebuild the graph on every call. Returns the loss of the weight step.
    torch::Tensor step(const std::function<torch::Tensor()>& loss);
    torch::optim::Adam* thresholdOptimizer() { return thresholds_.get(); }
    torch::optim::Adam& weightOptimizer() { return *weights_; }

private:
    std::unique_ptr<torch::optim::Adam> thresholds_;  // null when the module has no learned Δ
    std::unique_ptr<torch::optim::Adam> weights_;
};

}  // namespace coalesce
