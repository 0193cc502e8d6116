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
//  + the trainer fields, "eval_every", "eval_samples", "evaluation", "evaluation_every", "run_dir", "resume", "runtime"}
//
// In constrained mode λ_B follows projected dual ascent on Ŵ_B − η_B and λ_0 stays fixed (the local
// term is the objective). Implemented as a two-source coalescence (train/coalescence.h).
#include "core/error.h"
#include "jobs/job_factory.h"
#include "jobs/ternary_config.h"
#include "train/coalescence.h"

namespace coalesce {

namespace {

class AdaptJob : public Job {
public:
    explicit AdaptJob(const Json& config) : config_(config) {
        ConfigReader r(config_, "adapt");
        std::set<std::string> known = trainerOptionKeys();
        for (const auto& k : commonJobKeys()) known.insert(k);
        known.insert({"barycenter", "data", "k", "k_seed", "lambda_barycenter", "lambda_local", "radius_barycenter",
                      "weights", "update_every", "step_size", "penalty", "source_samples", "eval_every", "eval_samples",
                      "ternarize", "barycenter_schedule", "critic_init", "critic_init_prefix", "freeze_critic_blocks",
                      "radius_estimation"});
        for (const auto& k : protocolEvaluationKeys()) known.insert(k);
        r.rejectUnknownKeys(known);
        const std::string barycenter = r.text("barycenter", "");
        if (barycenter.empty()) throw Error("adapt: barycenter is required (the stage-1 generator file)");
        const std::string data = r.text("data", "");
        if (data.empty()) throw Error("adapt: data is required (the local samples, e.g. \"fashion-mnist:train:8,9\")");

        // Translate into a two-source barycenter config and read it with the same validation.
        Json bary = Json::object();
        for (const auto& key : trainerOptionKeys())
            if (config_.contains(key)) bary[key] = config_[key];
        for (const char* key : {"weights", "update_every", "step_size", "penalty", "source_samples", "eval_every", "eval_samples"})
            if (config_.contains(key)) bary[key] = config_[key];
        for (const auto& key : protocolEvaluationKeys())
            if (config_.contains(key)) bary[key] = config_[key];
        Json barycenterSource{{"generator", barycenter}, {"name", "barycenter"}};
        Json localSource{{"data", data}, {"name", "local"}};
        const bool autoAnchor = config_.contains("lambda_barycenter") && config_["lambda_barycenter"].is_string();
        if (autoAnchor) {
            if (config_["lambda_barycenter"] != "auto")
                throw Error("adapt: lambda_barycenter must be a number or \"auto\", got " + config_["lambda_barycenter"].dump());
            if (r.has("lambda_local"))
                throw Error("adapt: lambda_barycenter \"auto\" sets λ_local too (from the local samples' sampling radius); remove lambda_local");
            if (r.has("radius_barycenter"))
                throw Error("adapt: lambda_barycenter \"auto\" estimates η_B from the local samples; remove radius_barycenter");
            bary["radii"] = "auto";
            if (r.has("radius_estimation")) bary["radius_estimation"] = config_["radius_estimation"];
        } else {
            if (r.has("radius_estimation"))
                throw Error("adapt: radius_estimation is used only with lambda_barycenter \"auto\"");
            barycenterSource["lambda"] = r.number("lambda_barycenter", 1.0);
            localSource["lambda"] = r.number("lambda_local", 1.0);
            if (r.has("radius_barycenter")) barycenterSource["radius"] = r.number("radius_barycenter", 0);
        }
        if (r.has("barycenter_schedule")) barycenterSource["schedule"] = config_["barycenter_schedule"];
        if (r.has("critic_init")) {
            const std::string file = r.text("critic_init", "");
            if (file.empty()) throw Error("adapt: critic_init must name a checkpoint file (or be left out)");
            for (Json* source : {&barycenterSource, &localSource}) {
                (*source)["critic"] = file;
                (*source)["critic_prefix"] = r.text("critic_init_prefix", "critic0");
            }
        } else if (r.has("critic_init_prefix")) {
            throw Error("adapt: critic_init_prefix needs critic_init (the checkpoint holding that critic)");
        }
        if (r.has("freeze_critic_blocks")) localSource["freeze_critic_blocks"] = config_["freeze_critic_blocks"];
        if (r.has("k")) localSource["k"] = config_["k"];
        if (r.has("k_seed")) localSource["k_seed"] = config_["k_seed"];
        bary["sources"] = Json::array({barycenterSource, localSource});
        bary["init"] = Json{{"generator", barycenter}};
        coalescence_ = readCoalescenceConfig(ConfigReader(bary, "adapt"));
        coalescence_.transform = readTernarizeSection(r);
        frame_ = readRunFrame(r, "adapt");
    }
    std::string kind() const override { return "adapt"; }
    JobResult run(JobObserver& observer, CancelToken& cancel) override {
        return runTrainingJob("adapt", config_, frame_, resumeOrCreate(frame_.resume), observer, cancel,
                              [this](TrainingRun& run) { return runCoalescence(coalescence_, run); });
    }

private:
    Json config_;
    CoalescenceConfig coalescence_;
    RunFrame frame_;
};

}  // namespace

std::unique_ptr<Job> makeAdaptJob(const Json& config) { return std::make_unique<AdaptJob>(config); }

}  // namespace coalesce
