#include "metrics/sample_checks.h"

#include <torch/torch.h>

#include "core/error.h"

namespace coalesce {

torch::Tensor sampleMatrix(const torch::Tensor& samples, const std::string& what) {
    if (!samples.defined()) throw Error(what + ": no samples given");
    if (samples.dim() < 1) throw Error(what + ": expected a batch of samples (N×...), got a scalar");
    if (samples.size(0) == 0) throw Error(what + ": the sample set is empty");
    if (samples.is_complex() || samples.scalar_type() == torch::kBool)
        throw Error(what + ": expected real-valued samples, got dtype " + std::string(c10::toString(samples.scalar_type())));
    auto m = samples.detach().to(torch::kCPU, torch::kDouble).reshape({samples.size(0), -1}).contiguous();
    if (m.size(1) == 0) throw Error(what + ": samples have zero features");
    auto bad = (~torch::isfinite(m)).any(1);
    const int64_t badRows = bad.sum().item<int64_t>();
    if (badRows > 0)
        throw Error(what + ": " + std::to_string(badRows) + " of " + std::to_string(m.size(0)) +
                    " samples contain NaN or Inf (first bad sample: index " +
                    std::to_string(bad.nonzero()[0][0].item<int64_t>()) + ")");
    return m;
}

void requireSameDimension(const torch::Tensor& a, const std::string& whatA, const torch::Tensor& b,
                          const std::string& whatB) {
    if (a.size(1) != b.size(1))
        throw Error(whatA + " and " + whatB + " have different dimensions (" + std::to_string(a.size(1)) +
                    " vs " + std::to_string(b.size(1)) + " values per sample)");
}

void requireAtLeastRows(const torch::Tensor& a, const std::string& what, int64_t minimum, const std::string& why) {
    if (a.size(0) < minimum)
        throw Error(what + ": " + why + " needs at least " + std::to_string(minimum) + " samples, got " +
                    std::to_string(a.size(0)));
}

}  // namespace coalesce
