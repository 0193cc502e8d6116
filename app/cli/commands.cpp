#include "commands.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_text.h"
#include "job_runner.h"
#include "jobs/experiment_plan.h"
#include "jobs/job_factory.h"
#include "metrics/feature_net.h"

namespace coalesce::cli {

std::vector<OptionSpec> runtimeOptions() {
    return {{"threads", OptionType::Int, "LibTorch intra-op threads (0 = all cores)", "0"},
            {"device", OptionType::String, "auto | cpu | cuda | cuda:N", "auto"},
            {"quiet", OptionType::Flag, "no progress bar, warnings and errors only", ""}};
}

OptionSpec precisionOption() {
    return {"precision", OptionType::String,
            "training arithmetic: fp32, bf16 (mixed precision: layers in bfloat16, weights and losses fp32) or auto (fp32 today)", ""};
}

std::vector<OptionSpec> distributedOptions() {
    return {{"world-size", OptionType::Int, "data-parallel: processes in the run (default $WORLD_SIZE, else 1)", ""},
            {"rank", OptionType::Int, "data-parallel: this process, 0..N-1 (default $RANK)", ""},
            {"rendezvous", OptionType::String, "data-parallel: HOST:PORT of rank 0 (default $MASTER_ADDR:$MASTER_PORT)", ""},
            {"timeout", OptionType::Float, "data-parallel: seconds to wait for a peer before failing", "600"}};
}

nlohmann::json runtimeConfig(const ParsedArgs& a) {
    nlohmann::json runtime = nlohmann::json::object();
    if (a.given.count("threads")) runtime["threads"] = a.integer("threads");
    if (a.given.count("device")) runtime["device"] = a.str("device");
    if (a.given.count("precision")) runtime["precision"] = a.str("precision");
    return runtime;
}

void applyRuntime(nlohmann::json& config, const ParsedArgs& a) {
    const nlohmann::json given = runtimeConfig(a);
    if (given.empty()) return;
    if (!config.contains("runtime") || !config["runtime"].is_object()) config["runtime"] = nlohmann::json::object();
    config["runtime"].update(given);
}

OptionSpec printConfigOption() {
    return {"print-config", OptionType::Flag, "print the job config (what `coalesce-cli run` takes) and run nothing", ""};
}

int runOrPrint(const ParsedArgs& a, nlohmann::json config) {
    if (a.has("timeout")) {  // a training command: this process's place in a data-parallel run, if any
        if (config.contains("runtime")) config["runtime"].erase("distributed");  // a resumed run's record is rank 0's
        addDistributed(config, a);
    }
    if (a.flag("print-config")) {
        createJob(config);
        std::printf("%s\n", config.dump(2).c_str());
        return 0;
    }
    return runJobConfig(config, a.flag("quiet"));
}

std::vector<OptionSpec> protocolOptions() {
    return {{"reference", OptionType::String, "score against these held-out real samples (dataset spec)", ""},
            {"protocol", OptionType::String, "evaluation protocol JSON file (sample counts, seeds, ...); the flags below change it", ""},
            {"samples", OptionType::Int, "real, fake and W1 sample counts", ""},
            {"diversity-samples", OptionType::Int, "samples for the diversity score", ""},
            {"feature-net-data", OptionType::String, "for a reference other than (fashion-)mnist: the dataset whose training split the FID feature net learns", ""}};
}

nlohmann::json protocolConfig(const ParsedArgs& a, nlohmann::json base) {
    nlohmann::json protocol = a.has("protocol") ? readJsonFile(a.str("protocol")) : std::move(base);
    auto set = [&protocol](const char* key, const nlohmann::json& value) {
        if (protocol.is_null()) protocol = nlohmann::json::object();
        protocol[key] = value;
    };
    if (a.has("reference")) set("reference", a.str("reference"));
    if (a.has("samples"))
        for (const char* key : {"real_samples", "fake_samples", "w1_samples"}) set(key, a.integer("samples"));
    if (a.has("diversity-samples")) set("diversity_samples", a.integer("diversity-samples"));
    if (a.has("feature-net-data")) set("feature_net_data", a.str("feature-net-data"));
    return protocol;
}

namespace {
std::string environment(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

long long environmentInteger(const char* name, const char* option) {
    const std::string v = environment(name);
    try {
        size_t used = 0;
        const long long n = std::stoll(v, &used);
        if (used == v.size()) return n;
    } catch (const std::exception&) {
    }
    throw Error(std::string("$") + name + " is \"" + v + "\", not an integer (or give --" + option + ")");
}
}  // namespace

void addDistributed(nlohmann::json& config, const ParsedArgs& a) {
    const nlohmann::json distributed = distributedConfig(a);
    if (!distributed.is_null()) config["runtime"]["distributed"] = distributed;
}

nlohmann::json distributedConfig(const ParsedArgs& a) {
    // Flags first, then the variables torchrun and other launchers set (a Slurm script exports them
    // from SLURM_PROCID / SLURM_NTASKS: scripts/slurm/).
    long long world = 1;
    if (a.given.count("world-size")) world = a.integer("world-size");
    else if (!environment("WORLD_SIZE").empty()) world = environmentInteger("WORLD_SIZE", "world-size");
    if (world <= 1 && !a.given.count("world-size")) return nullptr;
    long long rank = 0;
    if (a.given.count("rank")) rank = a.integer("rank");
    else if (!environment("RANK").empty()) rank = environmentInteger("RANK", "rank");
    else throw Error("--world-size " + std::to_string(world) + " needs --rank (or $RANK) for this process");
    std::string rendezvous = a.has("rendezvous") ? a.str("rendezvous") : "";
    if (rendezvous.empty() && !environment("MASTER_ADDR").empty() && !environment("MASTER_PORT").empty())
        rendezvous = environment("MASTER_ADDR") + ":" + environment("MASTER_PORT");
    if (rendezvous.empty() && world > 1)
        throw Error("a data-parallel run needs --rendezvous HOST:PORT (or $MASTER_ADDR and $MASTER_PORT): where rank 0 listens");
    return {{"world_size", world}, {"rank", rank}, {"rendezvous", rendezvous}, {"timeout_s", a.real("timeout")}};
}

Json numberOrAuto(const ParsedArgs& a, const std::string& flag) {
    const std::string text = a.str(flag);
    if (text == "auto") return "auto";
    size_t used = 0;
    double value = 0;
    try {
        value = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size()) throw Error("--" + flag + ": expected a number or auto, got '" + text + "'");
    return value;
}

Json readJsonFile(const std::string& path) {
    const std::string text = readFileBytes(path);  // names the file when missing, a folder or a device
    Json j;
    try {
        j = parseJson(text);
    } catch (const Json::parse_error& e) {
        throw Error(path + ": invalid JSON (" + std::string(e.what()) + ")");
    }
    if (!j.is_object())
        throw Error(path + ": expected a JSON object ({\"key\": value, ...}), this file holds " +
                    (j.is_array() ? "an array" : j.is_string() ? "a string" : j.is_number() ? "a number" : "a " + std::string(j.type_name())));
    return j;
}

namespace {

std::vector<OptionSpec> withRuntime(std::vector<OptionSpec> options) {
    for (auto& o : runtimeOptions()) options.push_back(o);
    return options;
}

// Commands that score: the evaluation protocol's flags (ternarize scores float and ternary with them).
std::vector<OptionSpec> withProtocol(std::vector<OptionSpec> options) {
    for (auto& o : protocolOptions()) options.push_back(o);
    return options;
}

// Training commands also take the data-parallel options (engine/train/data_parallel.h).
std::vector<OptionSpec> withTrainingRuntime(std::vector<OptionSpec> options) {
    for (auto& o : distributedOptions()) options.push_back(o);
    options.push_back(precisionOption());
    return withRuntime(options);
}



// --- run: any job from a JSON file -----------------------------------------------------------
int runRun(const ParsedArgs& a) {
    if (a.positional.size() != 1) throw Error("expected exactly one job config file (coalesce-cli run CONFIG.json)");
    Json config = readJsonFile(a.positional[0]);
    if (a.has("run-dir")) config["run_dir"] = a.str("run-dir");
    if (a.flag("resume")) config["resume"] = true;
    applyRuntime(config, a);
    addDistributed(config, a);
    return runJobConfig(config, a.flag("quiet"));
}

// --- evaluate / evaluator ----------------------------------------------------------------------
int runEvaluate(const ParsedArgs& a) {
    Json config = {{"kind", "evaluate"}, {"generator", a.str("generator")}};
    Json protocol = protocolConfig(a);
    if (a.has("seed")) {
        if (protocol.is_null()) protocol = Json::object();
        protocol["seed"] = a.integer("seed");
    }
    if (!protocol.is_null()) config["protocol"] = protocol;
    applyRuntime(config, a);
    if (a.has("out")) config["output"] = a.str("out");
    if (a.has("cache-dir")) config["cache_dir"] = a.str("cache-dir");
    if (a.has("run-dir")) config["run_dir"] = a.str("run-dir");
    return runOrPrint(a, config);
}

int runEvaluator(const ParsedArgs& a) {
    if (a.positional.size() != 1 || (a.positional[0] != "train" && a.positional[0] != "info"))
        throw Error("expected 'train' or 'info' (coalesce-cli evaluator train|info [options])");
    if (a.positional[0] == "info") {  // what the cache holds; never trains (it used to, on an empty cache)
        for (const char* trainingOnly : {"epochs", "retrain", "run-dir", "print-config", "data"})
            if (a.given.count(trainingOnly)) throw Error(std::string("--") + trainingOnly + " is for 'evaluator train', not 'info'");
        const Json cache = describeFeatureNetCache(a.has("cache-dir") ? a.str("cache-dir") : "");
        std::printf("%s\n", cache.dump(2).c_str());
        if (cache.value("nets", Json::array()).empty())
            std::fprintf(stderr, "no feature network cached in %s yet: 'coalesce-cli evaluator train' makes one "
                                 "(evaluate and experiments also make it on first use)\n",
                         cache.value("cache_dir", std::string()).c_str());
        return 0;
    }
    Json config = {{"kind", "evaluator-train"}};
    if (a.has("data")) config["data"] = a.str("data");
    applyRuntime(config, a);
    if (a.has("cache-dir")) config["cache_dir"] = a.str("cache-dir");
    if (a.has("epochs")) config["training"] = {{"epochs", a.integer("epochs")}};
    if (a.flag("retrain")) config["retrain"] = true;
    if (a.has("run-dir")) config["run_dir"] = a.str("run-dir");
    return runOrPrint(a, config);
}

// --- experiment: the few-shot protocol end to end ------------------------------------------------
int runExperiment(const ParsedArgs& a) {
    if (a.positional.size() != 1)
        throw Error("expected exactly one experiment config (coalesce-cli experiment samples/fashion_fewshot.json)");
    Json config = readJsonFile(a.positional[0]);
    if (config.value("kind", "experiment") != "experiment")
        throw Error(a.positional[0] + ": kind is \"" + config.value("kind", "") + "\", not \"experiment\" (use coalesce-cli run)");
    config["kind"] = "experiment";
    if (a.has("out")) config["run_dir"] = a.str("out");
    if (a.has("seeds")) {
        Json seeds = Json::array();
        for (int64_t s = 1; s <= a.integer("seeds"); ++s) seeds.push_back(s);
        config["seeds"] = seeds;
    }
    if (a.has("iterations")) config["adaptation"]["iterations"] = a.integer("iterations");
    if (a.flag("report-only")) config["report_only"] = true;
    if (a.has("shard")) config["shard"] = a.str("shard");
    applyRuntime(config, a);
    if (a.flag("plan")) {  // what would run, without running it
        const ExperimentPlan plan = planExperiment(config);
        for (const auto& s : plan.sources)
            std::printf("source      %-14s %s%s\n", s.name.c_str(), s.generator.c_str(), s.pretrain.is_null() ? "" : " (pretrained here)");
        for (const auto& job : plan.stage1Jobs)
            std::printf("stage 1     %-14s %s\n", job.contains("radius_estimation") ? "auto radii" : "", job["run_dir"].get<std::string>().c_str());
        if (!plan.average.is_null()) std::printf("average     %-14s %s\n", "", plan.average["output"].get<std::string>().c_str());
        for (const auto& r : plan.runs)
            std::printf("run         %-14s n=%-4lld seed %-3llu %s\n", r.method.c_str(), static_cast<long long>(r.shots),
                        static_cast<unsigned long long>(r.seed), r.runDir.c_str());
        for (const auto& t : plan.ternarizations)
            std::printf("ternarize   %-14s %-24s %s\n", t.quantizer.c_str(), t.label.c_str(), t.runDir.c_str());
        std::printf("%zu runs of %lld iterations each; report: %s/report/summary.md\n", plan.runs.size(),
                    static_cast<long long>(plan.iterationsPerRun), plan.runDir.c_str());
        return 0;
    }
    return runOrPrint(a, config);
}

// --- ternarize ---------------------------------------------------------------------------------
// One ternarize job (engine/jobs/ternarize_job.cpp documents every field; --config adds any of them).
int runTernarize(const ParsedArgs& a) {
    Json config = a.has("config") ? readJsonFile(a.str("config")) : Json::object();
    config["kind"] = "ternarize";
    config["generator"] = a.str("generator");
    if (a.has("method")) config["method"] = a.str("method");
    if (a.has("threshold-init")) config["threshold_init"] = a.str("threshold-init");
    if (a.flag("keep-first-last-float")) config["keep_first_last_float"] = true;
    if (a.flag("keep-last-float")) config["keep_last_float"] = true;
    if (a.has("iterations")) config["iterations"] = a.integer("iterations");
    if (a.has("data")) config["data"] = a.str("data");
    if (a.has("k")) {
        if (a.integer("k") < 1) throw Error("--k: must be >= 1 (leave --k out to use all samples of --data)");
        config["k"] = a.integer("k");
    }
    if (a.has("distill-weight")) config["distill_weight"] = a.real("distill-weight");
    if (const Json protocol = protocolConfig(a, config.value("evaluation", Json())); !protocol.is_null())
        config["evaluation"] = protocol;  // the --config file's evaluation, changed only where flags say
    if (a.has("out")) config["run_dir"] = a.str("out");
    applyRuntime(config, a);
    return runOrPrint(a, config);
}

// --- jobs: list what the engine can run ----------------------------------------------------------
int runJobs(const ParsedArgs&) {
    for (const auto& k : jobKinds()) std::printf("%-14s %s\n", k.c_str(), jobKindSummary(k).c_str());
    return 0;
}

// The stage subcommands (stage_commands.cpp) listed first, in pipeline order.
std::vector<Command> withStageCommands(std::vector<Command> all) {
    const std::vector<Command> stages = stageCommands();
    all.insert(all.begin(), stages.begin(), stages.end());
    return all;
}

}  // namespace

const std::vector<Command>& commands() {
    static const std::vector<Command> all = withStageCommands({
        {sampleSpec(), runSample},
        {infoSpec(), runInfo},
        {exportSpec(), runExport},
        {radiiSpec(), runRadii},
        {{"run", "Run any job from a JSON config (the same configs the GUI writes)",
          "coalesce-cli run CONFIG.json [--run-dir DIR] [--resume]",
          withTrainingRuntime({{"run-dir", OptionType::String, "override the config's run_dir", ""},
                       {"resume", OptionType::Flag, "resume from the run directory's last checkpoint", ""}}),
          true},
         runRun},
        {{"evaluate", "Score a generator: FID, KID, exact and sliced W1, precision/recall, diversity",
          "coalesce-cli evaluate --generator FILE [--reference fashion-mnist:test:8,9] [--out metrics.json]",
          withRuntime(withProtocol({{"generator", OptionType::String, "generator file", "", true},
                       {"seed", OptionType::Int, "protocol seed", ""},
                       {"out", OptionType::String, "write all metrics as JSON here", ""},
                       {"run-dir", OptionType::String, "also record the evaluation as a run folder (config.json, summary.json), as the workbench does", ""},
                       {"cache-dir", OptionType::String, "feature-network cache (default ~/.cache/coalesce)", ""},
                       printConfigOption()}))},
         runEvaluate},
        {{"evaluator", "Train (once, cached) or describe the feature network behind FID/KID",
          "coalesce-cli evaluator train|info [--data fashion-mnist:train] [options]",
          withRuntime({{"data", OptionType::String, "training split of the dataset, all classes (default fashion-mnist:train)", ""},
                       {"epochs", OptionType::Int, "training epochs", ""},
                       {"retrain", OptionType::Flag, "ignore the cache and train again", ""},
                       {"cache-dir", OptionType::String, "cache folder (default ~/.cache/coalesce)", ""},
                       {"run-dir", OptionType::String, "train: also record the training as a run folder, as the workbench does", ""},
                       printConfigOption()}),
          true},
         runEvaluator},
        {{"experiment", "Run the few-shot protocol: every method x n x seed, then a report (summary.md, plots)",
          "coalesce-cli experiment CONFIG.json [--out DIR] [--seeds S] [--iterations N]",
          withRuntime({{"out", OptionType::String, "override the config's run_dir (re-running continues it)", ""},
                       {"seeds", OptionType::Int, "use seeds 1..S instead of the config's", ""},
                       {"iterations", OptionType::Int, "override the adaptation budget (iterations per run)", ""},
                       {"plan", OptionType::Flag, "print the runs the experiment would make, run nothing", ""},
                       {"report-only", OptionType::Flag, "write the report from the runs that finished, run nothing", ""},
                       {"shard", OptionType::String, "I/N: run only runs I, I+N, ... (N processes side by side; then --report-only)", ""},
                       precisionOption(), printConfigOption()}),
          true},
         runExperiment},
        {{"ternarize", "Ternarise a float generator to 2-bit weights: packed .ctern file, sizes, float-vs-ternary scores",
          "coalesce-cli ternarize --generator FILE [--method learned|twn|ttq] [--iterations N --data SPEC --k N] "
          "[--reference SPEC] [--out DIR]",
          withTrainingRuntime(withProtocol({{"generator", OptionType::String, "the float generator file (any format Coalesce reads)", "", true},
                       {"method", OptionType::String, "learned (the paper's threshold), twn or ttq", ""},
                       {"threshold-init", OptionType::String, "learned: max_fraction (0.05 max|W|, the paper) or twn", ""},
                       {"keep-first-last-float", OptionType::Flag, "leave the first and last layers in float", ""},
                       {"keep-last-float", OptionType::Flag, "leave only the last (output) layer in float", ""},
                       {"iterations", OptionType::Int, "fine-tuning iterations (0 = post-training only)", ""},
                       {"data", OptionType::String, "fine-tuning: local data for a second critic", ""},
                       {"k", OptionType::Int, "fine-tuning: use k samples of --data", ""},
                       {"distill-weight", OptionType::Float, "fine-tuning: weight of the float generator as a same-z teacher", ""},
                       {"config", OptionType::String, "a ternarize job JSON whose fields the options override", ""},
                       {"out", OptionType::String, "run directory (generator.ctern and its report go here)", ""},
                       printConfigOption()}))},
         runTernarize},
        {{"jobs", "List the job kinds this build can run", "coalesce-cli jobs", {}}, runJobs},
    });
    return all;
}

}  // namespace coalesce::cli
