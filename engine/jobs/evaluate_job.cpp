// Job kinds "evaluate" (score a generator file under an evaluation protocol) and "evaluator-train"
// (train and cache the feature network behind FID/KID/precision/recall).
//
// evaluate:
//   {"kind": "evaluate", "generator": "G.coalesce" (any format io/model_files.h reads), "protocol": {EvaluationProtocol JSON, optional},
//    "output": "metrics.json" (optional, written atomically), "cache_dir": "" (feature-net cache),
//    "retrain_feature_net": false, "runtime": {"threads": 0, "device": "auto"}, "run_dir": optional}
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
#include "run/run_directory.h"

namespace coalesce {

namespace {

void requireKnownKeys(const Json& config, std::initializer_list<const char*> known) {
    for (const auto& item : config.items()) {
        bool ok = false;
        for (const char* k : known) ok = ok || item.key() == k;
        if (!ok) throw Error(config["kind"].get<std::string>() + " job config: unknown field \"" + item.key() + "\"");
    }
}

std::string optionalString(const Json& config, const char* key) {
    if (!config.contains(key)) return "";
    if (!config[key].is_string())
        throw Error(config["kind"].get<std::string>() + " job config: \"" + key + "\" must be a string, got " + config[key].dump());
    return config[key].get<std::string>();
}

bool optionalBool(const Json& config, const char* key) {
    if (!config.contains(key)) return false;
    if (!config[key].is_boolean())
        throw Error(config["kind"].get<std::string>() + " job config: \"" + key + "\" must be true or false");
    return config[key].get<bool>();
}

RuntimeOptions runtimeOptions(const Json& config) {
    RuntimeOptions options;
    if (!config.contains("runtime")) return options;
    const auto& r = config["runtime"];
    if (!r.is_object()) throw Error("job config: \"runtime\" must be an object {\"threads\": N, \"device\": \"auto\"}");
    if (r.contains("threads")) {
        if (!r["threads"].is_number_integer()) throw Error("job config: runtime.threads must be an integer");
        options.threads = r["threads"].get<int>();
    }
    if (r.contains("device")) {
        if (!r["device"].is_string()) throw Error("job config: runtime.device must be a string");
        options.device = r["device"].get<std::string>();
    }
    return options;
}

// Runs `body` with the job's observers, turning exceptions into a JobResult.
template <typename Body>
JobResult runGuarded(const Json& config, JobObserver& observer, Body&& body) {
    JobResult result;
    try {
        ObserverFanout fanout;
        fanout.add(&observer);
        std::unique_ptr<RunDirectory> runDir;
        const std::string dir = optionalString(config, "run_dir");
        if (!dir.empty()) {
            runDir = std::make_unique<RunDirectory>(dir, config, false);
            runDir->recordConfig("provenance", provenance());
            fanout.add(runDir.get());
            result.runDir = runDir->path();
        }
        result.summary = body(static_cast<JobObserver&>(fanout));
        if (runDir) runDir->writeSummary(result.summary);
        result.status = JobResult::Status::Finished;
    } catch (const Cancelled&) {
        result.status = JobResult::Status::Cancelled;
        result.message = "cancelled";
        observer.onLog(LogLevel::Warning, "cancelled");
    } catch (const std::exception& e) {
        result.status = JobResult::Status::Failed;
        result.message = e.what();
        observer.onLog(LogLevel::Error, e.what());
    }
    return result;
}

class EvaluateJob : public Job {
public:
    explicit EvaluateJob(const Json& config) : config_(config) {
        requireKnownKeys(config, {"kind", "generator", "protocol", "output", "cache_dir", "retrain_feature_net",
                                  "runtime", "run_dir"});
        generatorPath_ = optionalString(config, "generator");
        if (generatorPath_.empty()) throw Error("evaluate job config: \"generator\" (a .coalesce file) is required");
        protocol_ = EvaluationProtocol::fromJson(config.value("protocol", Json::object()));
        options_.cacheDir = optionalString(config, "cache_dir");
        options_.retrainFeatureNet = optionalBool(config, "retrain_feature_net");
        output_ = optionalString(config, "output");
        runtime_ = runtimeOptions(config);
    }
    std::string kind() const override { return "evaluate"; }

    JobResult run(JobObserver& observer, CancelToken& cancel) override {
        auto result = runGuarded(config_, observer, [&](JobObserver& obs) {
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
        requireKnownKeys(config, {"kind", "data", "test_data", "channels", "training", "cache_dir", "retrain", "runtime",
                                  "run_dir"});
        const std::string data = optionalString(config, "data");
        if (!data.empty()) request_.trainData = data;
        request_.testData = optionalString(config, "test_data");
        if (config.contains("channels")) {
            if (!config["channels"].is_number_integer() || (config["channels"] != 1 && config["channels"] != 3))
                throw Error("evaluator-train job config: \"channels\" must be 1 or 3");
            request_.channels = config["channels"].get<int>();
        }
        if (config.contains("training")) request_.training = FeatureNetTraining::fromJson(config["training"]);
        request_.cacheDir = optionalString(config, "cache_dir");
        retrain_ = optionalBool(config, "retrain");
        runtime_ = runtimeOptions(config);
    }
    std::string kind() const override { return "evaluator-train"; }

    JobResult run(JobObserver& observer, CancelToken& cancel) override {
        auto result = runGuarded(config_, observer, [&](JobObserver& obs) {
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
