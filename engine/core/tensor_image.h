// Conversions between image tensors in [-1, 1] and 8-bit images (for PNG grids and previews).
#pragma once
#include <torch/types.h>

#include "core/job.h"

namespace coalesce {

// batch: N×C×H×W (C = 1 or 3) in [-1, 1], any device. Tiles row-major into `columns` columns
// (0 = ceil(sqrt(N))) with `padding` pixels of mid-gray between tiles.
ImageU8 tensorToGrid(const torch::Tensor& batch, int columns = 0, int padding = 2);
// One image C×H×W in [-1, 1] → ImageU8 (pixel = round((x + 1) * 127.5), clamped).
ImageU8 tensorToImage(const torch::Tensor& image);
// ImageU8 → float C×H×W in [-1, 1] ((p − 127.5) / 127.5, the reference's scaling).
torch::Tensor imageToTensor(const ImageU8& image);

}  // namespace coalesce
