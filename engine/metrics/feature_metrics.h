// Sample-quality statistics computed on feature vectors (rows of an N×F matrix; images may be passed
// flattened or as N×C×H×W): FID, KID, k-NN precision/recall and mean pairwise distance. All arithmetic
// is float64 on the CPU; bad input (empty, NaN/Inf, mismatched widths, too few rows) is a coalesce::Error.
#pragma once
#include <cstdint>

#include <torch/types.h>

namespace coalesce {

// ---- FID -------------------------------------------------------------------------------------------
struct GaussianStatistics {
    torch::Tensor mean;        // F, float64
    torch::Tensor covariance;  // F×F, float64, unbiased (divides by N − 1)
    int64_t count = 0;
};
// Needs at least 2 samples.
GaussianStatistics gaussianStatistics(const torch::Tensor& features, const char* what = "features");

// Fréchet distance ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^{1/2}). The trace of the square root is taken as
// Tr((√Σ₁ Σ₂ √Σ₁)^{1/2}): both matrices are symmetric PSD, so symmetric eigen-decompositions (negative
// round-off eigenvalues clamped to 0) replace the unstable general sqrtm and no imaginary parts appear.
double frechetDistance(const GaussianStatistics& a, const GaussianStatistics& b);
double frechetDistance(const torch::Tensor& featuresA, const torch::Tensor& featuresB);

// ---- KID -------------------------------------------------------------------------------------------
struct KidOptions {
    int subsets = 10;  // both sets are shuffled (seeded) and cut into this many disjoint blocks
    uint64_t seed = 0;
};
struct KidResult {
    double mean = 0.0;           // mean over blocks of the unbiased MMD² estimate
    double standardError = 0.0;  // sample std of the block estimates / √subsets (blocks are independent)
    int subsets = 0;
};
// Unbiased MMD² with the cubic polynomial kernel k(x, y) = (x·y / F + 1)³ (Bińkowski et al. 2018),
// estimated on disjoint blocks so that its standard error is honest. Each block needs ≥ 2 rows of each
// set, i.e. both sets need at least 2·subsets samples.
KidResult kernelInceptionDistance(const torch::Tensor& featuresA, const torch::Tensor& featuresB,
                                  const KidOptions& options = {});
// The unbiased MMD² estimate on all the given rows (one block).
double unbiasedMmdSquared(const torch::Tensor& featuresA, const torch::Tensor& featuresB);

// ---- Precision / recall ------------------------------------------------------------------------------
struct PrecisionRecall {
    double precision = 0.0;  // share of fake samples inside the real k-NN manifold
    double recall = 0.0;     // share of real samples inside the fake k-NN manifold
};
// Kynkäänniemi et al. 2019: the manifold of a set is the union of balls around each of its samples with
// radius = distance to its k-th nearest neighbour in the same set. Each set needs more than k samples.
PrecisionRecall precisionRecall(const torch::Tensor& realFeatures, const torch::Tensor& fakeFeatures, int k = 3);

// ---- Diversity ---------------------------------------------------------------------------------------
// Mean Euclidean distance over all unordered pairs of rows (needs ≥ 2 rows). Falls when G mode-collapses.
double meanPairwiseDistance(const torch::Tensor& features);

}  // namespace coalesce
