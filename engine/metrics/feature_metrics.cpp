#include "metrics/feature_metrics.h"

#include <cmath>
#include <limits>
#include <string>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "core/error.h"
#include "metrics/sample_checks.h"

namespace coalesce {

// ---- FID -------------------------------------------------------------------------------------------

GaussianStatistics gaussianStatistics(const torch::Tensor& features, const char* what) {
    auto x = sampleMatrix(features, std::string("FID ") + what);
    requireAtLeastRows(x, std::string("FID ") + what, 2, "a covariance estimate");
    GaussianStatistics s;
    s.count = x.size(0);
    s.mean = x.mean(0);
    auto centered = x - s.mean;
    s.covariance = torch::matmul(centered.t(), centered) / static_cast<double>(s.count - 1);
    return s;
}

namespace {

torch::Tensor symmetric(const torch::Tensor& m) { return (m + m.t()) * 0.5; }

// √M of a symmetric PSD matrix by eigen-decomposition; round-off negative eigenvalues become 0.
torch::Tensor sqrtPsd(const torch::Tensor& m) {
    auto [values, vectors] = torch::linalg_eigh(symmetric(m));
    return torch::matmul(vectors * values.clamp_min(0.0).sqrt().unsqueeze(0), vectors.t());
}

void requireStatistics(const GaussianStatistics& s, const char* which) {
    if (!s.mean.defined() || !s.covariance.defined() || s.mean.dim() != 1 || s.covariance.dim() != 2 ||
        s.covariance.size(0) != s.mean.size(0) || s.covariance.size(1) != s.mean.size(0))
        throw Error(std::string("FID: the ") + which + " statistics are malformed (need a mean vector F and an F×F covariance)");
    if (!torch::isfinite(s.mean).all().item<bool>() || !torch::isfinite(s.covariance).all().item<bool>())
        throw Error(std::string("FID: the ") + which + " statistics contain NaN or Inf");
}

}  // namespace

double frechetDistance(const GaussianStatistics& a, const GaussianStatistics& b) {
    requireStatistics(a, "first");
    requireStatistics(b, "second");
    if (a.mean.size(0) != b.mean.size(0))
        throw Error("FID: the two feature sets have different dimensions (" + std::to_string(a.mean.size(0)) +
                    " vs " + std::to_string(b.mean.size(0)) + ")");
    auto mu1 = a.mean.to(torch::kDouble), mu2 = b.mean.to(torch::kDouble);
    auto s1 = a.covariance.to(torch::kDouble), s2 = b.covariance.to(torch::kDouble);
    auto root1 = sqrtPsd(s1);
    auto inner = symmetric(torch::matmul(torch::matmul(root1, s2), root1));
    const double traceSqrt = torch::linalg_eigvalsh(inner).clamp_min(0.0).sqrt().sum().item<double>();
    const double meanTerm = (mu1 - mu2).pow(2).sum().item<double>();
    const double value = meanTerm + s1.trace().item<double>() + s2.trace().item<double>() - 2.0 * traceSqrt;
    return std::max(0.0, value);  // the true distance is ≥ 0; only round-off goes below
}

double frechetDistance(const torch::Tensor& featuresA, const torch::Tensor& featuresB) {
    return frechetDistance(gaussianStatistics(featuresA, "first set"), gaussianStatistics(featuresB, "second set"));
}

// ---- KID -------------------------------------------------------------------------------------------

namespace {

torch::Tensor cubicKernel(const torch::Tensor& a, const torch::Tensor& b) {
    return (torch::matmul(a, b.t()) / static_cast<double>(a.size(1)) + 1.0).pow(3);
}

// Unbiased MMD² on checked float64 matrices (each with ≥ 2 rows).
double mmdSquaredUnbiased(const torch::Tensor& x, const torch::Tensor& y) {
    const double n = static_cast<double>(x.size(0)), m = static_cast<double>(y.size(0));
    auto kxx = cubicKernel(x, x), kyy = cubicKernel(y, y), kxy = cubicKernel(x, y);
    const double xx = (kxx.sum() - kxx.diagonal().sum()).item<double>() / (n * (n - 1));
    const double yy = (kyy.sum() - kyy.diagonal().sum()).item<double>() / (m * (m - 1));
    const double xy = kxy.sum().item<double>() / (n * m);
    return xx + yy - 2.0 * xy;
}

}  // namespace

double unbiasedMmdSquared(const torch::Tensor& featuresA, const torch::Tensor& featuresB) {
    auto x = sampleMatrix(featuresA, "KID first set");
    auto y = sampleMatrix(featuresB, "KID second set");
    requireSameDimension(x, "KID first set", y, "KID second set");
    requireAtLeastRows(x, "KID first set", 2, "the unbiased MMD estimate");
    requireAtLeastRows(y, "KID second set", 2, "the unbiased MMD estimate");
    return mmdSquaredUnbiased(x, y);
}

KidResult kernelInceptionDistance(const torch::Tensor& featuresA, const torch::Tensor& featuresB,
                                  const KidOptions& options) {
    if (options.subsets < 2)
        throw Error("KID: subsets must be >= 2 to estimate a standard error, got " + std::to_string(options.subsets));
    auto x = sampleMatrix(featuresA, "KID first set");
    auto y = sampleMatrix(featuresB, "KID second set");
    requireSameDimension(x, "KID first set", y, "KID second set");
    const std::string why = "KID with " + std::to_string(options.subsets) + " subsets (2 samples per subset)";
    requireAtLeastRows(x, "KID first set", 2 * options.subsets, why);
    requireAtLeastRows(y, "KID second set", 2 * options.subsets, why);

    auto gen = at::detail::createCPUGenerator(options.seed);
    x = x.index_select(0, torch::randperm(x.size(0), gen, torch::kLong));
    y = y.index_select(0, torch::randperm(y.size(0), gen, torch::kLong));
    const int64_t s = options.subsets, n = x.size(0), m = y.size(0);
    std::vector<double> blocks;
    for (int64_t b = 0; b < s; ++b) {
        auto xb = x.slice(0, b * n / s, (b + 1) * n / s);
        auto yb = y.slice(0, b * m / s, (b + 1) * m / s);
        blocks.push_back(mmdSquaredUnbiased(xb, yb));
    }
    auto t = torch::tensor(blocks, torch::kDouble);
    KidResult r;
    r.subsets = options.subsets;
    r.mean = t.mean().item<double>();
    r.standardError = t.std(/*unbiased=*/true).item<double>() / std::sqrt(static_cast<double>(s));
    return r;
}

// ---- Precision / recall ------------------------------------------------------------------------------

namespace {

constexpr int64_t kRowChunk = 1024;  // bounds the distance matrices held at once (chunk × N float64)

// Distance from each row of x to its k-th nearest other row.
torch::Tensor kthNeighbourRadii(const torch::Tensor& x, int k) {
    std::vector<torch::Tensor> radii;
    for (int64_t start = 0; start < x.size(0); start += kRowChunk) {
        const int64_t end = std::min(x.size(0), start + kRowChunk);
        auto d = torch::cdist(x.slice(0, start, end), x, 2.0, /*compute_mode=*/1);
        auto self = torch::arange(end - start, torch::kLong);
        d.index_put_({self, self + start}, std::numeric_limits<double>::infinity());
        radii.push_back(std::get<0>(d.topk(k, 1, /*largest=*/false, /*sorted=*/true)).select(1, k - 1));
    }
    return torch::cat(radii);
}

// Share of the rows of `queries` that fall inside at least one ball (centres, radii).
double shareInsideManifold(const torch::Tensor& queries, const torch::Tensor& centres, const torch::Tensor& radii) {
    int64_t inside = 0;
    for (int64_t start = 0; start < queries.size(0); start += kRowChunk) {
        const int64_t end = std::min(queries.size(0), start + kRowChunk);
        auto d = torch::cdist(queries.slice(0, start, end), centres, 2.0, /*compute_mode=*/1);
        inside += (d <= radii.unsqueeze(0)).any(1).sum().item<int64_t>();
    }
    return static_cast<double>(inside) / static_cast<double>(queries.size(0));
}

}  // namespace

PrecisionRecall precisionRecall(const torch::Tensor& realFeatures, const torch::Tensor& fakeFeatures, int k) {
    if (k < 1) throw Error("precision/recall: k must be >= 1, got " + std::to_string(k));
    auto real = sampleMatrix(realFeatures, "precision/recall real set");
    auto fake = sampleMatrix(fakeFeatures, "precision/recall fake set");
    requireSameDimension(real, "precision/recall real set", fake, "precision/recall fake set");
    const std::string why = "k-NN with k=" + std::to_string(k);
    requireAtLeastRows(real, "precision/recall real set", k + 1, why);
    requireAtLeastRows(fake, "precision/recall fake set", k + 1, why);
    PrecisionRecall pr;
    pr.precision = shareInsideManifold(fake, real, kthNeighbourRadii(real, k));
    pr.recall = shareInsideManifold(real, fake, kthNeighbourRadii(fake, k));
    return pr;
}

// ---- Diversity ---------------------------------------------------------------------------------------

double meanPairwiseDistance(const torch::Tensor& features) {
    auto x = sampleMatrix(features, "diversity");
    requireAtLeastRows(x, "diversity", 2, "a pairwise distance");
    return torch::pdist(x).mean().item<double>();
}

}  // namespace coalesce
