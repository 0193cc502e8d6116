#include "train/point_cloud_image.h"

#include <torch/torch.h>

#include "core/error.h"

namespace coalesce {

namespace {
void drawDots(ImageU8& image, const torch::Tensor& xy, double x0, double y0, double scale, const uint8_t rgb[3],
              int radius) {
    auto a = xy.accessor<float, 2>();
    for (int64_t i = 0; i < a.size(0); ++i) {
        if (!std::isfinite(a[i][0]) || !std::isfinite(a[i][1])) continue;
        const int cx = static_cast<int>(std::lround((a[i][0] - x0) * scale));
        const int cy = image.height - 1 - static_cast<int>(std::lround((a[i][1] - y0) * scale));
        for (int dy = -radius; dy <= radius; ++dy)
            for (int dx = -radius; dx <= radius; ++dx) {
                const int x = cx + dx, y = cy + dy;
                if (x < 0 || y < 0 || x >= image.width || y >= image.height) continue;
                uint8_t* p = &image.pixels[(static_cast<size_t>(y) * image.width + x) * 3];
                p[0] = rgb[0];
                p[1] = rgb[1];
                p[2] = rgb[2];
            }
    }
}
}  // namespace

ImageU8 renderPointCloud(const torch::Tensor& points, const torch::Tensor& reference, int size) {
    if (points.dim() != 2 || points.size(1) < 2)
        throw Error("renderPointCloud: expected N×D points with D >= 2, got " + c10::str(points.sizes()));
    if (size < 16) throw Error("renderPointCloud: image size must be >= 16");
    auto pts = points.detach().to(torch::kCPU, torch::kFloat).narrow(1, 0, 2).contiguous();
    torch::Tensor ref;
    if (reference.defined() && reference.numel() > 0)
        ref = reference.detach().to(torch::kCPU, torch::kFloat).narrow(1, 0, 2).contiguous();
    const torch::Tensor& frame = ref.defined() ? ref : pts;
    auto finite = frame.index({torch::isfinite(frame).all(1)});
    double xmin = -1, xmax = 1, ymin = -1, ymax = 1;
    if (finite.size(0) > 0) {
        xmin = finite.select(1, 0).min().item<double>();
        xmax = finite.select(1, 0).max().item<double>();
        ymin = finite.select(1, 1).min().item<double>();
        ymax = finite.select(1, 1).max().item<double>();
    }
    const double span = std::max({xmax - xmin, ymax - ymin, 1e-6}) * 1.2;
    const double x0 = 0.5 * (xmin + xmax) - 0.5 * span, y0 = 0.5 * (ymin + ymax) - 0.5 * span;
    const double scale = (size - 1) / span;

    ImageU8 image;
    image.width = image.height = size;
    image.channels = 3;
    image.pixels.assign(static_cast<size_t>(size) * size * 3, 255);
    const uint8_t lightBlue[3] = {160, 190, 230}, darkRed[3] = {170, 20, 20};
    if (ref.defined()) drawDots(image, ref, x0, y0, scale, lightBlue, 1);
    drawDots(image, pts, x0, y0, scale, darkRed, 1);
    return image;
}

}  // namespace coalesce
