#include "train/mixed_precision.h"

#include <ATen/autocast_mode.h>

#include "core/error.h"
#include "core/runtime.h"

namespace coalesce {

const char* toString(Precision precision) { return precision == Precision::Bf16 ? "bf16" : "fp32"; }

void validatePrecisionSetting(const std::string& setting, const std::string& context) {
    if (setting != "auto" && setting != "fp32" && setting != "bf16")
        throw Error(context + ": precision must be auto, fp32 or bf16, got \"" + setting + "\"");
}

Precision resolvePrecision(const std::string& setting, const torch::Device&) {
    validatePrecisionSetting(setting, "runtime");
    return setting == "bf16" ? Precision::Bf16 : Precision::Fp32;
}

std::string bf16Warning(Precision precision, const torch::Device& device) {
    if (precision != Precision::Bf16 || !device.is_cpu() || cpuHasBf16Instructions()) return "";
    return "bf16 on a CPU without AVX512-BF16 or AMX (" + describeCpu() +
           "): oneDNN emulates it, expect it slower than fp32";
}

AutocastScope::AutocastScope(Precision precision, const torch::Device& device)
    : lowPrecision_(precision == Precision::Bf16), cuda_(device.is_cuda()) {
    wasEnabled_ = cuda_ ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
    // Nothing to do for fp32 unless an outer scope turned autocast on: then fp32 means off here.
    active_ = lowPrecision_ || wasEnabled_;
    if (!active_) return;
    if (cuda_) {
        previousType_ = at::autocast::get_autocast_gpu_dtype();
        at::autocast::set_enabled(lowPrecision_);
        at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    } else {
        previousType_ = at::autocast::get_autocast_cpu_dtype();
        at::autocast::set_cpu_enabled(lowPrecision_);
        at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    }
    if (lowPrecision_) at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
    if (!active_) return;
    if (lowPrecision_) {
        at::autocast::decrement_nesting();
        // The bf16 copies of the weights are stale after the next optimizer step: drop them when any
        // bf16 scope ends, not only the outermost (torch.autocast's rule), as the trainer steps between.
        at::autocast::clear_cache();
    }
    if (cuda_) {
        at::autocast::set_enabled(wasEnabled_);
        at::autocast::set_autocast_gpu_dtype(previousType_);
    } else {
        at::autocast::set_cpu_enabled(wasEnabled_);
        at::autocast::set_autocast_cpu_dtype(previousType_);
    }
}

}  // namespace coalesce
