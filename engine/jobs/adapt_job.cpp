// Job "adapt" (METHOD.md stage 2, fast adaptation at the edge): G starts from the barycenter B and is
// trained against two fresh critics, one on samples of the frozen B (weight λ_B) and one on the n local
// samples (weight λ_0); batch = min(batch_size, n). Local samples are a k-shot subset (without
// replacement, from k_seed) of the data spec.
//
// {"kind": "adapt", "barycenter": "runs/bary/generator.coalesce",
//  "data": "fashion-mnist:train:8,9", "k": 20, "k_seed": 1,
//  "lambda_barycenter": 1, "lambda_local": 1,             (normalised; the reference uses 1:1)
//  "lambda_barycenter": "auto", "radius_estimation": {…}  (λ_k ∝ 1/η_k from the local samples: η_B = W1(local,
//                                                          B samples), η_0 = the samples' own sampling radius;
//                                                          train/radius_estimation.h; no lambda_local then)
//  "radius_barycenter": 0.5, "weights": "fixed" | "constrained", "update_every": 10, "step_size": 0.01,
//  "source_samples": 0,                                   (0 = sample B online; N = freeze N samples)
//  "barycenter_schedule": "constant" | "linear" | "cosine", (λ_B decays to 0 over the run: critic_weights.h)
//  "critic_init": "runs/bary/checkpoints/latest.coalesce", "critic_init_prefix": "critic0",
//                                                         (both critics start from a stage-1 critic, not fresh)
//  "freeze_critic_blocks": 0,                             (FreezeD: the local critic's first blocks stay fixed)
//  "ternarize": {"method": "learned", ...},               (optional, jobs/ternary_config.h: adapt a ternarised
//                                                          G (METHOD.md stage 3 during stage 2); writes
//                                                          generator.ctern and generator.coalesce = the
//                                                          ternary generator in float form)
//  "by_regime": {"blend": {…}, "nearest": {…},            (stage-2 fields chosen by the stage-1 run's coverage
//               "unclear": {…}},                          check, read at Start from the config.json beside the
//                                                          barycenter file; without an "unclear" branch, "unclear"
//                                                          takes "blend")
//  + the trainer fields, "eval_every", "eval_samples", "evaluation", "evaluation_every", "run_dir", "resume", "runtime"}
//
// In constrained mode λ_B follows projected dual ascent on Ŵ_B − η_B and λ_0 stays fixed (the local
// term is the objective). Implemented as a two-source coalescence (train/coalescence.h).
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "jobs/job_factory.h"
#include "jobs/ternary_config.h"
#include "train/coalescence.h"

namespace coalesce {

namespace {

// Fields a "by_regime" branch may not set: they say which run this is, not how it adapts.
const std::set<std::string> kRunIdentity{"barycenter", "data", "k", "k_seed", "by_regime", "run_dir", "resume", "runtime",
                                         "kind", "seed"};

std::set<std::string> adaptKeys() {
    std::set<std::string> known = trainerOptionKeys();
    for (const auto& k : commonJobKeys()) known.insert(k);
    known.insert({"barycenter", "data", "k", "k_seed", "lambda_barycenter", "lambda_local", "radius_barycenter",
                  "weights", "update_every", "step_size", "penalty", "source_samples", "eval_every", "eval_samples",
                  "ternarize", "barycenter_schedule", "critic_init", "critic_init_prefix", "freeze_critic_blocks",
                  "radius_estimation", "by_regime"});
    for (const auto& k : protocolEvaluationKeys()) known.insert(k);
    return known;
}

// The adapt config (without by_regime) as the two-source coalescence it runs, read with that job's checks.
CoalescenceConfig toCoalescence(const Json& config, const std::string& context) {
    ConfigReader r(config, context);
    const std::string barycenter = r.text("barycenter", "");
    if (barycenter.empty()) throw Error(context + ": barycenter is required (the stage-1 generator file)");
    const std::string data = r.text("data", "");
    if (data.empty()) throw Error(context + ": data is required (the local samples, e.g. \"fashion-mnist:train:8,9\")");

    Json bary = Json::object();
    for (const auto& key : trainerOptionKeys())
        if (config.contains(key)) bary[key] = config[key];
    for (const char* key : {"weights", "update_every", "step_size", "penalty", "source_samples", "eval_every", "eval_samples"})
        if (config.contains(key)) bary[key] = config[key];
    for (const auto& key : protocolEvaluationKeys())
        if (config.contains(key)) bary[key] = config[key];
    Json barycenterSource{{"generator", barycenter}, {"name", "barycenter"}};
    Json localSource{{"data", data}, {"name", "local"}};
    const bool autoAnchor = config.contains("lambda_barycenter") && config["lambda_barycenter"].is_string();
    if (autoAnchor) {
        if (config["lambda_barycenter"] != "auto")
            throw Error(context + ": lambda_barycenter must be a number or \"auto\", got " + config["lambda_barycenter"].dump());
        if (r.has("lambda_local"))
            throw Error(context + ": lambda_barycenter \"auto\" sets λ_local too (from the local samples' sampling radius); remove lambda_local");
        if (r.has("radius_barycenter"))
            throw Error(context + ": lambda_barycenter \"auto\" estimates η_B from the local samples; remove radius_barycenter");
        bary["radii"] = "auto";
        if (r.has("radius_estimation")) bary["radius_estimation"] = config["radius_estimation"];
    } else {
        if (r.has("radius_estimation"))
            throw Error(context + ": radius_estimation is used only with lambda_barycenter \"auto\"");
        barycenterSource["lambda"] = r.number("lambda_barycenter", 1.0);
        localSource["lambda"] = r.number("lambda_local", 1.0);
        if (r.has("radius_barycenter")) barycenterSource["radius"] = r.number("radius_barycenter", 0);
    }
    if (r.has("barycenter_schedule")) barycenterSource["schedule"] = config["barycenter_schedule"];
    if (r.has("critic_init")) {
        const std::string file = r.text("critic_init", "");
        if (file.empty()) throw Error(context + ": critic_init must name a checkpoint file (or be left out)");
        for (Json* source : {&barycenterSource, &localSource}) {
            (*source)["critic"] = file;
            (*source)["critic_prefix"] = r.text("critic_init_prefix", "critic0");
        }
    } else if (r.has("critic_init_prefix")) {
        throw Error(context + ": critic_init_prefix needs critic_init (the checkpoint holding that critic)");
    }
    if (r.has("freeze_critic_blocks")) localSource["freeze_critic_blocks"] = config["freeze_critic_blocks"];
    if (r.has("k")) localSource["k"] = config["k"];
    if (r.has("k_seed")) localSource["k_seed"] = config["k_seed"];
    bary["sources"] = Json::array({barycenterSource, localSource});
    bary["init"] = Json{{"generator", barycenter}};
    CoalescenceConfig out = readCoalescenceConfig(ConfigReader(bary, context));
    out.transform = readTernarizeSection(r);
    return out;
}

// Which by_regime branch a recorded regime takes: its own, or "blend" for "unclear" without a branch of its own.
std::string branchFor(const Json& branches, const std::string& regime) {
    if (regime == "nearest" || (regime == "unclear" && branches.contains("unclear"))) return regime;
    return "blend";
}

// The config with the by_regime branch for `regime` merged in (its fields win) and by_regime removed.
Json withRegime(Json config, const std::string& regime) {
    const Json branches = config["by_regime"];
    config.erase("by_regime");
    for (const auto& [key, value] : branches[branchFor(branches, regime)].items()) config[key] = value;
    return config;
}

// What the stage-1 run of `barycenterFile` found: radii_estimated.coverage.regime in its config.json.
std::string recordedRegime(const std::string& barycenterFile) {
    const std::filesystem::path recordFile = std::filesystem::path(barycenterFile).parent_path() / "config.json";
    std::ifstream in(recordFile);
    Json record;
    try {
        if (in) record = Json::parse(in);
    } catch (const std::exception&) {
        throw Error("adapt: by_regime: " + recordFile.string() + " is not valid JSON");
    }
    const Json* coverage = nullptr;
    if (record.contains("radii_estimated") && record["radii_estimated"].contains("coverage"))
        coverage = &record["radii_estimated"]["coverage"];
    if (!coverage || !coverage->contains("regime") || !(*coverage)["regime"].is_string())
        throw Error("adapt: by_regime needs the stage-1 run's coverage check: " + recordFile.string() +
                    " records none (run the barycenter with \"radii\": \"auto\" and at least two generator sources)");
    return (*coverage)["regime"].get<std::string>();
}

class AdaptJob : public Job {
public:
    explicit AdaptJob(const Json& config) : config_(config) {
        ConfigReader r(config_, "adapt");
        r.rejectUnknownKeys(adaptKeys());
        if (r.has("by_regime")) {
            // Both branches are checked now (a typo fails before the run starts); one is chosen at Start.
            const Json& branches = config_["by_regime"];
            if (!branches.is_object() || !branches.contains("blend") || !branches.contains("nearest"))
                throw Error("adapt: by_regime must be an object {\"blend\": {…}, \"nearest\": {…}[, \"unclear\": {…}]} of stage-2 fields");
            for (const auto& [regime, fields] : branches.items()) {
                const std::string where = "adapt: by_regime." + regime;
                if (regime != "blend" && regime != "nearest" && regime != "unclear")
                    throw Error("adapt: by_regime: unknown regime \"" + regime + "\" (blend, nearest, unclear)");
                if (!fields.is_object()) throw Error(where + " must be an object of stage-2 fields");
                ConfigReader(fields, where).rejectUnknownKeys(adaptKeys());
                for (const auto& [key, value] : fields.items())
                    if (kRunIdentity.count(key)) throw Error(where + ": \"" + key + "\" cannot depend on the regime; set it outside by_regime");
                toCoalescence(withRegime(config_, regime), where);
            }
        } else {
            coalescence_ = toCoalescence(config_, "adapt");
        }
        frame_ = readRunFrame(r, "adapt");
    }
    std::string kind() const override { return "adapt"; }
    JobResult run(JobObserver& observer, CancelToken& cancel) override {
        return runTrainingJob("adapt", config_, frame_, resumeOrCreate(frame_.resume), observer, cancel, [this](TrainingRun& run) {
            if (config_.contains("by_regime")) {
                const std::string regime = recordedRegime(config_["barycenter"].get<std::string>());
                const Json chosen = withRegime(config_, regime);
                coalescence_ = toCoalescence(chosen, "adapt");
                const Json& fields = config_["by_regime"][branchFor(config_["by_regime"], regime)];
                run.observer.onLog(LogLevel::Info, "adapt: the barycenter run's coverage check found the regime \"" + regime +
                                                       "\": stage 2 uses " + fields.dump());
                run.runDir.recordConfig("regime", Json{{"regime", regime}, {"settings", fields}});
            }
            return runCoalescence(coalescence_, run);
        });
    }

private:
    Json config_;
    CoalescenceConfig coalescence_;
    RunFrame frame_;
};

}  // namespace

std::unique_ptr<Job> makeAdaptJob(const Json& config) { return std::make_unique<AdaptJob>(config); }

}  // namespace coalesce
