#include "data/image_geometry.h"

#include <cmath>

#include <torch/torch.h>

#include "core/error.h"

namespace coalesce {

FitPlan planFit(int width, int height, int size) {
    if (width <= 0 || height <= 0 || size <= 0)
        throw Error("planFit: invalid sizes " + std::to_string(width) + "×" + std::to_string(height) + " → " +
                    std::to_string(size));
    FitPlan plan;
    plan.scaledWidth = width;
    plan.scaledHeight = height;
    if (width == height && width == size) return plan;
    if (width == height && width == size - 4) {
        plan.padding = 2;
        return plan;
    }
    const double scale = static_cast<double>(size) / std::min(width, height);
    // The shorter side becomes exactly `size`; the longer one is rounded, and never below `size`.
    plan.scaledWidth = width <= height ? size : std::max(size, static_cast<int>(std::lround(width * scale)));
    plan.scaledHeight = height < width ? size : std::max(size, static_cast<int>(std::lround(height * scale)));
    plan.cropX = (plan.scaledWidth - size) / 2;
    plan.cropY = (plan.scaledHeight - size) / 2;
    return plan;
}

torch::Tensor fitBatch(const torch::Tensor& batch, int size) {
    const int height = static_cast<int>(batch.size(2)), width = static_cast<int>(batch.size(3));
    const FitPlan plan = planFit(width, height, size);
    if (plan.padding > 0) {
        const int64_t p = plan.padding;
        return torch::constant_pad_nd(batch, {p, p, p, p}, -1.0);
    }
    torch::Tensor scaled = batch;
    if (plan.resamples(width, height)) {
        namespace F = torch::nn::functional;
        const bool shrink = plan.scaledWidth < width;
        auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{plan.scaledHeight, plan.scaledWidth});
        if (shrink)
            options.mode(torch::kArea);
        else
            options.mode(torch::kBilinear).align_corners(false);
        scaled = F::interpolate(batch, options).clamp(-1.0, 1.0);
    }
    return scaled.narrow(2, plan.cropY, size).narrow(3, plan.cropX, size).contiguous();
}

}  // namespace coalesce
