// The pipeline's stages as subcommands with flags: `pretrain`, `barycenter`, `adapt` and `average`.
// Each builds the job config that `coalesce-cli run` accepts (and the workbench writes: the same
// values give the same config, tests/ui/test_cli_configs.cpp), then runs it, or with --print-config
// prints it and runs nothing, so a command line can be turned into a config file.
//
// Only the options given on the command line become config keys (commands.h). With --resume the
// run's recorded config.json is the base and the options given change only their keys (the engine
// then accepts or refuses each change, as `run --resume` does).
#include <filesystem>

#include "commands.h"
#include "core/error.h"
#include "core/job.h"

namespace coalesce::cli {

namespace {

namespace fs = std::filesystem;

using FlagKeys = std::vector<std::pair<std::string, std::string>>;

// Flags shared by the training stages, and the trainer keys they set (train/training_config.h).
const FlagKeys& trainerFlagKeys() {
    static const FlagKeys keys = {
        {"iterations", "iterations"}, {"batch-size", "batch_size"}, {"n-critic", "n_critic"}, {"gp", "gp"},
        {"lr", "lr"}, {"seed", "seed"}, {"sample-every", "sample_every"}, {"checkpoint-every", "checkpoint_every"}};
    return keys;
}

// The weights of the critics' losses, fixed or constrained (the dual update of λ; train/critic_weights.h):
// barycenter and adapt.
const FlagKeys& weightFlagKeys() {
    static const FlagKeys keys = {{"weights", "weights"}, {"update-every", "update_every"}, {"step-size", "step_size"}};
    return keys;
}

std::vector<OptionSpec> weightOptions(std::vector<OptionSpec> options) {
    const std::vector<OptionSpec> weights = {
        {"weights", OptionType::String, "fixed or constrained (the dual update of lambda)", ""},
        {"update-every", OptionType::Int, "constrained: update lambda every M iterations", ""},
        {"step-size", OptionType::Float, "constrained: the dual ascent step rho", ""}};
    options.insert(options.end(), weights.begin(), weights.end());
    return options;
}

std::vector<OptionSpec> trainingOptions(std::vector<OptionSpec> options) {
    const std::vector<OptionSpec> trainer = {
        {"iterations", OptionType::Int, "generator iterations (engine default when not given)", ""},
        {"batch-size", OptionType::Int, "batch size", ""},
        {"n-critic", OptionType::Int, "critic steps per generator step", ""},
        {"gp", OptionType::String, "gradient penalty: standard or per_pixel", ""},
        {"lr", OptionType::Float, "Adam learning rate", ""},
        {"seed", OptionType::Int, "random seed", ""},
        {"sample-every", OptionType::Int, "write a sample grid every N iterations", ""},
        {"checkpoint-every", OptionType::Int, "checkpoint every N iterations", ""},
        {"out", OptionType::String, "run directory to create (or resume)", "", true},
        {"resume", OptionType::Flag, "continue the run in --out from its last checkpoint", ""},
        printConfigOption()};
    options.insert(options.end(), trainer.begin(), trainer.end());
    for (auto& o : distributedOptions()) options.push_back(o);
    options.push_back(precisionOption());
    for (auto& o : runtimeOptions()) options.push_back(o);
    return options;
}

void copyGiven(const ParsedArgs& a, Json& config, const FlagKeys& flagKeys) {
    for (const auto& [flag, key] : flagKeys)
        if (a.given.count(flag)) config[key] = a.values.at(flag);
}

// A per-source list (--radius, --lambda, --name): absent, or exactly one value per --source.
std::vector<Json> perSource(const ParsedArgs& a, const std::string& flag, size_t sources) {
    std::vector<Json> values = a.list(flag);
    if (!values.empty() && values.size() != sources)
        throw Error("--" + flag + " is given " + std::to_string(values.size()) + " times for " + std::to_string(sources) +
                    " --source files: give it once per source, in the same order, or not at all");
    return values;
}

// The finished job config: with --resume, the run's recorded config with the given keys changed.
// `startable`: the command line names the job's inputs, so a run that was killed before it recorded
// anything can start over from it (the engine's resume-or-create); otherwise it is an error.
Json finish(const ParsedArgs& a, Json config, bool startable) {
    config["run_dir"] = a.str("out");
    if (a.flag("resume")) {
        const fs::path recorded = fs::path(a.str("out")) / "config.json";
        if (fs::exists(recorded)) {
            Json base = readJsonFile(recorded.string());
            base.merge_patch(config);
            config = base;
        } else if (!startable) {
            throw Error("--resume: " + recorded.string() + " does not exist (is --out the run directory of an earlier run?)");
        }
        config["resume"] = true;
    }
    return config;
}

// --- pretrain ---------------------------------------------------------------------------------------
int runPretrain(const ParsedArgs& a) {
    if (!a.given.count("data") && !a.flag("resume")) throw Error("missing required option --data");
    Json config = {{"kind", "pretrain"}};
    copyGiven(a, config, {{"data", "data"}});
    if (a.given.count("arch")) {
        for (const char* part : {"family", "preset", "channels"})
            if (a.given.count(part)) throw Error(std::string("--arch FILE is the whole architecture: leave out --") + part);
        config["arch"] = readJsonFile(a.str("arch"));
    } else {
        Json arch = Json::object();  // the engine completes it: dcgan32 (mlp2d for toy data), small, 1 channel
        copyGiven(a, arch, {{"family", "family"}, {"preset", "preset"}, {"channels", "channels"}});
        if (!arch.empty()) config["arch"] = arch;
    }
    copyGiven(a, config, trainerFlagKeys());
    applyRuntime(config, a);
    return runOrPrint(a, finish(a, config, a.given.count("data") > 0));
}

CommandSpec pretrainSpec() {
    return {"pretrain", "Train a WGAN-GP source generator on dataset classes",
            "coalesce-cli pretrain --data SPEC --out RUN_DIR [options]",
            trainingOptions({{"data", OptionType::String, "dataset spec, e.g. fashion-mnist:train:0,1,2,3, folder:DIR, idx:IMG:LBL, toy:ring8 (required unless --resume)", ""},
                             {"family", OptionType::String, "dcgan32 (32x32 images; the default), dcgan64 (64x64 images) or mlp2d (2-D toy; the default for toy: data)", ""},
                             {"preset", OptionType::String, "network widths: small (CPU default), paper; dcgan32 also cifar, dcgan64 also lsun (= paper)", ""},
                             {"channels", OptionType::Int, "image channels: 1 (default) or 3", ""},
                             {"arch", OptionType::String, "architecture JSON file (instead of family/preset/channels)", ""}})};
}

// --- barycenter -------------------------------------------------------------------------------------
int runBarycenter(const ParsedArgs& a) {
    const std::vector<Json> files = a.list("source"), boxes = a.list("black-box");
    const size_t count = files.size() + boxes.size();  // --source files first, then --black-box files
    const std::vector<Json> radii = perSource(a, "radius", count);
    const std::vector<Json> lambdas = perSource(a, "lambda", count);
    const std::vector<Json> names = perSource(a, "name", count);
    if (boxes.empty() && (a.given.count("latent-dim") || a.given.count("black-box-timeout")))
        throw Error("--latent-dim and --black-box-timeout are used only with --black-box");
    const bool autoRadii = a.given.count("radii") > 0;
    if (autoRadii && a.str("radii") != "auto") throw Error("--radii: the only value is auto (or give --radius per source)");
    if (autoRadii && !radii.empty()) throw Error("--radius and --radii auto exclude each other: give the radii, or estimate them");
    if (autoRadii != (a.given.count("local") > 0))
        throw Error(autoRadii ? "--radii auto needs --local DATA (the local samples the radii are measured from)"
                              : "--local is used only with --radii auto");
    for (const char* flag : {"n", "k-seed", "space", "power", "feature-net-data"})
        if (a.given.count(flag) && !autoRadii) throw Error(std::string("--") + flag + " is used only with --radii auto");

    if (count == 0 && !a.flag("resume"))
        throw Error("give the source generators: --source FILE (or --black-box FILE), once per source");
    Json sources = Json::array();
    for (size_t k = 0; k < count; ++k) {
        Json s = k < files.size() ? Json{{"generator", files[k]}} : Json{{"black_box", boxes[k - files.size()]}};
        if (k >= files.size()) copyGiven(a, s, {{"latent-dim", "latent_dim"}, {"black-box-timeout", "timeout_s"}});
        if (!names.empty()) s["name"] = names[k];
        if (!radii.empty()) s["radius"] = radii[k];
        if (!lambdas.empty()) s["lambda"] = lambdas[k];
        sources.push_back(s);
    }
    Json config = {{"kind", "barycenter"}};
    if (count > 0) config["sources"] = sources;  // on --resume without --source: the recorded ones
    if (autoRadii) {
        config["radii"] = "auto";
        Json estimation = {{"data", a.str("local")}};
        copyGiven(a, estimation, {{"n", "k"}, {"k-seed", "k_seed"}, {"space", "space"}, {"feature-net-data", "feature_net_data"}});
        if (a.given.count("power")) estimation["power"] = numberOrAuto(a, "power");
        config["radius_estimation"] = estimation;
    }
    copyGiven(a, config, weightFlagKeys());
    copyGiven(a, config, {{"mode", "mode"}});
    if (a.given.count("init")) {
        const std::string init = a.str("init");
        const bool named = init == "largest" || init == "average" || init == "random";
        config["init"] = named ? Json(init) : Json{{"generator", init}};
    }
    copyGiven(a, config, trainerFlagKeys());
    applyRuntime(config, a);
    return runOrPrint(a, finish(a, config, count > 0));
}

CommandSpec barycenterSpec() {
    return {"barycenter", "Stage 1: the W1 barycenter of source generators (one generator against a critic per source)",
            "coalesce-cli barycenter --source A.coalesce --source B.pt [--radius 0.5 --radius 1 | --radii auto --local DATA] "
            "--out RUN_DIR [options]",
            trainingOptions(weightOptions({{"source", OptionType::String, "a source generator file (any format `info` reads); required unless --resume", "", false, true},
                             {"black-box", OptionType::String, "a TorchScript generator of any architecture, only sampled (in a worker process); sources after the --source ones", "", false, true},
                             {"latent-dim", OptionType::Int, "with --black-box: the latent size (default: the module's latent_dim attribute)", ""},
                             {"black-box-timeout", OptionType::Float, "with --black-box: seconds a worker may take per answer (default 60)", ""},
                             {"name", OptionType::String, "the source's name in logs and reports, once per --source", "", false, true},
                             {"radius", OptionType::Float, "trust radius eta_k, once per --source (lambda_k ~ 1/eta_k)", "", false, true},
                             {"lambda", OptionType::Float, "weight lambda_k, once per --source (overrides the radii's)", "", false, true},
                             {"radii", OptionType::String, "auto: estimate eta_k from the local samples (W1 in feature space)", ""},
                             {"local", OptionType::String, "with --radii auto: the local data (dataset spec)", ""},
                             {"n", OptionType::Int, "with --radii auto: use n local samples (k-shot)", ""},
                             {"k-seed", OptionType::Int, "with --radii auto: which n samples", ""},
                             {"space", OptionType::String, "with --radii auto: features or pixels", ""},
                             {"power", OptionType::String, "with --radii auto: lambda_k ~ eta_k^-power; auto = 1, or 16 where the nearest source beats every blend of them", ""},
                             {"feature-net-data", OptionType::String, "with --radii auto, --space features and local data other than (fashion-)mnist: the dataset whose training split the feature net learns", ""},
                             {"mode", OptionType::String, "joint, recursive, mixture (one critic on the λ-mixture) or auto (mixture unless the coverage check says nearest; with --radii auto)", ""},
                             {"init", OptionType::String, "largest, average, random, or a generator file to start from", ""}}))};
}

// --- adapt ------------------------------------------------------------------------------------------
int runAdapt(const ParsedArgs& a) {
    for (const char* required : {"from", "data"})
        if (!a.given.count(required) && !a.flag("resume")) throw Error(std::string("missing required option --") + required);
    Json config = {{"kind", "adapt"}};
    copyGiven(a, config, {{"from", "barycenter"}, {"data", "data"}, {"n", "k"}, {"k-seed", "k_seed"}, {"lambda-local", "lambda_local"}, {"radius-barycenter", "radius_barycenter"},
                          {"schedule", "barycenter_schedule"}, {"critic-init", "critic_init"},
                          {"freeze-critic-blocks", "freeze_critic_blocks"}});
    if (a.given.count("lambda-barycenter")) config["lambda_barycenter"] = numberOrAuto(a, "lambda-barycenter");
    Json estimation = Json::object();
    if (a.given.count("power")) estimation["power"] = numberOrAuto(a, "power");
    copyGiven(a, estimation, {{"space", "space"}, {"feature-net-data", "feature_net_data"}});
    if (!estimation.empty()) {
        if (config.value("lambda_barycenter", Json()) != "auto")
            throw Error("--power, --space and --feature-net-data are used only with --lambda-barycenter auto");
        config["radius_estimation"] = estimation;
    }
    copyGiven(a, config, weightFlagKeys());
    copyGiven(a, config, trainerFlagKeys());
    applyRuntime(config, a);
    return runOrPrint(a, finish(a, config, a.given.count("from") && a.given.count("data")));
}

CommandSpec adaptSpec() {
    return {"adapt", "Stage 2: adapt a barycenter to the local samples (its critic anchors G to the barycenter)",
            "coalesce-cli adapt --from BARYCENTER.coalesce --data SPEC [--n 20] --out RUN_DIR [options]",
            trainingOptions(weightOptions({{"from", OptionType::String, "the barycenter generator file G starts from (required unless --resume)", ""},
                             {"data", OptionType::String, "the local data (dataset spec), e.g. fashion-mnist:train:8,9 (required unless --resume)", ""},
                             {"n", OptionType::Int, "use n local samples (k-shot)", ""},
                             {"k-seed", OptionType::Int, "which n samples", ""},
                             {"lambda-barycenter", OptionType::String, "the anchor's weight: a number, or auto (from the radii)", ""},
                             {"lambda-local", OptionType::Float, "the local samples' weight (with a numeric anchor weight)", ""},
                             {"radius-barycenter", OptionType::Float, "the barycenter's trust radius (constrained weights)", ""},
                             {"power", OptionType::String, "with --lambda-barycenter auto: lambda ~ eta^-power", ""},
                             {"space", OptionType::String, "with --lambda-barycenter auto: the radii's space, features or pixels", ""},
                             {"feature-net-data", OptionType::String, "with --lambda-barycenter auto in features: the dataset whose training split the feature net learns", ""},
                             {"schedule", OptionType::String, "the anchor's weight over the run: constant, linear or cosine", ""},
                             {"critic-init", OptionType::String, "start the anchor's critic from this checkpoint (stage 1's)", ""},
                             {"freeze-critic-blocks", OptionType::Int, "FreezeD: keep the local critic's first N blocks fixed", ""}}))};
}

// --- average ----------------------------------------------------------------------------------------
int runAverage(const ParsedArgs& a) {
    if (a.given.count("out") == a.given.count("run-dir"))
        throw Error("give --out FILE (the averaged generator) or --run-dir DIR (a run folder with DIR/generator.coalesce), one of them");
    Json config = {{"kind", "average"}, {"generators", a.list("generator")}};
    if (a.given.count("out")) config["output"] = a.str("out");
    if (a.given.count("run-dir")) config["run_dir"] = a.str("run-dir");
    return runOrPrint(a, config);
}

CommandSpec averageSpec() {
    return {"average", "The model-average baseline: the element-wise mean of generators' parameters (and BatchNorm statistics)",
            "coalesce-cli average --generator A.coalesce --generator B.coalesce (--out AVG.coalesce | --run-dir DIR)",
            {{"generator", OptionType::String, "a generator file (same architecture for all)", "", true, true},
             {"out", OptionType::String, "the averaged generator file to write", ""},
             {"run-dir", OptionType::String, "instead of --out: a run folder (config.json, summary.json, generator.coalesce), as the workbench writes", ""},
             printConfigOption(),
             {"quiet", OptionType::Flag, "no progress bar, warnings and errors only", ""}}};
}

}  // namespace

std::vector<Command> stageCommands() {
    return {{pretrainSpec(), runPretrain}, {barycenterSpec(), runBarycenter}, {adaptSpec(), runAdapt}, {averageSpec(), runAverage}};
}

}  // namespace coalesce::cli
