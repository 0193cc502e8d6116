// Job kinds "evaluate" (score a generator file under an evaluation protocol) and "evaluator-train"
// (train and cache the feature network behind FID/KID/precision/recall).
//
// evaluate:
//   {"kind": "evaluate", "generator": "G.coalesce" (any format io/model_files.h reads), "protocol": {EvaluationProtocol JSON, optional},
//    "output": "metrics.json" (optional, written atomically), "cache_dir": "" (feature-net cache),
//    "retrain_feature_net": false, "runtime": {"threads": 0, "device": "auto"}, "run_dir": optional,
//    "resume": re-run an unfinished run_dir}
//   Summary = {"protocol", "reference", "feature_net", "generator", "metrics", "seconds"}; every metric
//   is also reported as "eval/<name>" at step 0.
// evaluator-train:
//   {"kind": "evaluator-train", "data": "fashion-mnist:train", "test_data": "" (derived for IDX sets),
//    "channels": 1, "training": {"epochs": 6, "batch_size": 128, "learning_rate": 0.001, "seed": 0},
//    "cache_dir": "", "retrain": false, "runtime": {...}, "run_dir": optional}
//   Summary = the feature net's info (path, test_accuracy, train_seconds, ...).
#include <memory>

#include "core/error.h"
#include "core/runtime.h"
#include "io/model_files.h"
#include "jobs/job_factory.h"
#include "metrics/evaluator.h"
#include "metrics/feature_net.h"
#include "jobs/one_shot_job.h"

namespace coalesce {

namespace {

class EvaluateJob : public Job {
public:
    explicit EvaluateJob(const Json& config) : config_(config) {
        requireKnownOneShotKeys(config, {"generator", "protocol", "output", "cache_dir", "retrain_feature_net"});
        generatorPath_ = optionalString(config, "generator");
        if (generatorPath_.empty()) throw Error("evaluate job config: \"generator\" (a .coalesce file) is required");
        protocol_ = EvaluationProtocol::fromJson(config.value("protocol", Json::object()));
        options_.cacheDir = optionalString(config, "cache_dir");
        options_.retrainFeatureNet = optionalBool(config, "retrain_feature_net");
        output_ = optionalString(config, "output");
        runtime_ = oneShotRuntimeOptions(config);
    }
    std::string kind() const override { return "evaluate"; }

    JobResult run(JobObserver& observer, CancelToken& cancel) override {
        auto result = runOneShotJob(config_, observer, [&](JobObserver& obs) {
            configureThreads(runtime_.threads);
            const auto device = resolveDevice(runtime_.device);
            options_.device = device.str();
            auto loaded = loadGeneratorFile(generatorPath_);  // any supported format, recognised by content
            Generator generator = loaded.generator;
            generator->to(device);
            obs.onProgress(0, 1, "evaluate");
            Json summary = evaluateGenerator(generator, protocol_, options_, &obs, &cancel, generatorPath_);
            summary["generator_format"] = modelFileFormatName(loaded.format);
            for (const auto& [name, value] : summary["metrics"].items()) obs.onMetric("eval/" + name, 0, value.get<double>());
            obs.onProgress(1, 1, "evaluate");
            if (!output_.empty()) writeFileAtomically(output_, summary.dump(2) + "\n");
            return summary;
        });
        if (result.status == JobResult::Status::Finished)
            result.message = "evaluated " + generatorPath_ + ": FID " + std::to_string(result.summary["metrics"]["fid"].get<double>());
        return result;
    }

private:
    Json config_;
    std::string generatorPath_, output_;
    EvaluationProtocol protocol_;
    EvaluatorOptions options_;
    RuntimeOptions runtime_;
};

class EvaluatorTrainJob : public Job {
public:
    explicit EvaluatorTrainJob(const Json& config) : config_(config) {
        requireKnownOneShotKeys(config, {"data", "test_data", "channels", "image_size", "training", "cache_dir", "retrain"});
        const std::string data = optionalString(config, "data");
        if (!data.empty()) request_.trainData = data;
        request_.testData = optionalString(config, "test_data");
        if (config.contains("channels")) {
            if (!config["channels"].is_number_integer() || (config["channels"] != 1 && config["channels"] != 3))
                throw Error("evaluator-train job config: \"channels\" must be 1 or 3");
            request_.channels = config["channels"].get<int>();
        }
        if (config.contains("image_size")) {
            if (!config["image_size"].is_number_integer() || (config["image_size"] != 32 && config["image_size"] != 64))
                throw Error("evaluator-train job config: \"image_size\" must be 32 or 64 (the generators' sizes)");
            request_.imageSize = config["image_size"].get<int>();
        }
        if (config.contains("training")) request_.training = FeatureNetTraining::fromJson(config["training"]);
        request_.cacheDir = optionalString(config, "cache_dir");
        retrain_ = optionalBool(config, "retrain");
        runtime_ = oneShotRuntimeOptions(config);
    }
    std::string kind() const override { return "evaluator-train"; }

    JobResult run(JobObserver& observer, CancelToken& cancel) override {
        auto result = runOneShotJob(config_, observer, [&](JobObserver& obs) {
            configureThreads(runtime_.threads);
            request_.device = resolveDevice(runtime_.device).str();
            auto net = obtainFeatureNet(request_, &obs, &cancel, retrain_);
            return net.info;
        });
        if (result.status == JobResult::Status::Finished) {
            result.message = "feature net " + result.summary.value("path", std::string());
            if (result.summary.contains("test_accuracy"))
                result.message += ", test accuracy " + std::to_string(result.summary["test_accuracy"].get<double>());
        }
        return result;
    }

private:
    Json config_;
    FeatureNetRequest request_;
    bool retrain_ = false;
    RuntimeOptions runtime_;
};

}  // namespace

std::unique_ptr<Job> makeEvaluateJob(const Json& config) { return std::make_unique<EvaluateJob>(config); }
std::unique_ptr<Job> makeEvaluatorTrainJob(const Json& config) { return std::make_unique<EvaluatorTrainJob>(config); }

}  // namespace coalesce
