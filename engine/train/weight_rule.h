// The one rule from trust radii to barycenter weights, and the recursive mode's merge order
// (METHOD.md, "fixed" weights and "recursive"), shared by the engine's jobs and the workbench's
// Sources dock so that what the dock shows is what a run uses. Torch-free.
#pragma once
#include <cstddef>
#include <vector>

namespace coalesce {

// λ_k ∝ η_k^−power over the enabled sources (enabled[k] false, or `enabled` shorter than k: see below),
// normalised to Σ λ = 1; a disabled source gets λ_k = 0, and all are 0 if none is enabled. power 1 is
// METHOD.md's λ ∝ 1/η: a small radius (high trust) means a large weight. An enabled source's η must be
// finite and > 0 (Error naming the value). `enabled` empty = all enabled.
std::vector<double> lambdasFromRadii(const std::vector<double>& radii, double power = 1.0,
                                     const std::vector<bool>& enabled = {});

// Recursive mode merges the sources in descending λ; equal weights keep the list order (stable), so
// the order of the sources decides among ties.
std::vector<std::size_t> mergeOrder(const std::vector<double>& lambdas);

}  // namespace coalesce
