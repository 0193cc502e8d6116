#include "train/multi_critic_trainer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <optional>
#include <sstream>

#include <torch/torch.h>

#include "core/error.h"
#include "core/phase_timer.h"
#include "core/tensor_image.h"
#include "train/data_parallel.h"
#include "train/memory_check.h"
#include "train/optimizer_state.h"
#include "train/point_cloud_image.h"

namespace fs = std::filesystem;

namespace coalesce {

namespace {
// Seed streams (sample_source.h deriveSeed): fixed ids so that adding one never shifts another.
constexpr uint64_t kStreamTraining = 1;      // z and ε
constexpr uint64_t kStreamPreview = 2;       // the fixed preview z
constexpr uint64_t kStreamCritic = 1000;     // + k: critic k's initial weights
constexpr uint64_t kStreamSource = 2000;     // + k: source k's own randomness

std::string shapeString(const std::vector<int64_t>& s) { return c10::str(c10::IntArrayRef(s)); }

void setRequiresGrad(std::vector<torch::Tensor>& parameters, bool on) {
    for (auto& p : parameters) p.set_requires_grad(on);
}

// Parameters outside the first `frozenBlocks` blocks of a critic's "net"; the frozen ones stop
// requiring grad. A block is Conv+InstanceNorm+LeakyReLU (dcgan32) or Linear+ReLU (mlp2d).
std::vector<torch::Tensor> unfrozenParameters(Critic& critic, int frozenBlocks, const std::string& name) {
    const ArchSpec& spec = critic->spec();
    const int blocks = static_cast<int>(spec.criticWidths.size());
    if (frozenBlocks < 0 || frozenBlocks > blocks)
        throw Error("source " + name + ": freeze_critic_blocks must be in 0.." + std::to_string(blocks) + ", got " +
                    std::to_string(frozenBlocks));
    const int modulesPerBlock = spec.isImage() ? 3 : 2;
    std::vector<torch::Tensor> trainable;
    for (auto& item : critic->named_parameters(true)) {
        // Names are "net.<index>.<weight|bias>".
        const std::string& key = item.key();
        const size_t dot = key.find('.', 4);
        const int index = std::stoi(key.substr(4, dot - 4));
        if (index < frozenBlocks * modulesPerBlock) item.value().set_requires_grad(false);
        else trainable.push_back(item.value());
    }
    return trainable;
}
}  // namespace

void TrainerOptions::validate() const {
    auto positive = [](const char* field, int64_t v) {
        if (v <= 0) throw Error(std::string(field) + ": must be >= 1, got " + std::to_string(v));
    };
    auto nonNegative = [](const char* field, int64_t v) {
        if (v < 0) throw Error(std::string(field) + ": must be >= 0, got " + std::to_string(v));
    };
    auto positiveReal = [](const char* field, double v) {
        if (!std::isfinite(v) || v <= 0) throw Error(std::string(field) + ": must be a finite number > 0, got " + std::to_string(v));
    };
    positive("iterations", iterations);
    positive("batch_size", batchSize);
    positive("n_critic", nCritic);
    if (!std::isfinite(gpWeight) || gpWeight < 0) throw Error("gp_weight: must be finite and >= 0, got " + std::to_string(gpWeight));
    positiveReal("lr_g", lrGenerator);
    positiveReal("lr_d", lrCritic);
    if (!(beta1 >= 0 && beta1 < 1)) throw Error("betas: beta1 must be in [0, 1), got " + std::to_string(beta1));
    if (!(beta2 >= 0 && beta2 < 1)) throw Error("betas: beta2 must be in [0, 1), got " + std::to_string(beta2));
    nonNegative("sample_every", sampleEvery);
    nonNegative("checkpoint_every", checkpointEvery);
    nonNegative("keep_checkpoints", keepCheckpoints);
    nonNegative("preview_count", previewCount);
    if (!(wHatSmoothing >= 0 && wHatSmoothing < 1))
        throw Error("w_hat_smoothing: must be in [0, 1), got " + std::to_string(wHatSmoothing));
}

nlohmann::json TrainerOptions::toJson() const {
    return {{"iterations", iterations}, {"batch_size", batchSize}, {"n_critic", nCritic}, {"gp_weight", gpWeight},
            {"gp", toString(gpMode)}, {"lr_g", lrGenerator}, {"lr_d", lrCritic}, {"betas", {beta1, beta2}},
            {"seed", seed}, {"sample_every", sampleEvery}, {"checkpoint_every", checkpointEvery},
            {"keep_checkpoints", keepCheckpoints}, {"w_hat_smoothing", wHatSmoothing}, {"phase", phase}};
}

MultiCriticTrainer::MultiCriticTrainer(Generator generator, std::vector<CriticSource> sources,
                                       const CriticWeightOptions& weights, const TrainerOptions& options,
                                       torch::Device device)
    : generator_(std::move(generator)), weights_(weights, sources.size()), options_(options), device_(device) {
    options_.validate();
    if (!generator_) throw Error("trainer: no generator");
    const ArchSpec& spec = generator_->spec();
    const auto shape = spec.sampleShape();

    batchSize_ = options_.batchSize;
    for (size_t k = 0; k < sources.size(); ++k) {
        auto& s = sources[k];
        if (!s.source) throw Error("trainer: source " + std::to_string(k) + " is empty");
        if (s.source->sampleShape() != shape)
            throw Error("source " + std::to_string(k) + " (" + s.name + "): samples have shape " +
                        shapeString(s.source->sampleShape()) + ", the generator makes " + shapeString(shape));
        if (auto n = s.source->finiteSize()) batchSize_ = std::min(batchSize_, *n);
    }

    generator_->to(device_);
    generator_->train();
    generatorOptimizer_ = std::make_unique<torch::optim::Adam>(
        generator_->parameters(),
        torch::optim::AdamOptions(options_.lrGenerator).betas({options_.beta1, options_.beta2}));
    for (size_t k = 0; k < sources.size(); ++k) {
        Slot slot;
        slot.name = sources[k].name;
        slot.source = std::move(sources[k].source);
        torch::manual_seed(deriveSeed(options_.seed, kStreamCritic + k));  // module init uses the global RNG
        slot.critic = Critic(spec);
        if (!sources[k].initialCriticFile.empty()) {
            const Checkpoint c = loadCheckpoint(sources[k].initialCriticFile);
            if (!hasModule(c, sources[k].initialCriticPrefix))
                throw Error(sources[k].initialCriticFile + ": holds no critic '" + sources[k].initialCriticPrefix +
                            "' (a training checkpoint such as checkpoints/latest.coalesce has critic0)");
            restoreModule(c, sources[k].initialCriticPrefix, *slot.critic, sources[k].initialCriticFile);
        }
        slot.critic->to(device_);
        slot.critic->train();
        if (k == 0) requireBatchFitsInMemory(generator_, slot.critic, batchSize_, device_);  // before any batch exists
        slot.trainable = unfrozenParameters(slot.critic, sources[k].frozenBlocks, sources[k].name);
        slot.optimizer = std::make_unique<torch::optim::Adam>(
            slot.trainable,
            torch::optim::AdamOptions(options_.lrCritic).betas({options_.beta1, options_.beta2}));
        slot.source->start(batchSize_, deriveSeed(options_.seed, kStreamSource + k), device_);
        slots_.push_back(std::move(slot));
    }
    rng_ = makeCpuGenerator(deriveSeed(options_.seed, kStreamTraining));
    at::Generator previewRng = makeCpuGenerator(deriveSeed(options_.seed, kStreamPreview));
    const int64_t previewCount = options_.previewCount > 0 ? options_.previewCount : (spec.isImage() ? 64 : 1000);
    previewLatent_ = generator_->sampleLatent(previewCount, previewRng);
    wHat_.assign(slots_.size(), 0.0);
}

void MultiCriticTrainer::addEvaluator(int64_t every, Evaluator evaluator, bool atStart) {
    if (every < 0) throw Error("eval_every: must be >= 0, got " + std::to_string(every));
    evaluators_.push_back({every, std::move(evaluator), atStart, -1});
}

// ---------------------------------------------------------------------------------------------------
std::pair<torch::Tensor, torch::Tensor> MultiCriticTrainer::generatorLoss(const torch::Tensor& latent,
                                                                         const std::vector<double>& lambda) {
    torch::Tensor fake;
    torch::Tensor loss = torch::zeros({}, torch::TensorOptions().device(device_));
    {
        AutocastScope lowPrecision(precision_, device_);
        fake = generator_->forward(latent).to(torch::kFloat);
        for (size_t k = 0; k < slots_.size(); ++k)  // critics with λ_k = 0 are skipped
            if (lambda[k] != 0.0) loss = loss - lambda[k] * scores(slots_[k].critic, fake).mean();
    }
    torch::Tensor extra;  // in fp32, as the term's author wrote it
    if (generatorLossTerm_) {
        extra = generatorLossTerm_(latent, fake);
        loss = loss + extra;
    }
    return {loss, extra};
}

void MultiCriticTrainer::setAlternatingParameters(const std::vector<torch::Tensor>& parameters) {
    if (step_ != 0) throw Error("trainer: alternating parameters must be set before training");
    alternatingOptimizer_.reset();
    std::vector<torch::Tensor> first, rest;
    for (const auto& p : generator_->parameters()) {
        const bool listed = std::any_of(parameters.begin(), parameters.end(),
                                        [&](const torch::Tensor& q) { return q.is_same(p); });
        (listed ? first : rest).push_back(p);
    }
    if (first.size() != parameters.size())
        throw Error("trainer: an alternating parameter is not a parameter of the generator");
    const auto adam = torch::optim::AdamOptions(options_.lrGenerator).betas({options_.beta1, options_.beta2});
    generatorOptimizer_ = std::make_unique<torch::optim::Adam>(rest, adam);
    if (!first.empty()) alternatingOptimizer_ = std::make_unique<torch::optim::Adam>(first, adam);
}

void MultiCriticTrainer::runIteration(CancelToken& cancel, JobObserver& observer) {
    const int64_t b = parallel_ ? batchSize_ / parallel_->worldSize() : batchSize_;  // this process's rows
    const size_t k_count = slots_.size();
    // Per critic: summed L_D, GP and E D(x) − E D(G(z)) over the critic steps, kept on the device so
    // that the whole iteration needs a single host synchronisation (below).
    std::vector<torch::Tensor> stats;
    stats.reserve(3 * k_count + 1);

    for (size_t k = 0; k < k_count; ++k) {
        Slot& slot = slots_[k];
        Critic& critic = slot.critic;
        auto criticFn = [&critic](const torch::Tensor& x) { return scores(critic, x); };
        torch::Tensor lossSum = torch::zeros({}, torch::TensorOptions().device(device_));
        torch::Tensor gpSum = lossSum.clone(), gapSum = lossSum.clone();
        for (int t = 0; t < options_.nCritic; ++t) {
            // Every process draws the same global batch (same streams) and works on its own rows.
            torch::Tensor real;
            {
                ScopedPhaseTimer timer(phaseSeconds_, "source batches");
                real = shareOf(*slot.source);
            }
            ScopedPhaseTimer timer(phaseSeconds_, "critic steps");  // the rest of this critic step
            torch::Tensor fake, meanReal, meanFake, gp;
            {
                AutocastScope lowPrecision(precision_, device_);  // forward passes only: backward runs below
                {
                    torch::NoGradGuard noGrad;
                    fake = generator_->forward(myShare(generator_->sampleLatent(batchSize_, rng_))).to(torch::kFloat);
                }
                torch::Tensor epsilon = myShare(torch::rand({batchSize_}, rng_)).to(device_);
                // One forward over real and fake together (the critic has no batch-coupled layers).
                torch::Tensor both = criticFn(torch::cat({real, fake}));
                meanReal = both.narrow(0, 0, b).mean();
                meanFake = both.narrow(0, b, b).mean();
                gp = gradientPenalty(criticFn, real, fake, epsilon, options_.gpMode);
            }
            torch::Tensor loss = meanFake - meanReal + options_.gpWeight * gp;
            slot.optimizer->zero_grad();
            loss.backward();
            averageGradients(slot.trainable, "critic gradients");
            slot.optimizer->step();
            lossSum += loss.detach();
            gpSum += gp.detach();
            gapSum += (meanReal - meanFake).detach();
        }
        stats.push_back(lossSum / options_.nCritic);
        stats.push_back(gpSum / options_.nCritic);
        stats.push_back(gapSum / options_.nCritic);
        // Between critics: a cancel here leaves a half-done iteration, never checkpointed. Processes of a
        // data-parallel run decide together at iteration boundaries instead (train()).
        if (!parallel_) cancel.check();
    }

    std::optional<ScopedPhaseTimer> generatorTimer(std::in_place, phaseSeconds_, "generator steps");
    // Generator step: one shared fake batch for all critics. Critic parameters are frozen meanwhile
    // (their gradients are not needed); critics with λ_k = 0 are skipped.
    // Ŵ from the iterations so far (the current one is folded in below, after the host sync).
    const std::vector<double> lambda =
        weights_.effectiveWeights(wHatInitialised_ ? wHat_ : std::vector<double>(wHat_.size(), std::nan("")), step_);
    const bool anyWeight = std::any_of(lambda.begin(), lambda.end(), [](double l) { return l != 0.0; });
    for (size_t k = 0; k < k_count; ++k) setRequiresGrad(slots_[k].trainable, false);
    const torch::Tensor latent = myShare(generator_->sampleLatent(batchSize_, rng_));
    torch::Tensor lossG, extraTerm;
    // All λ = 0 (every constraint slack in constrained mode) and no extra term: G holds still.
    if (anyWeight || generatorLossTerm_) {
        if (alternatingOptimizer_) {  // the Δ step, then the weight step on a recomputed loss (same z)
            alternatingOptimizer_->zero_grad();
            generatorOptimizer_->zero_grad();
            generatorLoss(latent, lambda).first.backward();
            averageGradients(generator_->parameters(), "generator gradients");
            alternatingOptimizer_->step();
            alternatingOptimizer_->zero_grad();
        }
        std::tie(lossG, extraTerm) = generatorLoss(latent, lambda);
        generatorOptimizer_->zero_grad();
        lossG.backward();
        averageGradients(generator_->parameters(), "generator gradients");
        generatorOptimizer_->step();
    } else {
        torch::NoGradGuard noGrad;
        std::tie(lossG, extraTerm) = generatorLoss(latent, lambda);
    }
    for (auto& slot : slots_) setRequiresGrad(slot.trainable, true);
    if (extraTerm.defined()) stats.push_back(extraTerm.detach());
    stats.push_back(lossG.detach());

    torch::Tensor stacked = torch::stack(stats);
    if (parallel_) {
        // BatchNorm in G normalised each process's rows: one set of running statistics for all, and
        // losses over the whole batch (so Ŵ, λ and a divergence stop agree on every process).
        parallel_->average(generator_->buffers(), "generator BatchNorm statistics");
        parallel_->average({stacked}, "losses");
    }
    ++step_;
    const auto values = stacked.to(torch::kCPU, torch::kDouble);
    auto v = values.accessor<double, 1>();
    for (int64_t i = 0; i < values.size(0); ++i) {
        if (!std::isfinite(v[i])) {
            const bool isG = i == values.size(0) - 1;
            const bool isExtra = extraTerm.defined() && i == values.size(0) - 2;
            const char* names[] = {"loss_d", "gp", "w_hat"};
            diverged(isG       ? "loss_g = " + std::to_string(v[i])
                     : isExtra ? "loss_g_extra = " + std::to_string(v[i])
                               : std::string(names[i % 3]) + "/" + std::to_string(i / 3) + " = " + std::to_string(v[i]));
        }
    }
    for (size_t k = 0; k < k_count; ++k) {
        const double raw = v[3 * k + 2];
        wHat_[k] = wHatInitialised_ ? options_.wHatSmoothing * wHat_[k] + (1.0 - options_.wHatSmoothing) * raw : raw;
    }
    wHatInitialised_ = true;
    weights_.afterIteration(step_, wHat_);

    generatorTimer.reset();
    ScopedPhaseTimer timer(phaseSeconds_, "metrics");
    lastMetrics_.clear();
    for (size_t k = 0; k < k_count; ++k) {
        const std::string suffix = "/" + std::to_string(k);
        lastMetrics_["loss_d" + suffix] = v[3 * k];
        lastMetrics_["gp" + suffix] = v[3 * k + 1];
        lastMetrics_["w_hat" + suffix] = wHat_[k];
        lastMetrics_["lambda" + suffix] = weights_.lambdas()[k];
        if (weights_.damped() || weights_.scheduled()) lastMetrics_["weight" + suffix] = lambda[k];  // what this G step used
        if (weights_.hasRadius(k)) lastMetrics_["eta" + suffix] = weights_.radius(k);
    }
    lastMetrics_["loss_g"] = v[values.size(0) - 1];
    if (extraTerm.defined()) lastMetrics_["loss_g_extra"] = v[values.size(0) - 2];
    for (const auto& [name, value] : lastMetrics_) observer.onMetric(name, step_, value);
}

bool MultiCriticTrainer::isRoot() const { return !parallel_ || parallel_->isRoot(); }

torch::Tensor MultiCriticTrainer::myShare(const torch::Tensor& globalBatch) const {
    if (!parallel_) return globalBatch;
    const auto [offset, count] = parallel_->share(globalBatch.size(0));
    return globalBatch.narrow(0, offset, count);
}

torch::Tensor MultiCriticTrainer::shareOf(SampleSource& source) const {
    if (!parallel_) return source.next();
    const auto [offset, count] = parallel_->share(batchSize_);
    return source.nextShare(offset, count);  // a generator source makes only these rows
}

void MultiCriticTrainer::averageGradients(const std::vector<torch::Tensor>& parameters, const char* what) {
    if (parallel_) parallel_->averageGradients(parameters, what);
}

// Every process starts from rank 0's weights (they are equal by construction from the same seeds or
// the same checkpoint; this makes it a fact, not an assumption).
void MultiCriticTrainer::synchronizeModels() {
    if (!parallel_) return;
    parallel_->share(batchSize_);  // an uneven batch is an Error now, not at the first step
    std::vector<torch::Tensor> state = generator_->parameters();
    for (const auto& b : generator_->buffers()) state.push_back(b);
    for (auto& slot : slots_) {
        for (const auto& p : slot.critic->parameters()) state.push_back(p);
        for (const auto& b : slot.critic->buffers()) state.push_back(b);
    }
    parallel_->broadcast(state, "the start weights from rank 0");
}

void MultiCriticTrainer::diverged(const std::string& what) const {
    std::string message = "training diverged at step " + std::to_string(step_) + ": " + what +
                          " (try a smaller learning rate); ";
    message += lastCheckpointPath_.empty()
                   ? std::string("no checkpoint had been written yet")
                   : "the last good checkpoint is " + lastCheckpointPath_ + " (step " +
                         std::to_string(lastCheckpointStep_) + ")";
    throw Error(message);
}

void MultiCriticTrainer::requireFiniteWeights() const {
    auto check = [this](const torch::nn::Module& m, const std::string& what) {
        for (const auto& p : m.named_parameters(true))
            if (!torch::isfinite(p.value()).all().item<bool>()) diverged(what + " parameter " + p.key() + " is not finite");
    };
    check(*generator_, "generator");
    for (size_t k = 0; k < slots_.size(); ++k) check(*slots_[k].critic, "critic " + std::to_string(k));
}

// ---------------------------------------------------------------------------------------------------
void MultiCriticTrainer::emitSamples(JobObserver& observer) {
    if (!isRoot()) return;
    ScopedPhaseTimer timer(phaseSeconds_, "sample grids");
    torch::NoGradGuard noGrad;
    generator_->eval();  // what a user sampling the model would see (BatchNorm running statistics)
    torch::Tensor x = generator_->forward(previewLatent_);
    generator_->train();
    ImageU8 image = generator_->spec().isImage() ? tensorToGrid(x, 8) : renderPointCloud(x, previewReference_);
    observer.onImage("samples", step_, image);
    lastSampleStep_ = step_;
}

void MultiCriticTrainer::runEvaluator(ScheduledEvaluator& evaluator, JobObserver& observer) {
    if (!isRoot()) return;  // the other processes wait for it at their next collective
    ScopedPhaseTimer timer(phaseSeconds_, "evaluation");
    torch::NoGradGuard noGrad;
    generator_->eval();
    try {
        evaluator.evaluate(step_, generator_, observer);
    } catch (...) {
        generator_->train();
        throw;
    }
    generator_->train();
    evaluator.lastStep = step_;
}

Checkpoint MultiCriticTrainer::makeCheckpoint() const {
    Checkpoint c;
    c.arch = generator_->spec();
    storeModule(c, "generator", *generator_);
    storeAdamState(c, "optim.generator", *generatorOptimizer_, *generator_);
    if (alternatingOptimizer_) storeAdamState(c, "optim.generator_alternating", *alternatingOptimizer_, *generator_);
    nlohmann::json sources = nlohmann::json::array();
    for (size_t k = 0; k < slots_.size(); ++k) {
        const std::string id = std::to_string(k);
        storeModule(c, "critic" + id, *slots_[k].critic);
        storeAdamState(c, "optim.critic" + id, *slots_[k].optimizer, *slots_[k].critic);
        sources.push_back({{"name", slots_[k].name},
                           {"describe", slots_[k].source->describe()},
                           {"state", slots_[k].source->saveState(c, "source" + id)}});
    }
    c.tensors["rng.training"] = rng_.get_state().clone();
    c.meta = extraMeta_;
    c.meta["kind"] = "training-state";
    c.meta["step"] = step_;
    c.meta["batch_size"] = batchSize_;
    c.meta["critics"] = slots_.size();
    c.meta["sources"] = sources;
    c.meta["weights"] = weights_.state();
    c.meta["w_hat"] = wHat_;
    c.meta["w_hat_initialised"] = wHatInitialised_;
    c.meta["trainer"] = options_.toJson();
    c.meta["phase_seconds"] = phaseSeconds_;  // a resumed run's timing.json covers every segment
    return c;
}

void MultiCriticTrainer::restore(const Checkpoint& c, const std::string& file) {
    if (c.meta.value("kind", std::string()) != "training-state")
        throw Error(file + ": not a training checkpoint (no resumable training state)");
    if (c.arch != generator_->spec())
        throw Error(file + ": architecture " + c.arch.describe() + " differs from the run's " +
                    generator_->spec().describe());
    const size_t critics = c.meta.value("critics", size_t{0});
    if (critics != slots_.size())
        throw Error(file + ": checkpoint has " + std::to_string(critics) + " critics, the run has " +
                    std::to_string(slots_.size()) + " sources");
    const int64_t batch = c.meta.value("batch_size", int64_t{-1});
    if (batch != batchSize_)
        throw Error(file + ": checkpoint was trained with batch size " + std::to_string(batch) + ", the run uses " +
                    std::to_string(batchSize_));
    restoreModule(c, "generator", *generator_, file);
    restoreAdamState(c, "optim.generator", *generatorOptimizer_, *generator_, file);
    if (alternatingOptimizer_)
        restoreAdamState(c, "optim.generator_alternating", *alternatingOptimizer_, *generator_, file);
    for (size_t k = 0; k < slots_.size(); ++k) {
        const std::string id = std::to_string(k);
        restoreModule(c, "critic" + id, *slots_[k].critic, file);
        restoreAdamState(c, "optim.critic" + id, *slots_[k].optimizer, *slots_[k].critic, file);
        nlohmann::json state;
        try {
            state = c.meta.at("sources").at(k).at("state");
        } catch (const nlohmann::json::exception&) {
            throw Error(file + ": no saved state for source " + id);
        }
        slots_[k].source->restoreState(c, "source" + id, state);
    }
    auto rng = c.tensors.find("rng.training");
    if (rng == c.tensors.end()) throw Error(file + ": no random generator state (rng.training)");
    rng_.set_state(rng->second.to(torch::kCPU, torch::kUInt8));
    weights_.restore(c.meta.value("weights", nlohmann::json::object()));
    try {
        wHat_ = c.meta.at("w_hat").get<std::vector<double>>();
        wHatInitialised_ = c.meta.at("w_hat_initialised").get<bool>();
        step_ = c.meta.at("step").get<int64_t>();
    } catch (const nlohmann::json::exception&) {
        throw Error(file + ": training state (step, w_hat) missing or malformed");
    }
    if (wHat_.size() != slots_.size()) throw Error(file + ": w_hat has the wrong length");
    // Time spent up to this checkpoint (absent before 2026-12; the work redone after a kill is not counted twice).
    phaseSeconds_.clear();
    const auto phases = c.meta.find("phase_seconds");
    if (phases != c.meta.end() && phases->is_object())
        for (const auto& [phase, seconds] : phases->items())
            if (seconds.is_number()) phaseSeconds_[phase] = seconds.get<double>();
    generator_->train();
    for (auto& slot : slots_) slot.critic->train();
    lastCheckpointPath_ = file;
    lastCheckpointStep_ = step_;
    lastSampleStep_ = step_;
    for (auto& e : evaluators_) e.lastStep = step_;  // resuming a finished run must not repeat its last events
}

void MultiCriticTrainer::writeCheckpoint(JobObserver& observer) {
    if (!runDir_ || lastCheckpointStep_ == step_ || !isRoot()) return;
    ScopedPhaseTimer timer(phaseSeconds_, "checkpoints");
    requireFiniteWeights();  // a diverged state must never replace the last good checkpoint
    const std::string path = runDir_->checkpointPath(step_);
    saveCheckpoint(path, makeCheckpoint());
    // latest.coalesce: a hard link to the step file, renamed into place (atomic, no second copy).
    const fs::path latest = runDir_->latestCheckpointPath();
    const fs::path tmp = latest.string() + ".tmp";
    std::error_code ec;
    fs::remove(tmp, ec);
    fs::create_hard_link(path, tmp, ec);
    if (ec) fs::copy_file(path, tmp, fs::copy_options::overwrite_existing);
    fs::rename(tmp, latest);
    lastCheckpointPath_ = path;
    lastCheckpointStep_ = step_;
    observer.onCheckpoint(step_, path);
    pruneOldCheckpoints();
}

void MultiCriticTrainer::pruneOldCheckpoints() const {
    if (options_.keepCheckpoints <= 0) return;
    std::vector<fs::path> steps;
    for (const auto& entry : fs::directory_iterator(fs::path(runDir_->latestCheckpointPath()).parent_path())) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("step_", 0) == 0 && entry.path().extension() == ".coalesce") steps.push_back(entry.path());
    }
    std::sort(steps.begin(), steps.end());  // zero-padded step numbers sort by step
    for (size_t i = 0; i + options_.keepCheckpoints < steps.size(); ++i) {
        std::error_code ec;
        fs::remove(steps[i], ec);
    }
}

// ---------------------------------------------------------------------------------------------------
void MultiCriticTrainer::train(JobObserver& observer, CancelToken& cancel) {
    const int64_t total = options_.iterations;
    {
        std::ostringstream s;
        s << options_.phase << ": " << slots_.size() << " critic(s), batch " << batchSize_;
        if (batchSize_ != options_.batchSize) s << " (clamped from " << options_.batchSize << " to the smallest source)";
        s << ", n_critic " << options_.nCritic << ", gp " << toString(options_.gpMode) << ", weights "
          << toString(weights_.mode()) << ", " << toString(precision_) << ", " << (step_ > 0 ? "resuming at step " + std::to_string(step_) : "from step 0");
        observer.onLog(LogLevel::Info, s.str());
        for (size_t k = 0; k < slots_.size(); ++k)
            observer.onLog(LogLevel::Info, "source " + std::to_string(k) + ": " + slots_[k].source->describe() +
                                               ", λ = " + std::to_string(weights_.lambdas()[k]));
    }
    if (step_ == 0) {
        emitSamples(observer);
        for (auto& e : evaluators_)
            if (e.atStart) runEvaluator(e, observer);
    }
    observer.onProgress(step_, total, options_.phase);
    synchronizeModels();

    bool betweenIterations = true;
    try {
        while (step_ < total) {
            if (!parallel_) cancel.check();
            else if (parallel_->any(cancel.cancelRequested(), "the cancel check")) throw Cancelled();  // all stop at one step
            betweenIterations = false;
            runIteration(cancel, observer);
            betweenIterations = true;
            observer.onProgress(step_, total, options_.phase);
            if (options_.sampleEvery > 0 && step_ % options_.sampleEvery == 0) emitSamples(observer);
            for (auto& e : evaluators_)
                if (e.every > 0 && step_ % e.every == 0) runEvaluator(e, observer);
            if (options_.checkpointEvery > 0 && step_ % options_.checkpointEvery == 0) writeCheckpoint(observer);
        }
    } catch (const Cancelled&) {
        if (betweenIterations) {
            writeCheckpoint(observer);  // keeps the finished iterations; the state is consistent here
            observer.onLog(LogLevel::Info, options_.phase + ": cancelled at step " + std::to_string(step_));
        } else {
            observer.onLog(LogLevel::Info, options_.phase + ": cancelled during step " + std::to_string(step_ + 1) +
                                               "; the last checkpoint is step " + std::to_string(lastCheckpointStep_));
        }
        throw;
    } catch (const PeerLost& e) {
        throw Error(std::string(e.what()) + "; " +
                    (!isRoot() ? std::string("resume from rank 0's last checkpoint (checkpoints/latest.coalesce of the run)")
                     : lastCheckpointStep_ < 0 ? std::string("no checkpoint had been written yet")
                                             : "resume from the last good checkpoint, step " + std::to_string(lastCheckpointStep_) +
                                                   " (" + lastCheckpointPath_ + ")"));
    }
    if (lastSampleStep_ != step_) emitSamples(observer);
    for (auto& e : evaluators_)
        if (e.lastStep != step_) runEvaluator(e, observer);
    writeCheckpoint(observer);
    reportPhases(observer);
    if (parallel_) parallel_->barrier("the end of training");  // rank 0's last checkpoint exists for all
}

void MultiCriticTrainer::reportPhases(JobObserver& observer) const {
    double total = 0;
    for (const auto& [phase, seconds] : phaseSeconds_) total += seconds;
    if (total <= 0) return;
    std::ostringstream s;
    s << options_.phase << ": time by phase (" << std::fixed << std::setprecision(1) << total << " s):";
    nlohmann::json timing = nlohmann::json::object();
    for (const auto& [phase, seconds] : phaseSeconds_) {
        s << " " << phase << " " << seconds << " s (" << std::setprecision(0) << 100 * seconds / total << " %),"
          << std::setprecision(1);
        timing[phase] = seconds;
    }
    std::string line = s.str();
    line.pop_back();  // the last comma
    observer.onLog(LogLevel::Info, line);
    if (runDir_ && isRoot())
        writeFileAtomically(runDir_->path() + "/timing.json",
                            nlohmann::json{{"phase", options_.phase}, {"steps", step_}, {"seconds", timing}}.dump(2) + "\n");
}

}  // namespace coalesce
