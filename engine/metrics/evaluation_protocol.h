// The evaluation protocol: everything that fixes how a generator is scored, so numbers from different
// runs are comparable. It is JSON (recorded in each run's config.json under "evaluation"):
//   {"reference": "fashion-mnist:test:8,9", "real_samples": 1000, "fake_samples": 1000, "seed": 0,
//    "w1_samples": 1000, "sliced_projections": 256, "kid_subsets": 10, "pr_k": 3,
//    "diversity_samples": 100, "features": "auto", "feature_net_data": "",
//    "feature_net_training": {"epochs": 6, "batch_size": 128, "learning_rate": 0.001, "seed": 0}}
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "metrics/feature_net.h"

namespace coalesce {

struct EvaluationProtocol {
    std::string reference = "fashion-mnist:test:8,9";  // held-out real samples (dataset spec)
    int64_t realSamples = 1000;      // drawn once from the reference without replacement (seed)
    int64_t fakeSamples = 1000;      // generated from fixed latents (seed)
    uint64_t seed = 0;               // real subset, latents, KID blocks, sliced directions
    int64_t w1Samples = 1000;        // exact W1 uses the first w1Samples real and fake samples
    int slicedProjections = 256;
    int kidSubsets = 10;
    int precisionRecallK = 3;
    int64_t diversitySamples = 100;  // a fixed latent batch whose feature spread is the diversity score
    // "classifier": the trained feature net (images); "raw": the samples themselves (toy points);
    // "auto": classifier for images, raw for points.
    std::string features = "auto";
    std::string featureNetData;      // "" = the reference's training split ("fashion-mnist:train")
    FeatureNetTraining featureNetTraining;

    nlohmann::json toJson() const;
    // Missing fields keep their defaults; unknown fields and bad values are Errors naming the field.
    static EvaluationProtocol fromJson(const nlohmann::json& j);
    // featureNetData, or the training split derived from the reference; Error if there is none.
    std::string featureNetTrainingData() const;
};

}  // namespace coalesce
