#include "metrics/evaluation_protocol.h"

#include <algorithm>

#include "core/error.h"
#include "data/spec_text.h"

namespace coalesce {

using nlohmann::json;

json EvaluationProtocol::toJson() const {
    return {{"reference", reference},
            {"real_samples", realSamples},
            {"fake_samples", fakeSamples},
            {"seed", seed},
            {"w1_samples", w1Samples},
            {"sliced_projections", slicedProjections},
            {"kid_subsets", kidSubsets},
            {"pr_k", precisionRecallK},
            {"diversity_samples", diversitySamples},
            {"features", features},
            {"feature_net_data", featureNetData},
            {"feature_net_training", featureNetTraining.toJson()}};
}

namespace {

int64_t integerField(const json& j, const char* key, int64_t fallback, int64_t minimum) {
    if (!j.contains(key)) return fallback;
    const auto& v = j[key];
    if (!v.is_number_integer() || v.get<int64_t>() < minimum)
        throw Error(std::string("evaluation protocol: \"") + key + "\" must be an integer >= " + std::to_string(minimum) +
                    ", got " + v.dump());
    return v.get<int64_t>();
}

std::string stringField(const json& j, const char* key, const std::string& fallback) {
    if (!j.contains(key)) return fallback;
    if (!j[key].is_string())
        throw Error(std::string("evaluation protocol: \"") + key + "\" must be a string, got " + j[key].dump());
    return j[key].get<std::string>();
}

}  // namespace

EvaluationProtocol EvaluationProtocol::fromJson(const json& j) {
    if (!j.is_object()) throw Error("evaluation protocol: expected a JSON object, got " + j.dump());
    static const char* known[] = {"reference", "real_samples", "fake_samples", "seed", "w1_samples",
                                  "sliced_projections", "kid_subsets", "pr_k", "diversity_samples", "features",
                                  "feature_net_data", "feature_net_training"};
    for (const auto& item : j.items()) {
        bool ok = false;
        for (const char* k : known) ok = ok || item.key() == k;
        if (!ok) throw Error("evaluation protocol: unknown field \"" + item.key() + "\"");
    }
    EvaluationProtocol p;
    p.reference = stringField(j, "reference", p.reference);
    if (p.reference.empty()) throw Error("evaluation protocol: \"reference\" must name a dataset, e.g. fashion-mnist:test:8,9");
    p.realSamples = integerField(j, "real_samples", p.realSamples, 2);
    p.fakeSamples = integerField(j, "fake_samples", p.fakeSamples, 2);
    p.seed = static_cast<uint64_t>(integerField(j, "seed", static_cast<int64_t>(p.seed), 0));
    p.w1Samples = integerField(j, "w1_samples", p.w1Samples, 0);  // 0 = skip exact W1
    p.slicedProjections = static_cast<int>(integerField(j, "sliced_projections", p.slicedProjections, 1));
    p.kidSubsets = static_cast<int>(integerField(j, "kid_subsets", p.kidSubsets, 2));
    p.precisionRecallK = static_cast<int>(integerField(j, "pr_k", p.precisionRecallK, 1));
    p.diversitySamples = integerField(j, "diversity_samples", p.diversitySamples, 2);
    p.features = stringField(j, "features", p.features);
    if (p.features != "auto" && p.features != "classifier" && p.features != "raw")
        throw Error("evaluation protocol: \"features\" must be auto, classifier or raw, got \"" + p.features + "\"");
    p.featureNetData = stringField(j, "feature_net_data", p.featureNetData);
    if (j.contains("feature_net_training")) {
        try {
            p.featureNetTraining = FeatureNetTraining::fromJson(j["feature_net_training"]);
        } catch (const Error& e) {
            throw Error(std::string("evaluation protocol: ") + e.what());
        }
    }
    // Sample counts that the metrics need, checked here so a bad protocol fails before any work.
    const int64_t smallest = std::min(p.realSamples, p.fakeSamples);
    if (smallest < 2 * p.kidSubsets)
        throw Error("evaluation protocol: real_samples and fake_samples must be >= 2 × kid_subsets (" +
                    std::to_string(2 * p.kidSubsets) + ")");
    if (smallest <= p.precisionRecallK)
        throw Error("evaluation protocol: real_samples and fake_samples must exceed pr_k (" +
                    std::to_string(p.precisionRecallK) + ")");
    return p;
}

std::string EvaluationProtocol::featureNetTrainingData() const {
    if (!featureNetData.empty()) return featureNetData;
    // "fashion-mnist:test:8,9" → "fashion-mnist:train": the feature net sees every class of the
    // training split, never the held-out reference images.
    const std::string dataset = unsplitSpec(reference);  // a split's part: the dataset it was split from
    const std::string family = dataset.substr(0, dataset.find(':'));
    if (family == "fashion-mnist" || family == "mnist") return family + ":train";
    throw Error("evaluation protocol: \"feature_net_data\" is needed for reference \"" + reference +
                "\" (the dataset whose full training split the feature net learns, e.g. folder:/data/train; "
                "--feature-net-data on the command line; radii can also be measured in pixels)");
}

}  // namespace coalesce
