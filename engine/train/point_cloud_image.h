// Preview images for the 2-D toy mode: a scatter plot of generated points over the target data, the
// toy-mode counterpart of an image sample grid (same observer.onImage("samples", ...) channel).
#pragma once
#include <torch/types.h>

#include "core/job.h"

namespace coalesce {

// points: N×D, reference: M×D or undefined (D >= 2; the first two coordinates are drawn). The view is
// the reference's bounding box (the points' if no reference) with a 10% margin, square, y up.
// White background, reference in light blue, points in dark red. RGB, size×size pixels.
ImageU8 renderPointCloud(const torch::Tensor& points, const torch::Tensor& reference, int size = 256);

}  // namespace coalesce
