// The WGAN-GP training loop of every Coalesce stage: one generator G and K critics D_k, critic k seeing
// "real" samples only from its own source k (METHOD.md stages 1 and 2):
//     L_Dk = E D_k(G(z)) − E D_k(x_k) + γ · GP_k                     (n_critic steps per critic)
//     L_G  = − Σ_k λ_k E D_k(G(z))                                   (one step, one shared fake batch)
// Pretraining is K = 1 with a dataset source; the barycenter is K pre-trained generators as sources;
// adaptation is {barycenter generator, local samples}. Adam (lr 1e-4, betas 0.5/0.999) per network.
//
// Choices where the reference differs (see docs): a fresh real batch and fresh z for every critic step
// (the reference reuses one real batch for its 5 steps); G stays in train mode while it makes the
// critics' fakes (the reference switches it to eval there); λ scales only L_G (critic_weights.h).
//
// Metrics per generator iteration (step = completed generator iterations, 1-based):
//   loss_d/<k> (mean over the n_critic steps, GP included), gp/<k> (unweighted), w_hat/<k> (Ŵ_k =
//   E D_k(x_k) − E D_k(G(z)), exponentially smoothed), lambda/<k>, eta/<k> (when a radius is set), loss_g.
// Events: progress every iteration; image "samples" (a grid of a fixed z, or a scatter plot in the
// toy mode) at step 0, every sample_every steps and at the end; a checkpoint every checkpoint_every
// steps, at the end, and when cancelled between iterations.
//
// Resume is exact: a checkpoint holds G, the critics, every Adam state, λ, Ŵ, the step, the random
// stream and each source's position, so train() after restore() makes the same updates as an
// uninterrupted run (same device and thread count). NaN/Inf in a loss or a weight stops training with an
// Error naming the step and the last good checkpoint, which is never overwritten by a diverged state.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <torch/optim/adam.h>

#include "core/job.h"
#include "io/checkpoint.h"
#include "models/networks.h"
#include "run/run_directory.h"
#include "train/mixed_precision.h"
#include "train/critic_weights.h"
#include "train/gradient_penalty.h"
#include "train/sample_source.h"

namespace coalesce {

class DataParallel;

struct TrainerOptions {
    int64_t iterations = 2000;      // the run ends when this many generator iterations are done
    int64_t batchSize = 64;         // clamped to the smallest finite source
    int nCritic = 5;
    double gpWeight = 10.0;         // γ
    GradientPenaltyMode gpMode = GradientPenaltyMode::Standard;
    double lrGenerator = 1e-4;
    double lrCritic = 1e-4;
    double beta1 = 0.5;
    double beta2 = 0.999;
    uint64_t seed = 1;
    int64_t sampleEvery = 100;      // 0 = only at the start and the end
    int64_t checkpointEvery = 200;  // 0 = only at the end (and on cancel)
    int64_t keepCheckpoints = 0;    // step_XXXXXX files kept (0 = all); latest.coalesce always exists
    int64_t previewCount = 0;       // samples in the preview (0 = 64 images / 1000 points)
    double wHatSmoothing = 0.9;     // EMA decay of Ŵ_k per generator iteration
    std::string phase = "train";    // progress phase, e.g. "pretrain", "barycenter", "adapt"

    // Throws coalesce::Error naming the bad field (config names: iterations, batch_size, ...).
    void validate() const;
    nlohmann::json toJson() const;
};

struct CriticSource {
    std::string name;                      // shown in logs and config.json ("fashion-mnist:train:0,1,2,3")
    std::unique_ptr<SampleSource> source;
    // Optional (FreezeD baseline): start this critic from the "<initialCriticPrefix>.*" weights of a
    // checkpoint (e.g. a pretrain run's checkpoints/latest.coalesce, prefix "critic0") instead of fresh,
    // and keep its first `frozenBlocks` blocks (Conv+InstanceNorm+LeakyReLU, or Linear+ReLU) fixed.
    std::string initialCriticFile = {};
    std::string initialCriticPrefix = "critic0";
    int frozenBlocks = 0;
};

class MultiCriticTrainer {
public:
    // G is trained in place (pass a clone to keep the original). Critics are created fresh, each from
    // its own seed stream. Sources are started here (a frozen sample set is drawn here).
    MultiCriticTrainer(Generator generator, std::vector<CriticSource> sources, const CriticWeightOptions& weights,
                       const TrainerOptions& options, torch::Device device);

    // Checkpoints go to dir's checkpoints/ folder; without a run directory nothing is checkpointed.
    void setRunDirectory(RunDirectory* dir) { runDir_ = dir; }
    // Data-parallel training (data_parallel.h): this process computes its share of every batch and
    // gradients are averaged over the processes; only rank 0 checkpoints, samples and evaluates.
    // Null (the default): one process. Cancelling is decided together at iteration boundaries.
    void setDataParallel(std::shared_ptr<DataParallel> parallel) { parallel_ = std::move(parallel); }
    // bf16: the forward passes of G and the critics run under autocast (train/mixed_precision.h);
    // weights, optimizer state, losses and the gradient penalty's norms stay fp32. Default fp32.
    void setPrecision(Precision precision) { precision_ = precision; }
    // Merged into every checkpoint's meta (job kind, job config, ...).
    void setCheckpointMeta(const nlohmann::json& meta) { extraMeta_ = meta; }
    // Target points drawn under the generated points in the toy-mode preview.
    void setPreviewReference(const torch::Tensor& points) { previewReference_ = points; }
    // Called every `every` steps and at the end with G in eval mode under NoGrad (e.g. FID); with
    // atStart also before the first iteration (step 0), so curves start at the initial generator.
    // Several evaluators may be added, each on its own cadence.
    using Evaluator = std::function<void(int64_t step, Generator& generator, JobObserver& observer)>;
    void addEvaluator(int64_t every, Evaluator evaluator, bool atStart = false);

    // The paper's stage-3 schedule (METHOD.md): each generator step first updates only `parameters`
    // (e.g. every learned ternary threshold Δ) with their own Adam (lr_g, the trainer's betas), then
    // recomputes L_G with the same z and updates all other generator parameters with the generator
    // Adam. Call before train() and restore(); the extra Adam is checkpointed as
    // "optim.generator_alternating". Without it (or with an empty list) one Adam steps everything.
    void setAlternatingParameters(const std::vector<torch::Tensor>& parameters);
    // An extra term added to L_G, e.g. distillation towards a teacher for the same z:
    // term(z, G(z)) must be differentiable in G(z). Its value is logged as "loss_g_extra".
    using GeneratorLossTerm = std::function<torch::Tensor(const torch::Tensor& latent, const torch::Tensor& fake)>;
    void setGeneratorLossTerm(GeneratorLossTerm term) { generatorLossTerm_ = std::move(term); }

    // Restores a checkpoint written by makeCheckpoint() of a trainer with the same sources and options.
    void restore(const Checkpoint& checkpoint, const std::string& fileForMessages);
    // Trains until options.iterations. Throws coalesce::Cancelled (after checkpointing if it stopped
    // between iterations) or coalesce::Error (divergence, I/O).
    void train(JobObserver& observer, CancelToken& cancel);

    Checkpoint makeCheckpoint() const;
    int64_t step() const { return step_; }
    int64_t iterations() const { return options_.iterations; }
    int64_t batchSize() const { return batchSize_; }
    size_t sourceCount() const { return slots_.size(); }
    Generator generator() const { return generator_; }
    Critic critic(size_t k) const { return slots_.at(k).critic; }
    const std::vector<double>& lambdas() const { return weights_.lambdas(); }
    const std::vector<double>& wHat() const { return wHat_; }
    const std::map<std::string, double>& lastMetrics() const { return lastMetrics_; }
    std::string lastCheckpointPath() const { return lastCheckpointPath_; }
    // Wall seconds train() has spent in each phase so far (this trainer's part of a resumed run):
    // "source batches" (drawing real batches: dataset, frozen or online generator sources), "critic
    // steps", "generator steps", "metrics" (the per-step values to the observers: metrics.csv, the
    // GUI), "sample grids" (preview forward + image write), "evaluation", "checkpoints". train() also
    // logs them at its end and writes them to <run_dir>/timing.json (bench/experiment_phases.py).
    const std::map<std::string, double>& phaseSeconds() const { return phaseSeconds_; }
    int64_t lastCheckpointStep() const { return lastCheckpointStep_; }

private:
    struct ScheduledEvaluator {
        int64_t every = 0;
        Evaluator evaluate;
        bool atStart = false;
        int64_t lastStep = -1;
    };
    struct Slot {
        std::string name;
        std::unique_ptr<SampleSource> source;
        Critic critic{nullptr};
        std::vector<torch::Tensor> trainable;  // all parameters but those of frozen blocks
        std::unique_ptr<torch::optim::Adam> optimizer;
    };
    void runIteration(CancelToken& cancel, JobObserver& observer);
    // L_G for latent z (and the extra term's value, detached, when one is set).
    std::pair<torch::Tensor, torch::Tensor> generatorLoss(const torch::Tensor& latent, const std::vector<double>& lambda);
    // Critic k's scores as fp32, whatever precision the forward ran in (losses reduce in fp32).
    static torch::Tensor scores(Critic& critic, const torch::Tensor& x) { return critic->forward(x).to(torch::kFloat); }
    void emitSamples(JobObserver& observer);
    void runEvaluator(ScheduledEvaluator& evaluator, JobObserver& observer);
    void writeCheckpoint(JobObserver& observer);
    void pruneOldCheckpoints() const;
    void requireFiniteWeights() const;
    bool isRoot() const;  // the process that writes checkpoints, samples and evaluations
    // This process's rows of a global batch (all of it without data parallelism).
    torch::Tensor myShare(const torch::Tensor& globalBatch) const;
    // This process's rows of the source's next batch.
    torch::Tensor shareOf(SampleSource& source) const;
    void averageGradients(const std::vector<torch::Tensor>& parameters, const char* what);
    void synchronizeModels();
    [[noreturn]] void diverged(const std::string& what) const;

    Generator generator_;
    std::vector<Slot> slots_;
    CriticWeights weights_;
    TrainerOptions options_;
    torch::Device device_;
    Precision precision_ = Precision::Fp32;
    int64_t batchSize_ = 0;
    std::unique_ptr<torch::optim::Adam> generatorOptimizer_;
    std::unique_ptr<torch::optim::Adam> alternatingOptimizer_;  // null: one Adam over all of G
    GeneratorLossTerm generatorLossTerm_;
    at::Generator rng_;          // z and ε for training
    torch::Tensor previewLatent_;  // fixed z of the preview
    torch::Tensor previewReference_;
    std::vector<ScheduledEvaluator> evaluators_;

    int64_t step_ = 0;
    std::vector<double> wHat_;
    bool wHatInitialised_ = false;
    std::map<std::string, double> lastMetrics_;
    RunDirectory* runDir_ = nullptr;
    std::shared_ptr<DataParallel> parallel_;
    nlohmann::json extraMeta_ = nlohmann::json::object();
    std::string lastCheckpointPath_;
    int64_t lastCheckpointStep_ = -1;
    int64_t lastSampleStep_ = -1;
    std::map<std::string, double> phaseSeconds_;
    void reportPhases(JobObserver& observer) const;
};

}  // namespace coalesce
