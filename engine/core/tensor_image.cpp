#include "core/tensor_image.h"

#include <cmath>

#include <torch/torch.h>

#include "core/error.h"

namespace coalesce {

ImageU8 tensorToImage(const torch::Tensor& image) {
    if (image.dim() != 3) throw Error("tensorToImage: expected C×H×W, got " + std::to_string(image.dim()) + " dims");
    auto u8 = ((image.detach().to(torch::kCPU, torch::kFloat) + 1.0) * 127.5)
                  .round().clamp(0, 255).to(torch::kUInt8).permute({1, 2, 0}).contiguous();
    ImageU8 out;
    out.channels = static_cast<int>(image.size(0));
    out.height = static_cast<int>(image.size(1));
    out.width = static_cast<int>(image.size(2));
    out.pixels.assign(u8.data_ptr<std::uint8_t>(), u8.data_ptr<std::uint8_t>() + u8.numel());
    return out;
}

ImageU8 tensorToGrid(const torch::Tensor& batch, int columns, int padding) {
    if (batch.dim() != 4) throw Error("tensorToGrid: expected N×C×H×W, got " + std::to_string(batch.dim()) + " dims");
    const int64_t n = batch.size(0), c = batch.size(1), h = batch.size(2), w = batch.size(3);
    if (n == 0) throw Error("tensorToGrid: empty batch");
    if (columns <= 0) columns = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
    const int64_t rows = (n + columns - 1) / columns;
    const int64_t gh = rows * h + (rows + 1) * padding, gw = columns * w + (columns + 1) * padding;
    auto grid = torch::zeros({c, gh, gw});  // 0 = mid-gray in [-1, 1]
    auto cpu = batch.detach().to(torch::kCPU, torch::kFloat);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t r = i / columns, col = i % columns;
        const int64_t y = padding + r * (h + padding), x = padding + col * (w + padding);
        grid.slice(1, y, y + h).slice(2, x, x + w).copy_(cpu[i]);
    }
    return tensorToImage(grid);
}

torch::Tensor imageToTensor(const ImageU8& image) {
    if (image.width <= 0 || image.height <= 0 || (image.channels != 1 && image.channels != 3) ||
        image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels)
        throw Error("imageToTensor: inconsistent image buffer");
    auto t = torch::from_blob(const_cast<std::uint8_t*>(image.pixels.data()),
                              {image.height, image.width, image.channels}, torch::kUInt8)
                 .permute({2, 0, 1}).to(torch::kFloat);
    return (t - 127.5) / 127.5;
}

}  // namespace coalesce
