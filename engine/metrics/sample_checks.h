// Input validation shared by every metric: sample sets arrive as tensors (N×D points, N×C×H×W images,
// or N×F features) and leave as contiguous CPU float64 N×D matrices, or a coalesce::Error that names
// the set and the problem ("fake samples: 3 rows contain NaN or Inf").
#pragma once
#include <cstdint>
#include <string>

#include <torch/types.h>

namespace coalesce {

// Flattens every dimension after the first, converts to float64 on the CPU and checks that the set
// is non-empty, has at least one feature and holds only finite values. `what` names the set in errors.
torch::Tensor sampleMatrix(const torch::Tensor& samples, const std::string& what);

// Errors unless both matrices have the same number of columns.
void requireSameDimension(const torch::Tensor& a, const std::string& whatA, const torch::Tensor& b,
                          const std::string& whatB);

// Errors unless the set has at least `minimum` rows (`why` says what needs them, e.g. "k-NN with k=3").
void requireAtLeastRows(const torch::Tensor& a, const std::string& what, int64_t minimum, const std::string& why);

}  // namespace coalesce
