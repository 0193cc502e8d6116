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
const char* kStage1Checkpoint = "@stage1_checkpoint";

// A method as the config names it: a built-in, or a variant of one with its own job fields.
struct MethodSpec {
    std::string name;  // runs/<name>/..., the report's label
    std::string base;  // the built-in method it runs
    Json stage1;       // barycenter/sequential: stage-1 job fields of this variant
    Json adaptation;   // stage-2 job fields of this variant
};

// Replaces every string equal to `placeholder` (Error naming `where` if it has no value here).
Json resolvePlaceholder(const Json& job, const std::string& placeholder, const Json& value, const std::string& where) {
    if (job.is_string() && job.get<std::string>() == placeholder) {
        if (value.is_null()) throw Error(where + ": " + placeholder + " is only known for methods with a stage 1 (barycenter, sequential)");
        return value;
    }
    if (job.is_array() || job.is_object()) {
        Json out = job;
        for (auto& item : out) item = resolvePlaceholder(item, placeholder, value, where);
        return out;
    }
    return job;
}

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
    return {"barycenter", "average", "transfer_gan", "sequential", "freezed", "ensemble", "edge_only", "edge_only_all"};
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
                         "transfer_source", "freeze_critic_blocks", "runtime", "provenance", "recorded", "report_only", "shard",
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

    // Methods: built-in names, or variants {"name", "method" (a built-in), "barycenter": {stage-1 job
    // fields}, "adaptation": {stage-2 job fields}} (e.g. the same method with old and new defaults).
    const auto known = experimentMethods();
    std::vector<MethodSpec> specs;
    auto knownList = [&] {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        return list;
    };
    const Json methods = r.has("methods") ? r.raw("methods") : Json::array({"barycenter", "transfer_gan", "average", "edge_only"});
    if (!methods.is_array() || methods.empty()) throw Error("experiment: methods must be a non-empty array of method names");
    for (const auto& m : methods) {
        MethodSpec spec;
        if (m.is_string()) {
            spec.name = spec.base = m.get<std::string>();
        } else if (m.is_object()) {
            ConfigReader v(m, "experiment: methods");
            v.rejectUnknownKeys({"name", "method", "barycenter", "adaptation"});
            spec.name = v.text("name", "");
            spec.base = v.text("method", "");
            if (spec.name.empty() || spec.base.empty())
                throw Error("experiment: methods: a variant needs \"name\" and \"method\" (a built-in method), got " + m.dump());
            if (v.has("barycenter")) spec.stage1 = v.raw("barycenter");
            if (v.has("adaptation")) spec.adaptation = v.raw("adaptation");
            if (!spec.stage1.is_null() && spec.base != "barycenter" && spec.base != "sequential")
                throw Error("experiment: methods: " + spec.name + ": \"barycenter\" fields apply to the barycenter and sequential methods only");
        } else {
            throw Error("experiment: methods: each entry is a method name or a variant object, got " + m.dump());
        }
        if (std::find(known.begin(), known.end(), spec.base) == known.end())
            throw Error("experiment: methods: unknown method '" + spec.base + "' (known: " + knownList() + ")");
        for (const auto& other : specs)
            if (other.name == spec.name) throw Error("experiment: methods: '" + spec.name + "' is listed twice");
        if (spec.name.empty() || spec.name.find_first_of("/\\ ") != std::string::npos)
            throw Error("experiment: methods: name '" + spec.name + "' must be a non-empty word (it names run folders)");
        specs.push_back(spec);
        plan.methods.push_back(spec.name);
    }
    auto uses = [&](const std::string& base) {
        return std::any_of(specs.begin(), specs.end(), [&](const MethodSpec& m) { return m.base == base; });
    };

    // Sources: given generator files, or pretrained here from data.
    const Json sources = r.has("sources") ? r.raw("sources") : Json::array();
    if (!sources.is_array()) throw Error("experiment: sources must be an array");
    const bool needSources = uses("barycenter") || uses("average") || uses("transfer_gan") || uses("freezed") ||
                             uses("ensemble") || uses("sequential");
    if (needSources && sources.empty()) throw Error("experiment: sources are required by the methods listed");
    if ((uses("barycenter") || uses("average") || uses("ensemble") || uses("sequential")) && sources.size() < 2)
        throw Error("experiment: barycenter, average, ensemble and sequential need at least two sources");
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

    // Stage 1: the barycenter of the sources (per variant; per (n, seed) too when its radii are
    // estimated from the run's local samples, "radii": "auto").
    const Json stage1Fields = r.has("barycenter") ? r.raw("barycenter") : Json();
    const std::set<std::string> stage1Reserved{"kind", "sources", "run_dir", "resume", "runtime"};
    auto stage1Job = [&](const MethodSpec& m, int64_t n, uint64_t seed) {
        Json job{{"kind", "barycenter"}};
        Json list = Json::array();
        bool allRadii = true;
        for (const auto& src : plan.sources) allRadii = allRadii && src.radius > 0;
        mergeFields(job, stage1Fields, "experiment: barycenter", stage1Reserved);
        mergeFields(job, m.stage1, "experiment: methods: " + m.name + ": barycenter", stage1Reserved);
        const bool autoRadii = job.value("radii", std::string("given")) == "auto";
        for (const auto& src : plan.sources) {
            Json entry{{"generator", src.generator}, {"name", src.name}};
            if (allRadii && !autoRadii) entry["radius"] = src.radius;
            list.push_back(entry);
        }
        job["sources"] = list;
        // Variants with the same stage-1 fields share one stage 1, named after the first of them.
        std::string owner = m.name;
        for (const auto& other : specs)
            if (other.base == m.base && other.stage1 == m.stage1) {
                owner = other.name;
                break;
            }
        std::string dir = owner == "barycenter" ? joinPath(plan.runDir, "barycenter") : joinPath(joinPath(plan.runDir, "stage1"), owner);
        if (m.base == "sequential") {
            // The paper's T.GAN-T.GAN: G from the first source, fine-tuned on the second source's samples
            // (one critic), then on the local samples like TransferGAN.
            job["sources"] = Json::array({list[1]});
            job["sources"][0].erase("radius");
            job["init"] = Json{{"generator", plan.sources[0].generator}};
            job.erase("radii");
            job.erase("radius_estimation");
            job.erase("mode");  // one source: nothing to combine
        } else if (autoRadii) {
            // η from the run's own local samples: the same k-shot subset stage 2 adapts to.
            Json estimation = job.value("radius_estimation", Json::object());
            for (const char* key : {"data", "k", "k_seed"})
                if (estimation.contains(key))
                    throw Error("experiment: barycenter: radius_estimation." + std::string(key) + " is set by the experiment (the run's local samples)");
            estimation["data"] = target;
            estimation["k"] = n;
            estimation["k_seed"] = seed;
            job["radius_estimation"] = estimation;
            dir = joinPath(dir, "n" + std::to_string(n) + "_seed" + std::to_string(seed));
        }
        job["run_dir"] = dir;
        job["runtime"] = runtime;
        // Scored against the target at its start and end: how close stage 1 alone gets.
        job["evaluation"] = plan.evaluation;
        job["evaluation_every"] = 0;
        return job;
    };
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
    const std::set<std::string> adaptationReserved{"kind", "data", "k", "k_seed", "seed", "run_dir", "resume", "runtime",
                                                   "sources", "barycenter", "init", "evaluation", "evaluation_every"};
    auto makeRun = [&](const MethodSpec& m, int64_t n, uint64_t seed, const std::string& dirName) {
        const std::string& method = m.base;
        PlannedRun run{m.name, n, seed, joinPath(joinPath(joinPath(plan.runDir, "runs"), m.name), dirName), adaptation};
        mergeFields(run.job, m.adaptation, "experiment: methods: " + m.name + ": adaptation", adaptationReserved);
        run.job["seed"] = seed;
        run.job["evaluation"] = plan.evaluation;
        run.job["evaluation_every"] = evaluationEvery;
        run.job["runtime"] = runtime;
        run.job["run_dir"] = run.runDir;
        const Json local{{"data", target}, {"k", n}, {"k_seed", seed}, {"name", "local"}};
        if (method == "barycenter" || method == "sequential") run.stage1 = stage1Job(m, n, seed);
        const std::string stage1Dir = run.stage1.is_null() ? std::string() : run.stage1["run_dir"].get<std::string>();
        if (method == "barycenter" || method == "average") {
            run.job["kind"] = "adapt";
            run.job["barycenter"] = method == "barycenter" ? joinPath(stage1Dir, "generator.coalesce")
                                                           : plan.average["output"].get<std::string>();
            run.job["data"] = target;
            run.job["k"] = n;
            run.job["k_seed"] = seed;
        } else if (method == "transfer_gan" || method == "freezed" || method == "sequential") {
            run.job["kind"] = "barycenter";
            Json source = local;
            if (method == "freezed") {
                source["critic"] = kTransferCritic;
                source["freeze_critic_blocks"] = freezeBlocks;
            }
            run.job["sources"] = Json::array({source});
            run.job["init"] = Json{{"generator", method == "sequential" ? joinPath(stage1Dir, "generator.coalesce") : kTransferSource}};
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
        // "@stage1_checkpoint" (e.g. "critic_init" of an adapt variant): the stage-1 run's last checkpoint.
        run.job = resolvePlaceholder(run.job, kStage1Checkpoint,
                                     stage1Dir.empty() ? Json() : Json(joinPath(joinPath(stage1Dir, "checkpoints"), "latest.coalesce")),
                                     "experiment: methods: " + m.name);
        if (!run.stage1.is_null() && plan.barycenter.is_null() && method == "barycenter") plan.barycenter = run.stage1;
        return run;
    };
    for (uint64_t seed : plan.seeds)
        for (const auto& m : specs)
            if (m.base == "edge_only_all") plan.runs.push_back(makeRun(m, 0, seed, "seed" + std::to_string(seed)));
    for (int64_t n : plan.shots)
        for (uint64_t seed : plan.seeds)
            for (const auto& m : specs)
                if (m.base != "edge_only_all")
                    plan.runs.push_back(makeRun(m, n, seed, "n" + std::to_string(n) + "_seed" + std::to_string(seed)));
    std::set<std::string> stage1Dirs;
    for (const auto& run : plan.runs)
        if (!run.stage1.is_null() && stage1Dirs.insert(run.stage1["run_dir"].get<std::string>()).second)
            plan.stage1Jobs.push_back(run.stage1);
    if (r.has("ternarization")) planTernarization(plan, r.raw("ternarization"), target, runtime);
    return plan;
}

}  // namespace coalesce
