// Scores a generator under an EvaluationProtocol: FID, KID ± standard error, exact W1 (data space and
// feature space), sliced W1, precision/recall and diversity, all as one flat JSON object of numbers so
// training jobs can log them as live metrics ("eval/fid", ...). The expensive parts that do not depend
// on the generator (reference set, feature net, reference features) are prepared once in the
// constructor; evaluate() then takes about a second for 1000 vs 1000 on 2 CPU cores (bench_metrics).
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/job.h"
#include "metrics/evaluation_protocol.h"
#include "metrics/feature_net.h"
#include "models/networks.h"

namespace coalesce {

struct EvaluatorOptions {
    std::string cacheDir;          // feature-net cache; "" = defaultFeatureNetCacheDir()
    std::string device = "cpu";    // where the feature net runs (and trains, on a cache miss)
    bool retrainFeatureNet = false;
};

struct EvaluationResult {
    // Image generators: fid, kid, kid_se, w1 (pixels), w1_features, sliced_w1 (pixels), precision,
    // recall, diversity, diversity_reference. Point generators ("raw" features): the same without
    // w1_features (the features are the points). Metrics a protocol switches off (w1_samples = 0) are absent.
    std::map<std::string, double> metrics;
    std::map<std::string, double> seconds;  // wall time per stage ("generate", "features", "fid_kid", "w1", ...) and "total"
    nlohmann::json toJson() const;          // {"metrics": {...}, "seconds": {...}}
};

class Evaluator {
public:
    // Loads the reference with the generator's geometry (channels, size), draws the real subset,
    // obtains the feature net (training and caching it on first use) and caches reference features.
    Evaluator(const EvaluationProtocol& protocol, const ArchSpec& arch, const EvaluatorOptions& options = {},
              JobObserver* observer = nullptr, CancelToken* cancel = nullptr);

    // Draws protocol.fakeSamples samples (and the diversity batch) from the protocol's fixed latents,
    // with G in eval mode (its mode is restored afterwards), and scores them.
    EvaluationResult evaluate(Generator& generator);
    // Scores given samples: fake N×... like the reference; diversityBatch may be undefined (then the
    // first diversitySamples fakes are used).
    EvaluationResult evaluateSamples(const torch::Tensor& fake, const torch::Tensor& diversityBatch = {});

    // The fixed latent batch number `stream` (1 = fake samples, 2 = diversity batch): N(0, I) values
    // from SplitMix64, identical on every machine and LibTorch version.
    torch::Tensor fixedLatents(int64_t count, uint64_t stream) const;

    const EvaluationProtocol& protocol() const { return protocol_; }
    bool usesFeatureNet() const { return useFeatureNet_; }
    const torch::Tensor& referenceSamples() const { return realSamples_; }
    // {"protocol", "reference": {"name", "hash", "samples"}, "feature_net": info or "raw"}.
    nlohmann::json describe() const;

private:
    torch::Tensor featuresOf(const torch::Tensor& samples);
    torch::Tensor generate(Generator& generator, const torch::Tensor& latents);

    EvaluationProtocol protocol_;
    ArchSpec arch_;
    bool useFeatureNet_ = false;
    TrainedFeatureNet featureNet_;
    torch::Tensor realSamples_;   // CPU float N×... (N = realSamples)
    torch::Tensor realFeatures_;  // CPU float N×F
    double referenceDiversity_ = 0.0;
    nlohmann::json reference_;
};

// Convenience for the "evaluate" job and the CLI: full result JSON
// {"protocol", "reference", "feature_net", "generator": generatorName, "metrics", "seconds"}.
nlohmann::json evaluateGenerator(Generator& generator, const EvaluationProtocol& protocol,
                                 const EvaluatorOptions& options = {}, JobObserver* observer = nullptr,
                                 CancelToken* cancel = nullptr, const std::string& generatorName = "");

}  // namespace coalesce
