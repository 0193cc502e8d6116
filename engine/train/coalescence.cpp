#include "train/coalescence.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include <torch/torch.h>

#include "core/error.h"
#include "core/json_text.h"
#include "data/dataset.h"
#include "io/checkpoint.h"
#include "io/model_files.h"
#include "metrics/optimal_transport.h"
#include "train/black_box_source.h"
#include "train/weight_rule.h"

namespace fs = std::filesystem;

namespace coalesce {

namespace {

constexpr uint64_t kStreamEvaluation = 4000;  // + k: source k's fixed evaluation samples
constexpr uint64_t kStreamStage = 5000;       // + j: recursive stage j's trainer seed
constexpr uint64_t kStreamMixture = 900;       // + kStreamEvaluation: the mixture critic's evaluation samples

InitMode parseInitMode(const Json& v, std::string* file, const std::string& context) {
    if (v.is_object()) {
        ConfigReader r(v, context + ": init");
        r.rejectUnknownKeys({"generator"});
        *file = r.text("generator", "");
        if (file->empty()) throw Error(context + ": init: {\"generator\": \"<file>\"} needs a file");
        return InitMode::File;
    }
    if (!v.is_string()) throw Error(context + ": init must be largest, average, random or {\"generator\": file}");
    const std::string s = v.get<std::string>();
    if (s == "largest") return InitMode::LargestWeight;
    if (s == "average") return InitMode::Average;
    if (s == "random") return InitMode::Random;
    throw Error(context + ": init: unknown '" + s + "' (use largest, average, random or {\"generator\": file})");
}

}  // namespace

std::set<std::string> coalescenceKeys() {
    std::set<std::string> keys{"sources", "weights", "update_every", "step_size", "penalty", "init", "mode",
                               "source_samples", "arch", "eval_every", "eval_samples", "radii", "radius_estimation"};
    for (const auto& k : protocolEvaluationKeys()) keys.insert(k);
    return keys;
}

CoalescenceConfig readCoalescenceConfig(const ConfigReader& r) {
    CoalescenceConfig c;
    c.kind = r.context();
    const Json& sources = r.raw("sources");
    if (!sources.is_array() || sources.empty())
        throw Error(r.context() + ": sources must be a non-empty array of {\"generator\": file} or {\"data\": spec}");
    const int64_t sourceSamples = r.integer("source_samples", 0);
    if (sourceSamples < 0) throw Error(r.context() + ": source_samples must be >= 0 (0 = sample online)");
    c.trainer = readTrainerOptions(r);
    size_t typed = 0;
    for (size_t i = 0; i < sources.size(); ++i) {
        const std::string where = r.context() + ": sources[" + std::to_string(i) + "]";
        ConfigReader s(sources[i], where);
        s.rejectUnknownKeys({"generator", "generators", "black_box", "latent_dim", "timeout_s", "data", "k", "k_seed",
                             "lambda", "radius", "name", "samples", "critic", "critic_prefix", "freeze_critic_blocks",
                             "schedule"});
        CoalescenceSource src;
        src.generatorPath = s.text("generator", "");
        src.blackBoxPath = s.text("black_box", "");
        if (src.blackBoxPath.empty() && (s.has("latent_dim") || s.has("timeout_s")))
            throw Error(where + ": latent_dim and timeout_s apply to \"black_box\" sources only");
        src.blackBoxLatentDim = s.integer("latent_dim", 0);
        if (src.blackBoxLatentDim < 0 || src.blackBoxLatentDim > 65536)
            throw Error(where + ": latent_dim must be in 1..65536 (leave it out to read the module's latent_dim)");
        src.blackBoxTimeoutSeconds = s.number("timeout_s", 60);
        if (!(src.blackBoxTimeoutSeconds > 0) || src.blackBoxTimeoutSeconds > 86400)
            throw Error(where + ": timeout_s must be in (0, 86400] seconds");
        src.dataSpec = s.text("data", "");
        if (s.has("generators")) {
            const Json& list = s.raw("generators");
            if (!list.is_array() || list.size() < 2)
                throw Error(where + ": generators must be an array of at least two generator files (a pooled source)");
            for (const auto& f : list) {
                if (!f.is_string()) throw Error(where + ": generators must hold file names, got " + f.dump());
                src.pooledPaths.push_back(f.get<std::string>());
            }
        }
        const int kinds = !src.generatorPath.empty() + !src.pooledPaths.empty() + !src.blackBoxPath.empty() +
                          !src.dataSpec.empty();
        if (kinds != 1)
            throw Error(where + ": give exactly one of \"generator\" (a model file), \"generators\" (a pooled "
                                "mixture), \"black_box\" (a TorchScript generator, only sampled) or \"data\" (a dataset spec)");
        src.criticFile = s.text("critic", "");
        src.criticPrefix = s.text("critic_prefix", "critic0");
        const int64_t freeze = s.integer("freeze_critic_blocks", 0);
        if (freeze < 0 || freeze > 64) throw Error(where + ": freeze_critic_blocks must be in 0..64");
        src.freezeCriticBlocks = static_cast<int>(freeze);
        src.k = s.integer("k", 0);
        if (src.k < 0) throw Error(where + ": k must be >= 0 (0 = all samples)");
        const int64_t kSeed = s.integer("k_seed", static_cast<int64_t>(c.trainer.seed));
        if (kSeed < 0) throw Error(where + ": k_seed must be >= 0");
        src.kSeed = static_cast<uint64_t>(kSeed);
        if (s.has("lambda")) {
            src.lambda = s.number("lambda", 0);
            ++typed;
        }
        if (s.has("radius")) src.radius = s.number("radius", 0);
        try {
            src.schedule = parseWeightSchedule(s.text("schedule", "constant"));
        } catch (const Error& e) {
            throw Error(where + ": " + e.what());
        }
        src.frozenSamples = s.integer("samples", sourceSamples);
        if (src.frozenSamples < 0) throw Error(where + ": samples must be >= 0 (0 = sample online)");
        if ((!src.dataSpec.empty() || !src.blackBoxPath.empty()) && s.has("samples"))
            throw Error(where + ": samples applies to generator sources only (a black box is sampled online)");
        auto shortName = [](const std::string& path) {
            return fs::path(path).parent_path().filename().string() + "/" + fs::path(path).filename().string();
        };
        std::string fallback = src.dataSpec;
        if (!src.generatorPath.empty()) fallback = shortName(src.generatorPath);
        if (!src.blackBoxPath.empty()) fallback = shortName(src.blackBoxPath);
        for (size_t p = 0; p < src.pooledPaths.size(); ++p) fallback += (p ? "+" : "pooled ") + shortName(src.pooledPaths[p]);
        src.name = s.text("name", fallback);
        c.sources.push_back(src);
    }
    if (typed != 0 && typed != c.sources.size())
        throw Error(r.context() + ": give lambda for every source or for none (" + std::to_string(typed) + " of " +
                    std::to_string(c.sources.size()) + " have one)");
    try {
        c.weights.mode = parseWeightMode(r.text("weights", "fixed"));
    } catch (const Error& e) {
        throw Error(r.context() + ": " + e.what());
    }
    c.weights.updateEvery = r.integer("update_every", c.weights.updateEvery);
    c.weights.stepSize = r.number("step_size", c.weights.stepSize);
    c.weights.penalty = r.number("penalty", c.weights.penalty);
    bool anySchedule = false;
    for (const auto& s : c.sources) {
        if (typed) c.weights.lambdas.push_back(s.lambda);
        c.weights.radii.push_back(s.radius);
        c.weights.schedules.push_back(s.schedule);
        anySchedule = anySchedule || s.schedule != WeightSchedule::Constant;
    }
    if (!anySchedule) c.weights.schedules.clear();
    c.weights.horizon = c.trainer.iterations;
    bool anyRadius = false;
    for (double x : c.weights.radii) anyRadius = anyRadius || !std::isnan(x);
    if (!anyRadius) c.weights.radii.clear();
    const std::string radii = r.text("radii", "given");
    if (radii != "given" && radii != "auto")
        throw Error(r.context() + ": radii must be \"given\" (from each source's radius) or \"auto\" (estimated from the local data)");
    if (radii == "auto") {
        // Generator sources are measured against the local samples; one data source may be those local
        // samples themselves (stage 2), measured by its own sampling radius (train/radius_estimation.h).
        std::optional<LocalSample> local;
        for (size_t i = 0; i < c.sources.size(); ++i) {
            const std::string where = r.context() + ": sources[" + std::to_string(i) + "]";
            const CoalescenceSource& s = c.sources[i];
            if (!s.pooledPaths.empty())
                throw Error(where + ": radii \"auto\" estimates η for generator sources and the local data, not pooled sources");
            if (!s.dataSpec.empty()) {
                if (local) throw Error(where + ": radii \"auto\" takes one data source (the local samples), this is the second");
                local = LocalSample{s.dataSpec, s.k, s.kSeed};
            }
            if (!std::isnan(s.radius) || typed)
                throw Error(where + ": radii \"auto\" estimates η; remove the typed radius/lambda (or use radii \"given\")");
        }
        c.autoRadii = readRadiusEstimation(r, local ? &*local : nullptr);
        c.weights.radii.assign(c.sources.size(), 1.0);  // placeholders for the checks below; estimated at the start
    } else if (r.has("radius_estimation")) {
        throw Error(r.context() + ": radius_estimation is used only with radii \"auto\"");
    }
    try {
        CriticWeights check(c.weights, c.sources.size());  // validates λ, η, ρ, M now, not after loading
    } catch (const Error& e) {
        throw Error(r.context() + ": " + e.what());
    }
    if (r.has("init")) c.init = parseInitMode(r.raw("init"), &c.initFile, r.context());
    const std::string mode = r.text("mode", "joint");
    static const std::map<std::string, CombineMode> modes{{"joint", CombineMode::Joint}, {"recursive", CombineMode::Recursive},
                                                          {"mixture", CombineMode::Mixture}, {"auto", CombineMode::Auto}};
    if (!modes.count(mode)) throw Error(r.context() + ": mode: unknown '" + mode + "' (use joint, recursive, mixture or auto)");
    c.mode = modes.at(mode);
    if (c.mode != CombineMode::Joint) {
        // Joint is the only mode with a critic per source: the per-source weight rules need it.
        if (c.weights.mode == WeightMode::Constrained)
            throw Error(r.context() + ": constrained weights need mode joint (a critic per source to measure Ŵ_k)");
        if (!c.weights.schedules.empty())
            throw Error(r.context() + ": a weight schedule needs mode joint (a critic per source)");
        if (c.sources.size() < 2) throw Error(r.context() + ": mode " + mode + " needs at least 2 sources");
    }
    if (c.mode == CombineMode::Mixture || c.mode == CombineMode::Auto) {
        for (size_t i = 0; i < c.sources.size(); ++i)
            if (c.sources[i].generatorPath.empty())
                throw Error(r.context() + ": sources[" + std::to_string(i) + "]: mode " + mode +
                            " mixes generator files; give each source as {\"generator\": file}");
        for (size_t i = 0; i < c.sources.size(); ++i)
            if (!c.sources[i].criticFile.empty() || c.sources[i].freezeCriticBlocks > 0)
                throw Error(r.context() + ": sources[" + std::to_string(i) + "]: mode " + mode +
                            " trains one new critic on the mixture; critic and freeze_critic_blocks need mode joint");
        for (const auto& src : c.sources)
            if (src.frozenSamples != c.sources.front().frozenSamples)
                throw Error(r.context() + ": mode " + mode + " draws one mixture: give every source the same samples (or source_samples)");
        if (c.mode == CombineMode::Auto && !c.autoRadii)
            throw Error(r.context() + ": mode auto chooses by the coverage check of the local data; it needs radii \"auto\"");
    }
    if (r.has("arch")) c.arch = readArchSpec(r, ArchSpec::preset("dcgan32"));
    c.evalEvery = r.integer("eval_every", c.trainer.sampleEvery);
    if (c.evalEvery < 0) throw Error(r.context() + ": eval_every must be >= 0");
    c.evalSamples = r.integer("eval_samples", 512);
    if (c.evalSamples < 1 || c.evalSamples > 100000) throw Error(r.context() + ": eval_samples must be in 1..100000");
    c.evaluation = readProtocolEvaluation(r);
    return c;
}

CombineMode combineModeForRegime(const std::string& regime) {
    return regime == "blend" || regime == "unclear" ? CombineMode::Mixture : CombineMode::Joint;
}

Generator averageGenerators(const std::vector<Generator>& generators) {
    if (generators.empty()) throw Error("init average: no generator sources to average");
    const ArchSpec& spec = generators.front()->spec();
    for (const auto& g : generators)
        if (g->spec() != spec)
            throw Error("init average: sources have different architectures (" + spec.describe() + " vs " +
                        g->spec().describe() + ")");
    Generator out = cloneGenerator(generators.front());
    torch::NoGradGuard noGrad;
    const double n = static_cast<double>(generators.size());
    auto average = [&](torch::OrderedDict<std::string, torch::Tensor> target, bool buffers) {
        for (auto& item : target) {
            torch::Tensor sum = torch::zeros(item.value().sizes(), torch::kDouble);
            for (const auto& g : generators) {
                auto all = buffers ? g->named_buffers(true) : g->named_parameters(true);
                sum += all[item.key()].to(torch::kCPU, torch::kDouble);
            }
            torch::Tensor mean = sum / n;
            if (!item.value().is_floating_point()) mean = mean.round();
            item.value().copy_(mean.to(item.value().scalar_type()));
        }
    };
    average(out->named_parameters(true), false);
    average(out->named_buffers(true), true);
    return out;
}

// ---------------------------------------------------------------------------------------------------
namespace {

// One critic's source as the trainer will see it.
struct SourceInput {
    std::string name;
    std::string label;            // metric suffix at the top level (global source index, or "prev")
    Generator generator{nullptr}; // generator source, ...
    std::vector<Generator> pooled;  // ... pooled generators (mixed with poolWeights; empty = equal), ...
    std::vector<double> poolWeights;
    std::shared_ptr<BlackBoxGenerator> blackBox;  // ... a black box (sampled at workingShape), ...
    std::vector<int64_t> workingShape;
    Dataset data;                 // ... or dataset source
    std::string criticFile, criticPrefix;
    int freezeCriticBlocks = 0;
    int64_t frozen = 0;
    double radius = std::nan("");
    torch::Tensor evalSamples;    // fixed samples for the w1/<k> metric (CPU)
};

std::unique_ptr<SampleSource> makeSampleSource(const SourceInput& s) {
    if (!s.pooled.empty()) {
        if (s.frozen > 0) return std::make_unique<FrozenSampleSource>(s.pooled, s.frozen, s.name, s.poolWeights);
        return std::make_unique<GeneratorSource>(s.pooled, s.name, s.poolWeights);
    }
    if (s.generator) {
        if (s.frozen > 0) return std::make_unique<FrozenSampleSource>(s.generator, s.frozen, s.name);
        return std::make_unique<GeneratorSource>(s.generator, s.name);
    }
    if (s.blackBox) return std::make_unique<BlackBoxSource>(s.blackBox, s.workingShape, s.name);
    return std::make_unique<DatasetSource>(s.data);
}

torch::Tensor fixedEvaluationSamples(const SourceInput& s, int64_t count, uint64_t seed) {
    at::Generator rng = makeCpuGenerator(seed);
    if (!s.pooled.empty()) {
        std::vector<Generator> copies;
        for (const auto& g : s.pooled) copies.push_back(cloneGenerator(g));
        return GeneratorSource::drawMixture(copies, count, rng, 0, -1, s.poolWeights).to(torch::kCPU);
    }
    if (s.generator) {
        Generator g = cloneGenerator(s.generator);
        return GeneratorSource::drawSamples(g, count, rng).to(torch::kCPU);
    }
    if (s.blackBox) return s.blackBox->draw(count, rng, s.workingShape);
    const int64_t n = std::min<int64_t>(count, s.data.size());
    return s.data.samples.index_select(0, torch::randperm(s.data.size(), rng).narrow(0, 0, n));
}

// Forwards a stage's events to the top-level observer on one step axis, with metric suffixes renamed
// from the stage's critic index to the job's source labels.
class StageObserver : public JobObserver {
public:
    StageObserver(JobObserver& inner, int64_t offset, int64_t total, std::vector<std::string> labels)
        : inner_(inner), offset_(offset), total_(total), labels_(std::move(labels)) {}
    void onProgress(std::int64_t done, std::int64_t, const std::string& phase) override {
        inner_.onProgress(offset_ + done, total_, phase);
    }
    void onMetric(const std::string& name, std::int64_t step, double value) override {
        const auto slash = name.rfind('/');
        std::string renamed = name;
        if (slash != std::string::npos) {
            const std::string suffix = name.substr(slash + 1);
            if (!suffix.empty() && std::all_of(suffix.begin(), suffix.end(), ::isdigit)) {
                const size_t k = std::stoul(suffix);
                if (k < labels_.size()) renamed = name.substr(0, slash + 1) + labels_[k];
            }
        }
        inner_.onMetric(renamed, offset_ + step, value);
    }
    void onImage(const std::string& tag, std::int64_t step, const ImageU8& image) override {
        inner_.onImage(tag, offset_ + step, image);
    }
    void onLog(LogLevel level, const std::string& message) override { inner_.onLog(level, message); }
    void onCheckpoint(std::int64_t step, const std::string& path) override { inner_.onCheckpoint(offset_ + step, path); }

private:
    JobObserver& inner_;
    int64_t offset_, total_;
    std::vector<std::string> labels_;
};

struct StageOutcome {
    Generator generator{nullptr};
    std::vector<double> lambdas, wHat;
    std::map<std::string, double> w1;  // last w1/<k> per stage-local k
    int64_t steps = 0;
    std::string generatorFile;
    Json artifacts;  // the transform's (null without one)
};

// Why a finished recursive stage in `stageDir` cannot be built upon by a resumed run with `stageConfig`
// ("" if it can): it was made with other sources, λ or trainer settings. Its run folder may be spelt
// differently (parent_run).
std::string stageConfigDifference(const fs::path& stageDir, const Json& stageConfig) {
    std::ifstream in(stageDir / "config.json");
    const Json stored = parseJsonOrDiscarded(in);
    for (const auto& [key, value] : stageConfig.items()) {
        if (key == "parent_run") continue;
        if (stored.is_discarded() || !stored.is_object() || !stored.contains(key) || stored[key] != value)
            return stageDir.string() + " was made with a different '" + key + "' (" +
                   (stored.is_object() && stored.contains(key) ? stored[key].dump() : std::string("absent")) + " there, " +
                   value.dump() + " now): resume with the settings it was started with, or use a new run folder";
    }
    return "";
}

StageOutcome runStage(const CoalescenceConfig& cfg, const std::vector<const SourceInput*>& inputs, Generator init,
                      const CriticWeightOptions& weights, const TrainerOptions& options, const Json& stageConfig,
                      RunDirectory& dir, bool resume, JobObserver& observer, CancelToken& cancel,
                      const torch::Device& device, const std::shared_ptr<DataParallel>& parallel, Precision precision,
                      const std::function<void(int64_t)>& onResumed = {}) {
    std::vector<CriticSource> sources;
    std::vector<torch::Tensor> evalSets;
    for (const SourceInput* s : inputs) {
        sources.push_back({s->name, makeSampleSource(*s), s->criticFile, s->criticPrefix, s->freezeCriticBlocks});
        evalSets.push_back(s->evalSamples);
    }
    const ArchSpec spec = init->spec();
    MultiCriticTrainer trainer(init, std::move(sources), weights, options, device);
    if (cfg.transform) trainer.setAlternatingParameters(cfg.transform->alternatingParameters(init));
    trainer.setRunDirectory(&dir);
    trainer.setDataParallel(parallel);
    trainer.setPrecision(precision);
    trainer.setCheckpointMeta({{"job", cfg.kind}, {"config", stageConfig}});
    if (!spec.isImage()) trainer.setPreviewReference(torch::cat(evalSets));

    auto w1 = std::make_shared<std::map<std::string, double>>();
    if (cfg.evalEvery > 0) {
        at::Generator latentRng = makeCpuGenerator(deriveSeed(options.seed, 3));
        torch::Tensor latent = init->sampleLatent(cfg.evalSamples, latentRng).to(torch::kCPU);
        const bool exact = !spec.isImage() && spec.dataDim <= 16;
        trainer.addEvaluator(cfg.evalEvery, [latent, evalSets, exact, w1](int64_t step, Generator& g, JobObserver& obs) {
            torch::Tensor fake = g->forward(latent.to(g->device())).to(torch::kCPU).flatten(1);
            for (size_t k = 0; k < evalSets.size(); ++k) {
                const torch::Tensor real = evalSets[k].flatten(1);
                const double value = exact ? exactW1(fake, real).value : slicedW1(fake, real);
                (*w1)[std::to_string(k)] = value;
                obs.onMetric("w1/" + std::to_string(k), step, value);
            }
        });
    }
    attachProtocolEvaluation(trainer, cfg.evaluation, spec, dir, observer, cancel, device);
    if (resume) {
        TrainingRun stageRun{stageConfig, dir, observer, cancel, device, true, parallel, precision};
        std::set<std::string> mayChange = resumableChanges();
        mayChange.insert("parent_run");  // a recursive stage's run folder, however it was spelt ("runs/x/", "/abs/runs/x")
        resumeTrainer(trainer, stageRun, mayChange);
        if (onResumed) onResumed(trainer.step());  // the resume was accepted
    }
    trainer.train(observer, cancel);

    StageOutcome out;
    out.generator = trainer.generator();
    out.lambdas = trainer.lambdas();
    out.wHat = trainer.wHat();
    out.w1 = *w1;
    out.steps = trainer.step();
    out.generatorFile = (fs::path(dir.path()) / "generator.coalesce").string();
    Json sourcesMeta = Json::array();
    for (size_t k = 0; k < inputs.size(); ++k)
        sourcesMeta.push_back({{"name", inputs[k]->name}, {"lambda", out.lambdas[k]}, {"w_hat", out.wHat[k]},
                               {"radius", std::isnan(inputs[k]->radius) ? Json() : Json(inputs[k]->radius)}});
    Json meta{{"job", cfg.kind}, {"step", out.steps}, {"sources", sourcesMeta}, {"config", stageConfig}};
    if (cfg.transform) {
        meta["transform"] = cfg.transform->describe();
        out.artifacts = cfg.transform->writeArtifacts(out.generator, dir.path());
        writeGeneratorFile(out.generatorFile, cfg.transform->exportable(out.generator), meta);
    } else {
        writeGeneratorFile(out.generatorFile, out.generator, meta);
    }
    return out;
}

// G's architecture when nothing names one and no source is a Coalesce generator: the small preset of
// the family whose image size is the first black box's height (64 → dcgan64, else dcgan32), with its
// channel count; dcgan32 gray when there is no black box either.
ArchSpec defaultArchForBlackBoxes(const std::vector<SourceInput>& inputs) {
    for (const auto& in : inputs)
        if (in.blackBox) {
            const auto shape = in.blackBox->nativeShape();
            return ArchSpec::preset(shape[1] >= 64 ? "dcgan64" : "dcgan32", "small", static_cast<int>(shape[0]));
        }
    return ArchSpec::preset("dcgan32");
}

Json sourceSummary(const SourceInput& s, double lambda, double wHat, const std::map<std::string, double>& w1,
                   const std::string& stageIndex) {
    Json j{{"name", s.name}, {"lambda", lambda}, {"w_hat", wHat}};
    if (!std::isnan(s.radius)) j["radius"] = s.radius;
    auto it = w1.find(stageIndex);
    if (it != w1.end()) j["w1"] = it->second;
    return j;
}

// 1. Every source loaded (generator files on the CPU; black boxes started in their worker). Datasets
// come later, with G's channel count.
struct LoadedSources {
    std::vector<SourceInput> inputs;
    std::optional<ArchSpec> firstGeneratorArch;
};

LoadedSources loadSources(const CoalescenceConfig& cfg, JobObserver& observer, CancelToken& cancel) {
    LoadedSources loaded;
    auto& inputs = loaded.inputs;
    inputs.resize(cfg.sources.size());
    for (size_t k = 0; k < cfg.sources.size(); ++k) {
        const CoalescenceSource& s = cfg.sources[k];
        inputs[k].name = s.name;
        inputs[k].label = std::to_string(k);
        inputs[k].radius = s.radius;
        inputs[k].frozen = s.frozenSamples;
        inputs[k].criticFile = s.criticFile;
        inputs[k].criticPrefix = s.criticPrefix;
        inputs[k].freezeCriticBlocks = s.freezeCriticBlocks;
        for (const auto& path : s.pooledPaths) inputs[k].pooled.push_back(loadGenerator(path));
        if (!s.generatorPath.empty()) {
            inputs[k].generator = loadGenerator(s.generatorPath);
            if (!loaded.firstGeneratorArch) loaded.firstGeneratorArch = inputs[k].generator->spec();
        }
        if (!s.blackBoxPath.empty()) {
            inputs[k].blackBox = std::make_shared<BlackBoxGenerator>(
                BlackBoxOptions{s.blackBoxPath, s.blackBoxLatentDim, s.blackBoxTimeoutSeconds});
            observer.onLog(LogLevel::Info, cfg.kind + ": source " + s.name + " is a " + inputs[k].blackBox->describe() +
                                               ", run in a worker process");
        }
        cancel.check();
    }
    return loaded;
}

// "radii": "auto": η_k of every loaded source against the local samples, in the space they are compared in
// (the generators' sample shape; with black boxes only, G's planned one).
std::vector<RadiusEstimate> estimateRadiiOfLoaded(const CoalescenceConfig& cfg, const LoadedSources& loaded,
                                                  JobObserver& observer, CancelToken& cancel, CoverageCheck* coverage) {
    const std::vector<int64_t> shape = loaded.firstGeneratorArch ? loaded.firstGeneratorArch->sampleShape()
                                       : cfg.arch                ? cfg.arch->sampleShape()
                                                                 : defaultArchForBlackBoxes(loaded.inputs).sampleShape();
    std::vector<SourceDrawer> drawers;
    std::vector<std::string> names;
    for (const auto& in : loaded.inputs) {
        if (in.blackBox) {
            auto box = in.blackBox;
            drawers.push_back([box, shape](int64_t n, at::Generator& rng) { return box->draw(n, rng, shape); });
        } else {
            drawers.push_back(drawerOf(in.generator));
        }
        names.push_back(in.name);
    }
    return estimateRadiiForSources(drawers, shape, names, *cfg.autoRadii, observer, cancel, coverage);
}

}  // namespace

std::vector<RadiusEstimate> estimateRadiiOfSources(const CoalescenceConfig& config, JobObserver& observer,
                                                   CancelToken& cancel, CoverageCheck* coverage) {
    if (!config.autoRadii) throw Error(config.kind + ": estimating the radii needs \"radii\": \"auto\"");
    return estimateRadiiOfLoaded(config, loadSources(config, observer, cancel), observer, cancel, coverage);
}

Json runCoalescence(const CoalescenceConfig& given, TrainingRun& run) {
    CoalescenceConfig cfg = given;  // radii "auto" fills in the estimated η below
    LoadedSources loaded = loadSources(cfg, run.observer, run.cancel);
    std::vector<SourceInput>& inputs = loaded.inputs;
    const std::optional<ArchSpec>& firstGeneratorArch = loaded.firstGeneratorArch;
    Json estimatedRadii;
    if (cfg.autoRadii) {
        CoverageCheck coverage;
        const auto estimates = estimateRadiiOfLoaded(cfg, loaded, run.observer, run.cancel, &coverage);
        std::vector<double> etas;
        estimatedRadii = Json::array();
        for (size_t k = 0; k < estimates.size(); ++k) {
            etas.push_back(estimates[k].eta);
            inputs[k].radius = estimates[k].eta;
            Json e = estimates[k].toJson();
            e["name"] = inputs[k].name;
            estimatedRadii.push_back(e);
        }
        cfg.weights.radii = etas;
        const double power = powerForRegime(*cfg.autoRadii, coverage);
        cfg.weights.lambdas = lambdasFromRadii(etas, power);
        if (cfg.autoRadii->autoPower)
            run.observer.onLog(LogLevel::Info, "radii auto: power auto → λ_k ∝ η_k^−" + nlohmann::json(power).dump() +
                                                   " (coverage regime \"" + coverage.regime + "\")");
        Json record{{"options", cfg.autoRadii->toJson()}, {"sources", estimatedRadii}, {"lambda", cfg.weights.lambdas},
                    {"power", power}};
        if (!coverage.regime.empty()) record["coverage"] = coverage.toJson();
        if (cfg.mode == CombineMode::Auto) {
            cfg.mode = combineModeForRegime(coverage.regime);
            record["mode"] = cfg.mode == CombineMode::Joint ? "joint" : "mixture";
            run.observer.onLog(LogLevel::Info, std::string("mode auto → ") + record["mode"].get<std::string>() +
                                                   " (coverage regime \"" + coverage.regime + "\")");
        }
        run.runDir.recordConfig("radii_estimated", record);
    }
    const std::vector<double> initialLambdas = CriticWeights(cfg.weights, cfg.sources.size()).lambdas();

    // 2. The initial generator.
    Generator init{nullptr};
    std::string initDescription;
    switch (cfg.init) {
        case InitMode::File:
            init = cloneGenerator(loadGenerator(cfg.initFile));
            initDescription = "from " + cfg.initFile;
            break;
        case InitMode::Average: {
            std::vector<Generator> gens;
            for (const auto& in : inputs)
                if (in.generator) gens.push_back(in.generator);
            init = averageGenerators(gens);
            initDescription = "parameter average of " + std::to_string(gens.size()) + " generator sources";
            break;
        }
        case InitMode::LargestWeight: {
            int best = -1;
            for (size_t k = 0; k < inputs.size(); ++k)
                if (inputs[k].generator && (best < 0 || initialLambdas[k] > initialLambdas[best])) best = static_cast<int>(k);
            if (best >= 0) {
                init = cloneGenerator(inputs[best].generator);
                initDescription = "from source " + std::to_string(best) + " (" + inputs[best].name + ", largest λ)";
                break;
            }
            initDescription = "random (no generator source to start from)";
            [[fallthrough]];
        }
        case InitMode::Random: {
            ArchSpec spec = cfg.arch ? *cfg.arch : firstGeneratorArch ? *firstGeneratorArch : defaultArchForBlackBoxes(inputs);
            torch::manual_seed(deriveSeed(cfg.trainer.seed, 0));
            init = Generator(spec);
            if (initDescription.empty()) initDescription = "random";
            break;
        }
    }
    if (cfg.transform) {
        if (cfg.mode != CombineMode::Joint) throw Error(cfg.kind + ": a generator transform (ternarize) needs mode joint");
        init = cfg.transform->prepare(init);
        initDescription += ", then " + cfg.transform->describe();
    }
    init->train();
    const ArchSpec spec = init->spec();
    if (cfg.arch && *cfg.arch != spec && cfg.init != InitMode::Random)
        run.observer.onLog(LogLevel::Warning, cfg.kind + ": arch is ignored, G is initialised " + initDescription);

    // 3. Datasets (channel count from G) and the fixed evaluation samples.
    for (size_t k = 0; k < cfg.sources.size(); ++k) {
        const CoalescenceSource& s = cfg.sources[k];
        if (inputs[k].blackBox) {
            if (!spec.isImage()) throw Error(cfg.kind + ": black-box sources make images; G is " + spec.describe());
            inputs[k].workingShape = spec.sampleShape();
        }
        if (!s.dataSpec.empty()) {
            Dataset d = loadDataset(s.dataSpec, loadOptionsForSampleShape(spec.sampleShape()));
            for (const auto& w : d.warnings) run.observer.onLog(LogLevel::Warning, "data: " + w);
            if (s.k > 0) d = kShotSubset(d, s.k, s.kSeed);
            inputs[k].data = std::move(d);
        }
        inputs[k].evalSamples = fixedEvaluationSamples(inputs[k], cfg.evalSamples, deriveSeed(cfg.trainer.seed, kStreamEvaluation + k));
        run.cancel.check();
    }
    Json recorded = Json::array();
    for (const auto& in : inputs)
        recorded.push_back(in.generator        ? Json{{"name", in.name}, {"generator", in.generator->spec().describe()}}
                           : in.blackBox        ? Json{{"name", in.name}, {"black_box", in.blackBox->describe()}}
                           : !in.pooled.empty() ? Json{{"name", in.name}, {"pooled_generators", in.pooled.size()}}
                                                : Json{{"name", in.name}, {"dataset", in.data.name},
                                                       {"hash", in.data.hash}, {"size", in.data.size()}});
    run.runDir.recordConfig("dataset", Json{{"sources", recorded}, {"init", initDescription}});
    run.observer.onLog(LogLevel::Info, cfg.kind + ": G initialised " + initDescription + " (" + spec.describe() + ")");

    const std::string output = (fs::path(run.runDir.path()) / "generator.coalesce").string();
    Json summary;
    Json sourcesOut = Json::array();

    if (cfg.mode == CombineMode::Auto)  // resolved above; readCoalescenceConfig requires radii "auto" for it
        throw Error(cfg.kind + ": mode auto was not resolved (no coverage check ran)");
    if (cfg.mode == CombineMode::Mixture) {
        // One critic on the λ-weighted mixture of the generator sources (coalescence.h: why).
        SourceInput mixture;
        mixture.label = "mixture";
        for (size_t k = 0; k < inputs.size(); ++k) {
            mixture.name += (k ? " + " : "mixture of ") + inputs[k].name;
            mixture.pooled.push_back(inputs[k].generator);
        }
        mixture.poolWeights = initialLambdas;
        mixture.frozen = inputs.front().frozen;
        mixture.evalSamples = fixedEvaluationSamples(mixture, cfg.evalSamples,
                                                     deriveSeed(cfg.trainer.seed, kStreamEvaluation + kStreamMixture));
        CriticWeightOptions one;
        one.lambdas = {1.0};
        TrainerOptions options = cfg.trainer;
        options.phase = cfg.kind;
        // The one critic's metrics as lambda/mixture, w_hat/mixture, w1/mixture: "/0" would read as source 0's.
        StageObserver named(run.observer, 0, cfg.trainer.iterations, {"mixture"});
        StageOutcome out = runStage(cfg, {&mixture}, init, one, options, run.config, run.runDir, run.resume, named,
                                    run.cancel, run.device, run.parallel, run.precision);
        for (size_t k = 0; k < inputs.size(); ++k) {
            Json source{{"name", inputs[k].name}, {"lambda", initialLambdas[k]}};
            if (!std::isnan(inputs[k].radius)) source["radius"] = inputs[k].radius;
            sourcesOut.push_back(source);
        }
        summary = {{"message", cfg.kind + ": " + std::to_string(out.steps) + " iterations with one critic on the λ-mixture of " +
                                   std::to_string(inputs.size()) + " sources; generator: " + output},
                   {"generator", output}, {"steps", out.steps}, {"mode", "mixture"}, {"sources", sourcesOut},
                   {"mixture", sourceSummary(mixture, 1.0, out.wHat[0], out.w1, "0")}, {"init", initDescription}};
        if (!estimatedRadii.is_null()) summary["radii_estimated"] = estimatedRadii;
        return summary;
    }
    if (cfg.mode == CombineMode::Joint) {
        std::vector<const SourceInput*> all;
        for (const auto& in : inputs) all.push_back(&in);
        TrainerOptions options = cfg.trainer;
        options.phase = cfg.kind;
        StageOutcome out = runStage(cfg, all, init, cfg.weights, options, run.config, run.runDir, run.resume,
                                    run.observer, run.cancel, run.device, run.parallel, run.precision);
        for (size_t k = 0; k < inputs.size(); ++k)
            sourcesOut.push_back(sourceSummary(inputs[k], out.lambdas[k], out.wHat[k], out.w1, std::to_string(k)));
        summary = {{"message", cfg.kind + ": " + std::to_string(out.steps) + " iterations with " +
                                   std::to_string(inputs.size()) + " critics; generator: " + output},
                   {"generator", output}, {"steps", out.steps}, {"sources", sourcesOut}, {"init", initDescription}};
        if (!out.artifacts.is_null()) summary["transform"] = out.artifacts;
        if (!estimatedRadii.is_null()) summary["radii_estimated"] = estimatedRadii;
        return summary;
    }

    // Recursive: descending λ (stable), one two-critic stage per further source. In a data-parallel run
    // rank 0 owns the stage folders (run_dir/stage_j); rank r > 0 keeps its log in its own folder
    // (run_dir/ranks/r/stage_j), follows rank 0's decisions (stage already finished, or resumable) and
    // resumes from rank 0's checkpoints, as a one-stage run does (training_job.cpp).
    const bool root = !run.parallel || run.parallel->isRoot();
    const fs::path rootRunDir = root ? fs::path(run.runDir.path()) : fs::path(run.runDir.path()).parent_path().parent_path();
    const std::vector<size_t> order = mergeOrder(initialLambdas);
    const int64_t perStage = cfg.trainer.iterations;
    const int64_t total = perStage * static_cast<int64_t>(order.size() - 1);
    Generator previous{nullptr};
    SourceInput previousInput;
    double merged = initialLambdas[order[0]];
    Json stages = Json::array();
    for (size_t j = 2; j <= order.size(); ++j) {
        const size_t next = order[j - 1];
        const std::string stageName = "stage " + std::to_string(j);
        std::vector<const SourceInput*> stageInputs;
        std::vector<std::string> labels;
        CriticWeightOptions weights;
        weights.mode = WeightMode::Fixed;
        if (j == 2) {
            stageInputs = {&inputs[order[0]], &inputs[next]};
            labels = {inputs[order[0]].label, inputs[next].label};
            weights.lambdas = {initialLambdas[order[0]], initialLambdas[next]};
        } else {
            previousInput = SourceInput{};
            previousInput.name = "B_" + std::to_string(j - 1);
            previousInput.label = "prev";
            previousInput.generator = previous;
            previousInput.frozen = cfg.sources[order[0]].frozenSamples;
            previousInput.evalSamples = fixedEvaluationSamples(previousInput, cfg.evalSamples,
                                                               deriveSeed(cfg.trainer.seed, kStreamEvaluation + 100 + j));
            stageInputs = {&previousInput, &inputs[next]};
            labels = {"prev", inputs[next].label};
            weights.lambdas = {merged, initialLambdas[next]};
        }
        TrainerOptions options = cfg.trainer;
        options.phase = cfg.kind + " stage " + std::to_string(j) + "/" + std::to_string(order.size());
        options.seed = deriveSeed(cfg.trainer.seed, kStreamStage + j);
        Json stageConfig = {{"kind", cfg.kind + "-stage"}, {"stage", j}, {"parent_run", rootRunDir.string()},
                            {"sources", {stageInputs[0]->name, stageInputs[1]->name}},
                            {"lambda", weights.lambdas}, {"trainer", options.toJson()}};
        const fs::path stageDir = rootRunDir / ("stage_" + std::to_string(j));
        const fs::path stageGenerator = stageDir / "generator.coalesce";
        StageObserver stageObserver(run.observer, perStage * static_cast<int64_t>(j - 2), total, labels);

        bool done = false;
        std::string refusal;  // a finished stage made with other settings is not built upon
        if (root && run.resume && fs::exists(stageDir / "summary.json") && fs::exists(stageGenerator)) {
            std::ifstream in(stageDir / "summary.json");
            Json s = parseJsonOrDiscarded(in);
            done = !s.is_discarded() && s.value("status", std::string()) == "finished";
            if (done) refusal = stageConfigDifference(stageDir, stageConfig);
        }
        if (run.parallel) {
            done = run.parallel->any(done, stageName + ": finished already?");
            if (run.parallel->any(!refusal.empty(), stageName + ": made with these settings?") && refusal.empty())
                refusal = stageName + ": rank 0 refused to resume it (see its log)";
        }
        if (!refusal.empty()) throw Error(refusal);
        if (done) {
            std::ifstream in(stageDir / "summary.json");
            stages.push_back(parseJsonOrDiscarded(in));
            previous = cloneGenerator(loadGenerator(stageGenerator.string()));
            run.observer.onLog(LogLevel::Info, stageName + " already finished: " + stageGenerator.string());
        } else {
            bool resumeStage = root && run.resume && fs::exists(stageDir / "checkpoints" / "latest.coalesce");
            if (run.parallel) resumeStage = run.parallel->any(resumeStage, stageName + ": resumable?");
            // The run's own metrics.csv has the cut stage's rows too (steps offset by the earlier stages, whose
            // settings were checked above): the ones after the stage's checkpoint come again once its resume is
            // accepted. (A stage restarted from its step 0 re-emits its step-0 rows, which share the offset step
            // with the previous stage's last ones: those few may repeat.)
            const int64_t offset = perStage * static_cast<int64_t>(j - 2);
            const auto dropRunMetricsAfter = [&](int64_t stageStep) {
                if (root) run.runDir.dropMetricsAfter(offset + stageStep);
            };
            if (run.resume && !resumeStage) dropRunMetricsAfter(0);
            const fs::path ownDir = root ? stageDir : fs::path(run.runDir.path()) / stageDir.filename();
            if (!resumeStage || !root) fs::remove_all(ownDir);  // a stage that never checkpointed; a rank's scratch
            RunDirectory dir(ownDir.string(), stageConfig, root && resumeStage);
            if (!root) dir.useCheckpointsOf(stageDir.string());
            ObserverFanout fan;
            fan.add(&dir);
            fan.add(&stageObserver);
            Generator stageInit = j == 2 ? init : cloneGenerator(previous);
            stageInit->train();
            StageOutcome out = runStage(cfg, stageInputs, stageInit, weights, options, stageConfig, dir, resumeStage,
                                        fan, run.cancel, run.device, run.parallel, run.precision, dropRunMetricsAfter);
            Json s{{"status", "finished"}, {"stage", j}, {"generator", out.generatorFile}, {"steps", out.steps},
                   {"sources", {sourceSummary(*stageInputs[0], out.lambdas[0], out.wHat[0], out.w1, "0"),
                                sourceSummary(*stageInputs[1], out.lambdas[1], out.wHat[1], out.w1, "1")}}};
            dir.writeSummary(s);
            stages.push_back(s);
            previous = out.generator;
        }
        merged += initialLambdas[next];
    }
    writeGeneratorFile(output, previous,
                       {{"job", cfg.kind}, {"mode", "recursive"}, {"stages", stages.size()}, {"config", run.config}});
    for (size_t k = 0; k < inputs.size(); ++k)
        sourcesOut.push_back({{"name", inputs[k].name}, {"lambda", initialLambdas[k]}});
    return {{"message", cfg.kind + ": recursive barycenter over " + std::to_string(inputs.size()) + " sources in " +
                            std::to_string(stages.size()) + " stages; generator: " + output},
            {"generator", output}, {"steps", total}, {"sources", sourcesOut}, {"stages", stages}, {"init", initDescription}};
}

}  // namespace coalesce
