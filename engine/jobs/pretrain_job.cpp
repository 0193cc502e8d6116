// Job "pretrain": a single-critic WGAN-GP generator trained on dataset classes (the paper's Pretrain
// verb, used to make the source generators), or on a 2-D toy mixture ("toy:…" data, mlp2d nets).
//
// {"kind": "pretrain", "data": "fashion-mnist:train:0,1,2,3",
//  "arch": {"family": "dcgan32", "preset": "small", "channels": 1},   (or a full ArchSpec JSON)
//  "k": 0, "k_seed": <seed>,          optional few-shot subset (k samples without replacement)
//  "iterations": 2000, "batch_size": 64, "n_critic": 5, "gp": "standard", "lr": 1e-4 (toy: 1e-3), "seed": 1,
//  "sample_every": 100, "checkpoint_every": 200, "eval_every": <sample_every>,
//  "evaluation": {protocol}, "evaluation_every": N     (optional live FID/KID/W1/...: train/protocol_evaluation.h)
//  "run_dir": "runs/x", "resume": false, "runtime": {"threads": 0, "device": "auto", "precision": "auto"}}
//
// Writes the run directory (train/training_job.h), <run_dir>/generator.coalesce and critic.coalesce (the
// critic alone, for FreezeD and critic warm starts when the checkpoints are not kept). Every eval_every
// steps it logs "sliced_w1/data": sliced W1 between 512 generated samples (fixed z) and 512 fixed
// training samples, a cheap progress signal (images are compared as flat pixel vectors).
#include <filesystem>

#include <torch/torch.h>

#include "core/error.h"
#include "data/dataset.h"
#include "jobs/job_factory.h"
#include "metrics/optimal_transport.h"
#include "train/protocol_evaluation.h"
#include "train/training_job.h"

namespace coalesce {

namespace {

class PretrainJob : public Job {
public:
    explicit PretrainJob(const Json& config) : config_(config) {
        ConfigReader r(config_, "pretrain");
        std::set<std::string> known = trainerOptionKeys();
        for (const auto& k : commonJobKeys()) known.insert(k);
        known.insert({"data", "arch", "k", "k_seed", "eval_every"});
        for (const auto& k : protocolEvaluationKeys()) known.insert(k);
        r.rejectUnknownKeys(known);

        data_ = r.text("data", "");
        if (data_.empty()) throw Error("pretrain: data is required (e.g. \"fashion-mnist:train:0,1,2,3\" or \"toy:ring8\")");
        const bool toy = data_.rfind("toy:", 0) == 0;
        arch_ = readArchSpec(r, ArchSpec::preset(toy ? "mlp2d" : "dcgan32", "small", 1));
        if (toy != !arch_.isImage())
            throw Error("pretrain: data '" + data_ + "' needs " + (toy ? "the mlp2d" : "an image (dcgan32 or dcgan64)") +
                        " architecture, arch is " + arch_.family);
        options_ = readTrainerOptions(r, toy ? 1e-3 : 1e-4);
        options_.phase = "pretrain";
        k_ = r.integer("k", 0);
        if (k_ < 0) throw Error("pretrain: k must be >= 0 (0 = all samples), got " + std::to_string(k_));
        const int64_t kSeed = r.integer("k_seed", static_cast<int64_t>(options_.seed));
        if (kSeed < 0) throw Error("pretrain: k_seed must be >= 0");
        kSeed_ = static_cast<uint64_t>(kSeed);
        evalEvery_ = r.integer("eval_every", options_.sampleEvery);
        if (evalEvery_ < 0) throw Error("pretrain: eval_every must be >= 0, got " + std::to_string(evalEvery_));
        evaluation_ = readProtocolEvaluation(r);
        frame_ = readRunFrame(r, "pretrain");
    }

    std::string kind() const override { return "pretrain"; }

    JobResult run(JobObserver& observer, CancelToken& cancel) override {
        return runTrainingJob("pretrain", config_, frame_, resumeOrCreate(frame_.resume), observer, cancel,
                              [this](TrainingRun& run) { return train(run); });
    }

private:
    Json train(TrainingRun& run) {
        Dataset data = loadDataset(data_, loadOptionsForSampleShape(arch_.sampleShape()));
        for (const auto& w : data.warnings) run.observer.onLog(LogLevel::Warning, "data: " + w);
        if (k_ > 0) data = kShotSubset(data, k_, kSeed_);
        run.runDir.recordConfig("dataset", Json{{"name", data.name}, {"hash", data.hash}, {"size", data.size()}});
        run.cancel.check();

        torch::manual_seed(deriveSeed(options_.seed, 0));  // generator initial weights
        Generator generator(arch_);
        std::vector<CriticSource> sources;
        sources.push_back({data_, std::make_unique<DatasetSource>(data)});
        MultiCriticTrainer trainer(generator, std::move(sources), CriticWeightOptions{}, options_, run.device);
        attachTrainer(trainer, run);
        trainer.setCheckpointMeta({{"job", "pretrain"}, {"config", config_}});

        // Fixed evaluation sets: 512 training samples and 512 latents, from their own seed streams.
        at::Generator evalRng = makeCpuGenerator(deriveSeed(options_.seed, 3));
        const int64_t evalCount = std::min<int64_t>(512, data.size());
        torch::Tensor evalReal = data.samples.index_select(0, torch::randperm(data.size(), evalRng).narrow(0, 0, evalCount));
        torch::Tensor evalLatent = generator->sampleLatent(512, evalRng);
        if (!arch_.isImage()) trainer.setPreviewReference(evalReal);
        if (evalEvery_ > 0) {
            trainer.addEvaluator(evalEvery_, [evalReal, evalLatent](int64_t step, Generator& g, JobObserver& obs) {
                torch::Tensor fake = g->forward(evalLatent.to(g->device())).to(torch::kCPU);
                obs.onMetric("sliced_w1/data", step, slicedW1(fake.flatten(1), evalReal.flatten(1)));
            });
        }
        attachProtocolEvaluation(trainer, evaluation_, arch_, run.runDir, run.observer, run.cancel, run.device);
        if (run.resume) resumeTrainer(trainer, run, resumableChanges());
        trainer.train(run.observer, run.cancel);

        const std::string output = (std::filesystem::path(run.runDir.path()) / "generator.coalesce").string();
        writeGeneratorFile(output, trainer.generator(),
                           {{"job", "pretrain"}, {"step", trainer.step()}, {"dataset", data.name},
                            {"dataset_hash", data.hash}, {"config", config_}});
        const std::string critic = (std::filesystem::path(run.runDir.path()) / "critic.coalesce").string();
        if (!trainer.lastCheckpointPath().empty()) writeCriticFile(trainer.lastCheckpointPath(), critic);
        Json metrics = Json::object();
        for (const auto& [name, value] : trainer.lastMetrics()) metrics[name] = value;
        return {{"message", "trained " + std::to_string(trainer.step()) + " generator iterations; generator: " + output},
                {"generator", output},
                {"steps", trainer.step()},
                {"batch_size", trainer.batchSize()},
                {"final_metrics", metrics},
                {"last_checkpoint", trainer.lastCheckpointPath()}};
    }

    Json config_;
    std::string data_;
    ArchSpec arch_;
    TrainerOptions options_;
    int64_t k_ = 0;
    uint64_t kSeed_ = 1;
    int64_t evalEvery_ = 100;
    ProtocolEvaluationOptions evaluation_;
    RunFrame frame_;
};

}  // namespace

std::unique_ptr<Job> makePretrainJob(const Json& config) { return std::make_unique<PretrainJob>(config); }

}  // namespace coalesce
