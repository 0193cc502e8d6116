// Trust radii from the local data ("radii": "auto", METHOD.md stage 1; users do not know η_k).
// η_k is how far source k is from the n samples the edge node holds: the exact W1 (metrics/
// optimal_transport.h) between the n local samples and m samples of generator k, in the feature space
// of the project's classifier (the FID/KID features; "features") or between raw pixels ("pixels").
// 2-D points are always compared as they are. Its uncertainty is a bootstrap over the local samples
// (n drawn with replacement, B times): the standard deviation and a 90% interval of those W1 values.
// The weights then follow λ_k ∝ η_k^−power (power 1 = METHOD.md's λ ∝ 1/η), or the constrained mode
// starts from there with these η_k as its radii.
//
// The local data can be a source too (stage 2: the barycenter and the n samples, "lambda_barycenter":
// "auto"). Its radius is how far the n samples themselves may be from the distribution they were drawn
// from: by the bootstrap principle, W1(P_n, P) is distributed like W1(P_n*, P_n) for a resample P_n*, so
// η_local = the mean of W1(P_n*, P_n) over the B resamples (sd and interval from the same replicates).
// It shrinks as n grows, so the local samples are trusted more and the barycenter's anchor weakens; a
// barycenter far from the samples (a target class no source has) gets a large η and a weak anchor too.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/job.h"
#include "models/networks.h"
#include "train/training_config.h"

namespace coalesce {

struct RadiusEstimationOptions {
    std::string data;             // the local data (dataset spec), required
    int64_t k = 0;                // k-shot subset of it (0 = all), drawn with kSeed as stage 2 draws it
    uint64_t kSeed = 1;
    std::string space = "features";  // "features" | "pixels"
    int64_t sourceSamples = 500;  // m samples per source
    int bootstrap = 100;          // B resamples of the local samples (0 = no uncertainty)
    double power = 1.0;           // λ_k ∝ η_k^−power
    // "power": "auto": `power` (1) when the coverage check below finds the regime "blend" or "unclear",
    // `nearestPower` when it finds "nearest" (the validated disjoint setting: the nearer source takes ~98%).
    bool autoPower = false;
    double nearestPower = 16.0;
    uint64_t seed = 0;            // source samples and bootstrap draws
    std::string featureNetData;   // "" = the local data's full training split (fashion-mnist/mnist)
    std::string cacheDir;         // feature-net cache ("" = the default)

    nlohmann::json toJson() const;
};

// Reads "radius_estimation" {data, k, k_seed, space, source_samples, bootstrap, power (a number or "auto"),
// nearest_power, seed, feature_net_data, cache_dir}; Error naming the field. `localSource`: the config's data source (its data,
// k, k_seed are the defaults and must not be contradicted); without one, data is required.
struct LocalSample {
    std::string data;
    int64_t k = 0;
    uint64_t kSeed = 1;
};
RadiusEstimationOptions readRadiusEstimation(const ConfigReader& reader, const LocalSample* localSource = nullptr);

// Which regime the local data is in: could a blend of the sources explain the n local samples better than
// the nearest source alone? The blend is the λ ∝ 1/η mixture of the sources' own samples (round(λ_k·m) of
// source k's m samples): for two sources with equal λ any such mixture is itself a W1 barycenter (mixtures
// are W1 geodesics), so it is the cheapest proxy for what stage 1 would build. gain = η_nearest − W1(local,
// blend), its uncertainty a bootstrap over the local samples (the same resampled rows for both: paired)
// and over the source samples (each side's columns on their own: they are a finite draw too).
//   "blend"   the 90% interval of gain is above 0: the sources together cover the target (overlapping or
//             same-distribution protocols), the case the barycenter is made for;
//   "nearest" it is below 0: the nearest source alone is closer than any blend (a target class no source
//             has, the disjoint protocol); coalescence can at best fall back to fine-tuning that source;
//   "unclear" otherwise.
struct CoverageCheck {
    size_t nearest = 0;      // index of the source with the smallest η
    double nearestEta = 0;   // W1(local, that source)
    double blendEta = 0;     // W1(local, the λ ∝ 1/η blend of all generator sources)
    double gain = 0;         // nearestEta − blendEta
    double gainLow = 0;      // bootstrap 5th and 95th percentiles of gain
    double gainHigh = 0;
    std::string regime;      // "blend" | "nearest" | "unclear"
    nlohmann::json toJson() const;
    std::string describe(const std::vector<std::string>& names) const;  // one log line
};

// The power λ_k ∝ η_k^−power uses: options.power, or with "auto" the one for the check's regime.
double powerForRegime(const RadiusEstimationOptions& options, const CoverageCheck& coverage);

struct RadiusEstimate {
    double eta = 0;     // W1(local, source) on all n local samples
    double stddev = 0;  // bootstrap standard deviation
    double low = 0;     // bootstrap 5th and 95th percentiles
    double high = 0;
    nlohmann::json toJson() const { return {{"eta", eta}, {"stddev", stddev}, {"low", low}, {"high", high}}; }
};

// How a source is sampled for the estimate: n samples (CPU, in the local data's sample shape) from the
// given random stream. An empty drawer stands for the local data itself (its sampling radius, above).
// Generators, pooled or not, and black boxes (train/black_box_source.h) all become drawers.
using SourceDrawer = std::function<torch::Tensor(int64_t n, at::Generator& rng)>;
// A frozen generator's drawer (a CPU copy in eval mode); a null Generator gives an empty drawer.
SourceDrawer drawerOf(const Generator& generator);

// η_k for each source against `local` (N×… samples in the sources' sample space). `embed` maps samples to
// the comparison space (identity for pixels/points; the feature net for "features").
// `coverage`, if given, receives the coverage check when at least two sources are generators (else regime "").
std::vector<RadiusEstimate> estimateRadii(const std::vector<SourceDrawer>& sources, const torch::Tensor& local,
                                          const std::function<torch::Tensor(const torch::Tensor&)>& embed,
                                          const RadiusEstimationOptions& options, CancelToken* cancel = nullptr,
                                          CoverageCheck* coverage = nullptr);
std::vector<RadiusEstimate> estimateRadii(const std::vector<Generator>& sources, const torch::Tensor& local,
                                          const std::function<torch::Tensor(const torch::Tensor&)>& embed,
                                          const RadiusEstimationOptions& options, CancelToken* cancel = nullptr);

// The whole step as jobs run it: loads the local data (channels of the generators), the feature net if
// needed (trained and cached on first use), estimates, and logs one line per source.
// `sampleShape`: what the sources draw ({C, S, S} or {D}); the local data is loaded in that shape.
std::vector<RadiusEstimate> estimateRadiiForSources(const std::vector<SourceDrawer>& sources,
                                                    const std::vector<int64_t>& sampleShape,
                                                    const std::vector<std::string>& names,
                                                    const RadiusEstimationOptions& options, JobObserver& observer,
                                                    CancelToken& cancel, CoverageCheck* coverage = nullptr);
// The same with generators (a null one = the local data); the shape is the first generator's.
std::vector<RadiusEstimate> estimateRadiiForSources(const std::vector<Generator>& sources,
                                                    const std::vector<std::string>& names,
                                                    const RadiusEstimationOptions& options, JobObserver& observer,
                                                    CancelToken& cancel, CoverageCheck* coverage = nullptr);

}  // namespace coalesce
