// Job "barycenter" (METHOD.md stage 1): one generator trained against K critics, critic k on source k.
//
// {"kind": "barycenter",
//  "sources": [{"generator": "runs/a/generator.coalesce", "lambda": 1, "radius": 0.8, "name": "a",
//               "samples": 0},                       (0 = sample online; N = freeze N samples once)
//              {"generator": "runs/b/generator.coalesce"},
//              {"data": "fashion-mnist:train:8,9", "k": 20, "k_seed": 1}],   (any source may be data)
//  "weights": "fixed" | "constrained", "update_every": 10, "step_size": 0.01,
//  "init": "largest" | "average" | "random" | {"generator": "<file>"},
//  "mode": "joint" | "recursive" | "mixture" | "auto",   (mixture: one critic on the λ-mixture of the sources;
//                                                       auto: mixture unless the coverage check says "nearest")
//  "source_samples": 0, "arch": {...} (random init only),
//  "eval_every": <sample_every>, "eval_samples": 512,
//  "evaluation": {protocol}, "evaluation_every": N,     (live FID/KID/W1/...: train/protocol_evaluation.h)
//  + the trainer fields (iterations, batch_size, n_critic, gp, lr, seed, sample_every, checkpoint_every, ...)
//  + "run_dir", "resume", "runtime"}
//
// λ: typed per source (normalised), else ∝ 1/radius when every source has one, else uniform.
// Writes the run directory and <run_dir>/generator.coalesce (the barycenter); in recursive mode also
// <run_dir>/stage_<j>/ with every intermediate barycenter B_j. See train/coalescence.h.
//
// Job "average" (the model-average baseline's first step): the element-wise mean of generator files'
// parameters and buffers (BatchNorm statistics included), written as one generator file.
// {"kind": "average", "generators": ["a.coalesce", "b.coalesce"], "output": "avg.coalesce"}
// (or "run_dir": DIR instead of "output": writes DIR/generator.coalesce with config.json and summary.json)
#include <filesystem>

#include <torch/torch.h>

#include "core/error.h"
#include "io/model_files.h"
#include "jobs/job_factory.h"
#include "jobs/one_shot_job.h"
#include "train/coalescence.h"

namespace coalesce {

namespace {

class BarycenterJob : public Job {
public:
    explicit BarycenterJob(const Json& config) : config_(config) {
        ConfigReader r(config_, "barycenter");
        std::set<std::string> known = trainerOptionKeys();
        for (const auto& k : commonJobKeys()) known.insert(k);
        for (const auto& k : coalescenceKeys()) known.insert(k);
        r.rejectUnknownKeys(known);
        coalescence_ = readCoalescenceConfig(r);
        frame_ = readRunFrame(r, "barycenter");
    }
    std::string kind() const override { return "barycenter"; }
    JobResult run(JobObserver& observer, CancelToken& cancel) override {
        return runTrainingJob("barycenter", config_, frame_, resumeOrCreate(frame_.resume), observer, cancel,
                              [this](TrainingRun& run) { return runCoalescence(coalescence_, run); });
    }

private:
    Json config_;
    CoalescenceConfig coalescence_;
    RunFrame frame_;
};

class AverageJob : public Job {
public:
    explicit AverageJob(const Json& config) : config_(config) {
        requireKnownOneShotKeys(config_, {"generators", "output"});
        if (!config_.contains("generators") || !config_["generators"].is_array() || config_["generators"].size() < 2)
            throw Error("average: generators must be an array of at least two generator files");
        for (const auto& f : config_["generators"]) {
            if (!f.is_string()) throw Error("average: generators must hold file names, got " + f.dump());
            files_.push_back(f.get<std::string>());
        }
        output_ = optionalString(config_, "output");
        const std::string runDir = optionalString(config_, "run_dir");
        if (output_.empty() && !runDir.empty()) output_ = (std::filesystem::path(runDir) / "generator.coalesce").string();
        if (output_.empty()) throw Error("average: output (the generator file to write) or run_dir is required");
        oneShotRuntimeOptions(config_);  // validated; averaging runs on the CPU
    }
    std::string kind() const override { return "average"; }
    JobResult run(JobObserver& observer, CancelToken& cancel) override {
        JobResult result = runOneShotJob(config_, observer, [&](JobObserver& obs) {
            std::vector<Generator> generators;
            for (size_t i = 0; i < files_.size(); ++i) {
                cancel.check();
                obs.onProgress(static_cast<int64_t>(i), static_cast<int64_t>(files_.size()) + 1, "average");
                generators.push_back(loadGenerator(files_[i]));
            }
            Generator mean = averageGenerators(generators);
            if (std::filesystem::path(output_).has_parent_path())
                std::filesystem::create_directories(std::filesystem::path(output_).parent_path());
            writeGeneratorFile(output_, mean, {{"job", "average"}, {"sources", files_}});
            obs.onProgress(static_cast<int64_t>(files_.size()) + 1, static_cast<int64_t>(files_.size()) + 1, "average");
            return Json{{"status", "finished"}, {"generator", output_}, {"sources", files_}};
        });
        if (result.status == JobResult::Status::Finished) {
            result.message = "averaged " + std::to_string(files_.size()) + " generators into " + output_;
            observer.onLog(LogLevel::Info, "average: " + result.message);
        }
        return result;
    }

private:
    Json config_;
    std::vector<std::string> files_;
    std::string output_;
};

}  // namespace

std::unique_ptr<Job> makeBarycenterJob(const Json& config) { return std::make_unique<BarycenterJob>(config); }
std::unique_ptr<Job> makeAverageJob(const Json& config) { return std::make_unique<AverageJob>(config); }

}  // namespace coalesce
