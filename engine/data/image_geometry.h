// The one rule that brings an H×W image to the training size S×S (documented in data/README.md),
// shared by the IDX and the image-folder loaders:
//   * H = W = S:      unchanged;
//   * H = W = S − 4:  padded by 2 px per side with background −1 (pixel 0), no resampling — the
//                     MNIST / Fashion-MNIST convention 28×28 → 32×32;
//   * otherwise:      scaled (aspect ratio kept) so the shorter side is S, area-averaging when
//                     shrinking and bilinear when enlarging, then the longer side is centre-cropped.
#pragma once
#include <torch/types.h>

namespace coalesce {

struct FitPlan {
    int padding = 0;        // > 0: pad this many px per side with −1, nothing else
    int scaledWidth = 0;    // resample to scaledWidth × scaledHeight first (equal to the input: no resampling)
    int scaledHeight = 0;
    int cropX = 0;          // then keep S×S starting at (cropX, cropY)
    int cropY = 0;
    bool resamples(int width, int height) const { return scaledWidth != width || scaledHeight != height; }
};

FitPlan planFit(int width, int height, int size);

// Applies planFit to a float batch N×C×H×W in [−1, 1] (used for IDX data, where OpenCV may be absent):
// torch's area interpolation when shrinking, bilinear (half-pixel centres, like OpenCV) when enlarging.
torch::Tensor fitBatch(const torch::Tensor& batch, int size);

}  // namespace coalesce
