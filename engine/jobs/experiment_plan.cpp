#include "jobs/experiment_plan.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "jobs/ternary_config.h"
#include "train/training_config.h"

namespace fs = std::filesystem;

namespace coalesce {

namespace {

const char* kTransferSource = "@transfer_source";
const char* kTransferCritic = "@transfer_critic";

std::string joinPath(const std::string& a, const std::string& b) { return (fs::path(a) / b).string(); }

// Copies the object `from` into `into` (keys of `from` win), rejecting keys a method sets itself.
void mergeFields(Json& into, const Json& from, const std::string& where, const std::set<std::string>& reserved) {
    if (from.is_null()) return;
    if (!from.is_object()) throw Error(where + " must be an object of job fields");
    for (const auto& [key, value] : from.items()) {
        if (reserved.count(key)) throw Error(where + ": \"" + key + "\" is set by the experiment, remove it here");
        into[key] = value;
    }
}

std::vector<int64_t> readShots(const ConfigReader& r) {
    std::vector<int64_t> shots;
    for (double v : r.numbers("shots")) {
        if (!(v >= 1) || v != static_cast<double>(static_cast<int64_t>(v)))
            throw Error("experiment: shots must be positive integers (numbers of local samples), got " + std::to_string(v));
        shots.push_back(static_cast<int64_t>(v));
    }
    if (shots.empty()) throw Error("experiment: shots must list at least one number of local samples, e.g. [8, 20, 100]");
    return shots;
}

std::vector<uint64_t> readSeeds(const ConfigReader& r) {
    std::vector<uint64_t> seeds;
    for (double v : r.has("seeds") ? r.numbers("seeds") : std::vector<double>{1}) {
        if (!(v >= 0) || v != static_cast<double>(static_cast<int64_t>(v)))
            throw Error("experiment: seeds must be non-negative integers, got " + std::to_string(v));
        seeds.push_back(static_cast<uint64_t>(v));
    }
    if (seeds.empty()) throw Error("experiment: seeds must not be empty");
    return seeds;
}

// "ternarization": one ternarize job per (adapted run of the chosen methods, n, seed) × quantizer.
void planTernarization(ExperimentPlan& plan, const Json& section, const std::string& target, const Json& runtime) {
    const std::string where = "experiment: ternarization";
    if (!section.is_object()) throw Error(where + " must be an object");
    ConfigReader r(section, where);
    r.rejectUnknownKeys({"of", "shots", "seeds", "quantizers", "job"});
    std::vector<std::string> of{"barycenter"};
    if (r.has("of")) {
        of.clear();
        for (const auto& m : r.raw("of")) {
            const std::string name = m.is_string() ? m.get<std::string>() : m.dump();
            if (std::find(plan.methods.begin(), plan.methods.end(), name) == plan.methods.end())
                throw Error(where + ": of: '" + name + "' is not one of the experiment's methods");
            of.push_back(name);
        }
    }
    const std::vector<int64_t> shots = r.has("shots") ? readShots(r) : plan.shots;
    const std::vector<uint64_t> seeds = r.has("seeds") ? readSeeds(r) : plan.seeds;
    const Json quantizers = r.has("quantizers") ? r.raw("quantizers") : Json::array({"learned", "twn", "ttq"});
    if (!quantizers.is_array() || quantizers.empty()) throw Error(where + ": quantizers must be a non-empty array");
    const std::set<std::string> reserved{"kind", "generator", "data", "k", "k_seed", "seed", "evaluation", "run_dir",
                                         "resume", "runtime", "output", "name"};
    Json shared = Json::object();
    mergeFields(shared, r.has("job") ? r.raw("job") : Json(), where + ": job", reserved);
    std::set<std::string> names;
    for (const auto& q : quantizers) {
        Json job = shared;
        std::string name;
        bool duringAdaptation = false;
        Json ternaryFields = Json::object();  // what an adaptation-mode quantizer passes to the adapt job
        if (q.is_string()) {
            name = q.get<std::string>();
            job["method"] = name;
        } else if (q.is_object() && q.contains("name") && q["name"].is_string()) {
            name = q["name"].get<std::string>();
            Json fields = q;
            fields.erase("name");
            const std::string mode = fields.value("mode", std::string("post_training"));
            fields.erase("mode");
            if (mode != "post_training" && mode != "adaptation")
                throw Error(where + ": quantizer " + name + ": mode must be post_training or adaptation, got '" + mode + "'");
            duringAdaptation = mode == "adaptation";
            if (duringAdaptation) {
                const auto keys = ternaryOptionKeys();
                for (const auto& [key, value] : fields.items()) {
                    if (!keys.count(key))
                        throw Error(where + ": quantizer " + name + ": \"" + key +
                                    "\" does not apply in adaptation mode (the adaptation run's budget is used; "
                                    "only ternary options such as method, keep_last_float, threshold_init)");
                    ternaryFields[key] = value;
                }
                job["iterations"] = 0;
                job["recalibrate_batchnorm"] = 0;  // the statistics the ternary G was trained with
            }
            mergeFields(job, fields, where + ": quantizer " + name, reserved);
        } else {
            throw Error(where + ": each quantizer is a method name or {\"name\": ..., \"method\": ..., fields}");
        }
        if (!names.insert(name).second) throw Error(where + ": quantizer '" + name + "' is listed twice");
        for (int64_t n : shots)
            for (uint64_t seed : seeds)
                for (const auto& method : of) {
                    if (std::find(plan.shots.begin(), plan.shots.end(), n) == plan.shots.end() ||
                        std::find(plan.seeds.begin(), plan.seeds.end(), seed) == plan.seeds.end())
                        throw Error(where + ": n " + std::to_string(n) + " / seed " + std::to_string(seed) +
                                    " is not run by the experiment");
                    const std::string run = "n" + std::to_string(n) + "_seed" + std::to_string(seed);
                    PlannedTernarization t;
                    t.label = method + " n=" + std::to_string(n) + " seed " + std::to_string(seed);
                    t.quantizer = name;
                    t.sourceRunDir = joinPath(joinPath(joinPath(plan.runDir, "runs"), method), run);
                    t.runDir = joinPath(joinPath(joinPath(plan.runDir, "ternary"), name), method + "_" + run);
                    t.job = job;
                    t.job["kind"] = "ternarize";
                    t.job["generator"] = joinPath(t.sourceRunDir, "generator.coalesce");
                    t.job["seed"] = seed;
                    t.job["evaluation"] = plan.evaluation;
                    t.job["run_dir"] = t.runDir;
                    t.job["runtime"] = runtime;
                    if (duringAdaptation) {
                        auto adapted = std::find_if(plan.runs.begin(), plan.runs.end(),
                                                    [&](const PlannedRun& p) { return p.runDir == t.sourceRunDir; });
                        if (adapted == plan.runs.end() || adapted->job.value("kind", "") != "adapt")
                            throw Error(where + ": quantizer " + name + ": adaptation mode needs an adapt run, and " +
                                        method + " is not one (use it for barycenter or average)");
                        t.adaptation = adapted->job;
                        t.adaptation["ternarize"] = ternaryFields;
                        t.adaptation["run_dir"] = t.runDir + "_adaptation";
                        t.job["ternary_checkpoint"] = joinPath(joinPath(t.runDir + "_adaptation", "checkpoints"), "latest.coalesce");
                    }
                    if (t.job.value("iterations", int64_t(0)) > 0) {  // fine-tuning sees the run's own local samples
                        t.job["data"] = target;
                        t.job["k"] = n;
                        t.job["k_seed"] = seed;
                    }
                    plan.ternarizations.push_back(t);
                }
    }
}

}  // namespace

std::vector<std::string> experimentMethods() {
    return {"barycenter", "average", "transfer_gan", "freezed", "ensemble", "edge_only", "edge_only_all"};
}

Json resolveTransferSource(const Json& job, const std::string& generatorFile, const std::string& criticFile) {
    if (job.is_string()) {
        const std::string s = job.get<std::string>();
        if (s == kTransferSource) return generatorFile;
        if (s == kTransferCritic) {
            if (criticFile.empty())
                throw Error("freezed: the transfer source has no training checkpoint to take its critic from (its generator "
                            "file must sit in a pretrain run directory with checkpoints/latest.coalesce)");
            return criticFile;
        }
        return job;
    }
    if (job.is_array() || job.is_object()) {
        Json out = job;
        for (auto& item : out) item = resolveTransferSource(item, generatorFile, criticFile);
        return out;
    }
    return job;
}

ExperimentPlan planExperiment(const Json& config) {
    ConfigReader r(config, "experiment");
    r.rejectUnknownKeys({"kind", "name", "notes", "run_dir", "resume", "arch", "sources", "source_training", "barycenter",
                         "target", "shots", "seeds", "methods", "adaptation", "evaluation", "evaluation_every",
                         "transfer_source", "freeze_critic_blocks", "runtime", "provenance", "recorded", "report_only",
                         "ternarization"});
    ExperimentPlan plan;
    plan.name = r.text("name", "experiment");
    plan.runDir = r.text("run_dir", joinPath("runs", plan.name));
    const Json arch = r.has("arch") ? r.raw("arch") : Json{{"family", "dcgan32"}, {"preset", "small"}, {"channels", 1}};
    const Json runtime = r.has("runtime") ? r.raw("runtime") : Json::object();
    const std::string target = r.text("target", "");
    if (target.empty()) throw Error("experiment: target is required (the local data, e.g. \"fashion-mnist:train:8,9\")");
    plan.shots = readShots(r);
    plan.seeds = readSeeds(r);
    if (!r.has("evaluation")) throw Error("experiment: evaluation is required (the protocol every method is scored with)");
    plan.evaluation = r.raw("evaluation");
    const int64_t evaluationEvery = r.integer("evaluation_every", 50);
    if (evaluationEvery < 0) throw Error("experiment: evaluation_every must be >= 0");
    plan.transferSource = r.text("transfer_source", "auto");
    const int64_t freezeBlocks = r.integer("freeze_critic_blocks", 1);
    if (freezeBlocks < 0) throw Error("experiment: freeze_critic_blocks must be >= 0");

    // Methods.
    const auto known = experimentMethods();
    if (r.has("methods")) {
        const Json& methods = r.raw("methods");
        if (!methods.is_array() || methods.empty()) throw Error("experiment: methods must be a non-empty array of method names");
        for (const auto& m : methods) {
            const std::string name = m.is_string() ? m.get<std::string>() : m.dump();
            if (std::find(known.begin(), known.end(), name) == known.end()) {
                std::string list;
                for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
                throw Error("experiment: methods: unknown method '" + name + "' (known: " + list + ")");
            }
            if (std::find(plan.methods.begin(), plan.methods.end(), name) != plan.methods.end())
                throw Error("experiment: methods: '" + name + "' is listed twice");
            plan.methods.push_back(name);
        }
    } else {
        plan.methods = {"barycenter", "transfer_gan", "average", "edge_only"};
    }
    auto uses = [&](const std::string& m) { return std::find(plan.methods.begin(), plan.methods.end(), m) != plan.methods.end(); };

    // Sources: given generator files, or pretrained here from data.
    const Json sources = r.has("sources") ? r.raw("sources") : Json::array();
    if (!sources.is_array()) throw Error("experiment: sources must be an array");
    const bool needSources = uses("barycenter") || uses("average") || uses("transfer_gan") || uses("freezed") || uses("ensemble");
    if (needSources && sources.empty()) throw Error("experiment: sources are required by the methods listed");
    if ((uses("barycenter") || uses("average") || uses("ensemble")) && sources.size() < 2)
        throw Error("experiment: barycenter, average and ensemble need at least two sources");
    std::set<std::string> names;
    for (size_t i = 0; i < sources.size(); ++i) {
        const std::string where = "experiment: sources[" + std::to_string(i) + "]";
        ConfigReader s(sources[i], where);
        s.rejectUnknownKeys({"name", "data", "generator", "seed", "radius"});
        PlannedSource src;
        src.name = s.text("name", "source_" + std::to_string(i));
        if (!names.insert(src.name).second) throw Error(where + ": name '" + src.name + "' is used twice");
        src.radius = s.number("radius", 0);
        if (src.radius < 0) throw Error(where + ": radius must be > 0 (or absent)");
        const std::string data = s.text("data", ""), file = s.text("generator", "");
        if (data.empty() == file.empty()) throw Error(where + ": give exactly one of \"data\" (pretrain here) or \"generator\" (a file)");
        if (!file.empty()) {
            src.generator = file;
        } else {
            const std::string dir = joinPath(joinPath(plan.runDir, "sources"), src.name);
            src.generator = joinPath(dir, "generator.coalesce");
            src.pretrain = Json{{"kind", "pretrain"}, {"data", data}, {"arch", arch}, {"seed", s.integer("seed", int64_t(i) + 1)}};
            mergeFields(src.pretrain, r.has("source_training") ? r.raw("source_training") : Json(),
                        "experiment: source_training", {"kind", "data", "arch", "run_dir", "resume", "runtime", "k", "k_seed"});
            src.pretrain["run_dir"] = dir;
            src.pretrain["runtime"] = runtime;
        }
        plan.sources.push_back(src);
    }
    if (plan.transferSource != "auto" && !names.count(plan.transferSource))
        throw Error("experiment: transfer_source '" + plan.transferSource + "' is not a source name (or use \"auto\")");

    // Stage 1 and the model average, shared by every run.
    if (uses("barycenter")) {
        plan.barycenter = Json{{"kind", "barycenter"}};
        Json list = Json::array();
        bool allRadii = true;
        for (const auto& s : plan.sources) allRadii = allRadii && s.radius > 0;
        for (const auto& s : plan.sources) {
            Json entry{{"generator", s.generator}, {"name", s.name}};
            if (allRadii) entry["radius"] = s.radius;
            list.push_back(entry);
        }
        plan.barycenter["sources"] = list;
        mergeFields(plan.barycenter, r.has("barycenter") ? r.raw("barycenter") : Json(), "experiment: barycenter",
                    {"kind", "sources", "run_dir", "resume", "runtime"});
        plan.barycenter["run_dir"] = joinPath(plan.runDir, "barycenter");
        plan.barycenter["runtime"] = runtime;
        // Scored against the target at its start and end: how close stage 1 alone gets.
        plan.barycenter["evaluation"] = plan.evaluation;
        plan.barycenter["evaluation_every"] = 0;
    }
    if (uses("average") || uses("ensemble")) {
        Json files = Json::array();
        for (const auto& s : plan.sources) files.push_back(s.generator);
        plan.average = Json{{"kind", "average"}, {"generators", files}, {"output", joinPath(joinPath(plan.runDir, "average"), "generator.coalesce")}};
    }

    // Stage 2 and the baselines: one run per (method, n, seed), the same budget and protocol for all.
    Json adaptation = Json::object();
    mergeFields(adaptation, r.has("adaptation") ? r.raw("adaptation") : Json(), "experiment: adaptation",
                {"kind", "data", "k", "k_seed", "seed", "run_dir", "resume", "runtime", "sources", "barycenter", "init",
                 "evaluation", "evaluation_every"});
    plan.iterationsPerRun = adaptation.value("iterations", int64_t(2000));
    auto makeRun = [&](const std::string& method, int64_t n, uint64_t seed, const std::string& dirName) {
        PlannedRun run{method, n, seed, joinPath(joinPath(joinPath(plan.runDir, "runs"), method), dirName), adaptation};
        run.job["seed"] = seed;
        run.job["evaluation"] = plan.evaluation;
        run.job["evaluation_every"] = evaluationEvery;
        run.job["runtime"] = runtime;
        run.job["run_dir"] = run.runDir;
        const Json local{{"data", target}, {"k", n}, {"k_seed", seed}, {"name", "local"}};
        if (method == "barycenter" || method == "average") {
            run.job["kind"] = "adapt";
            run.job["barycenter"] = method == "barycenter" ? joinPath(plan.barycenter["run_dir"].get<std::string>(), "generator.coalesce")
                                                           : plan.average["output"].get<std::string>();
            run.job["data"] = target;
            run.job["k"] = n;
            run.job["k_seed"] = seed;
        } else if (method == "transfer_gan" || method == "freezed") {
            run.job["kind"] = "barycenter";
            Json source = local;
            if (method == "freezed") {
                source["critic"] = kTransferCritic;
                source["freeze_critic_blocks"] = freezeBlocks;
            }
            run.job["sources"] = Json::array({source});
            run.job["init"] = Json{{"generator", kTransferSource}};
        } else if (method == "ensemble") {
            run.job["kind"] = "barycenter";
            Json pooled = Json::array();
            for (const auto& s : plan.sources) pooled.push_back(s.generator);
            run.job["sources"] = Json::array({Json{{"generators", pooled}, {"name", "pooled"}}, local});
            run.job["init"] = Json{{"generator", plan.average["output"].get<std::string>()}};  // G from the sources' mean
        } else {  // edge_only, edge_only_all
            run.job["kind"] = "pretrain";
            run.job["data"] = target;
            run.job["arch"] = arch;
            if (method == "edge_only") {
                run.job["k"] = n;
                run.job["k_seed"] = seed;
            }
        }
        return run;
    };
    for (uint64_t seed : plan.seeds)
        if (uses("edge_only_all")) plan.runs.push_back(makeRun("edge_only_all", 0, seed, "seed" + std::to_string(seed)));
    for (int64_t n : plan.shots)
        for (uint64_t seed : plan.seeds)
            for (const auto& method : plan.methods)
                if (method != "edge_only_all")
                    plan.runs.push_back(makeRun(method, n, seed, "n" + std::to_string(n) + "_seed" + std::to_string(seed)));
    if (r.has("ternarization")) planTernarization(plan, r.raw("ternarization"), target, runtime);
    return plan;
}

}  // namespace coalesce
