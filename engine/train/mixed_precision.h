// bf16 mixed precision for training (runtime.precision: "fp32" | "bf16" | "auto").
// bf16 runs the forward passes of G and the critics under LibTorch's autocast: convolutions, linear layers
// and matrix products compute in bfloat16 where the backend has such kernels (oneDNN with AVX512-BF16 or AMX
// on CPU; tensor cores on CUDA; LibTorch 1.13's CPU autocast leaves transposed convolutions in fp32, so the
// generator's upsampling layers gain only where they run as sub-pixel convolutions), everything else fp32 — the weights and Adam's
// state (the "master" copy; autocast casts a bf16 copy per forward), the critic scores before any loss
// (MultiCriticTrainer casts them back), the gradient penalty's input gradients and norms, BatchNorm and
// InstanceNorm statistics. Evaluation (FID, W1) and the preview are never under autocast, so the numbers
// that compare methods are computed the same way whatever precision trained the model.
#pragma once
#include <string>

#include <torch/types.h>

namespace coalesce {

enum class Precision { Fp32, Bf16 };

const char* toString(Precision precision);
// Error unless the setting is "auto", "fp32" or "bf16".
void validatePrecisionSetting(const std::string& setting, const std::string& context);
// The precision a run uses. "auto" is fp32, on every device (bench/README.md, peer_bf16.sh): bf16 was
// 1.05x (small preset) and 1.14x (paper) the engine's fp32 speed on an AVX512-BF16 EPYC and 0.89x on the
// PyTorch peer on an AMX Xeon; its quality matched fp32 on the main job (3 seeds). A few percent, on some
// CPUs only, does not pay for results that depend on the machine. Change the rule here, and only here.
Precision resolvePrecision(const std::string& setting, const torch::Device& device);
// Why bf16 will be slow here, or "" (a CPU without AVX512-BF16 or AMX emulates bf16 in fp32 units).
std::string bf16Warning(Precision precision, const torch::Device& device);

// RAII: autocast to bf16 on `device`'s type for the current thread while alive (autocast is
// thread-local); for fp32, autocast off (a no-op unless an outer scope had turned it on). Keep it around
// forward passes only: backward and the optimizer step run outside (autocast caches the bf16 copy of
// each weight while a scope lives, and an optimizer step inside one would leave a stale copy).
class AutocastScope {
public:
    AutocastScope(Precision precision, const torch::Device& device);
    ~AutocastScope();
    AutocastScope(const AutocastScope&) = delete;
    AutocastScope& operator=(const AutocastScope&) = delete;

private:
    bool lowPrecision_ = false;
    bool active_ = false;  // whether this scope changed the thread's autocast state
    bool cuda_ = false;
    bool wasEnabled_ = false;
    at::ScalarType previousType_ = at::kBFloat16;
};

}  // namespace coalesce
