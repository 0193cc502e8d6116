#include "jobs/one_shot_job.h"

#include <set>

#include "train/training_config.h"

namespace coalesce {

namespace {
std::string jobKind(const Json& config) {
    return config.contains("kind") && config["kind"].is_string() ? config["kind"].get<std::string>() : std::string("job");
}
}  // namespace

void requireKnownOneShotKeys(const Json& config, std::initializer_list<const char*> known) {
    // The keys every job takes, and what a run directory records in config.json (so that a run's
    // config.json is itself a valid config, as for the training jobs).
    static const std::set<std::string> common = commonJobKeys();
    for (const auto& item : config.items()) {
        bool ok = common.count(item.key()) > 0;
        for (const char* k : known) ok = ok || item.key() == k;
        if (!ok) throw Error(jobKind(config) + " job config: unknown field \"" + item.key() + "\" (misspelt?)");
    }
}

std::string optionalString(const Json& config, const char* key) {
    if (!config.contains(key)) return "";
    if (!config[key].is_string())
        throw Error(jobKind(config) + " job config: \"" + key + "\" must be a string, got " + config[key].dump());
    return config[key].get<std::string>();
}

bool optionalBool(const Json& config, const char* key) {
    if (!config.contains(key)) return false;
    if (!config[key].is_boolean()) throw Error(jobKind(config) + " job config: \"" + key + "\" must be true or false");
    return config[key].get<bool>();
}

RuntimeOptions oneShotRuntimeOptions(const Json& config) {
    RuntimeOptions options;
    if (!config.contains("runtime")) return options;
    const auto& r = config["runtime"];
    if (!r.is_object()) throw Error("job config: \"runtime\" must be an object {\"threads\": N, \"device\": \"auto\"}");
    for (const auto& item : r.items()) {
        if (item.key() == "precision")  // e.g. `coalesce-cli run evaluate.json --precision bf16`
            throw Error(jobKind(config) + " job config: runtime.precision is for training jobs, and \"" + jobKind(config) +
                        "\" does not train (its runtime fields: threads, device)");
        if (item.key() != "threads" && item.key() != "device")
            throw Error("job config: runtime." + item.key() + " is not a runtime field (threads, device)");
    }
    if (r.contains("threads")) {
        if (!r["threads"].is_number_integer() || r["threads"].get<int64_t>() < 0 || r["threads"].get<int64_t>() > 4096)
            throw Error("job config: runtime.threads must be an integer in 0..4096 (0 = all cores)");
        options.threads = r["threads"].get<int>();
    }
    if (r.contains("device")) {
        if (!r["device"].is_string()) throw Error("job config: runtime.device must be a string");
        options.device = r["device"].get<std::string>();
    }
    return options;
}

}  // namespace coalesce
