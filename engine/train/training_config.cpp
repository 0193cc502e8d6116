#include "train/training_config.h"

#include <cmath>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "core/error.h"

namespace coalesce {

using nlohmann::json;

ConfigReader::ConfigReader(const json& config, std::string context) : config_(config), context_(std::move(context)) {
    if (!config_.is_object()) throw Error(context_ + ": expected a JSON object");
}

void ConfigReader::fail(const std::string& key, const std::string& problem) const {
    throw Error(context_ + ": " + key + " " + problem);
}

bool ConfigReader::has(const std::string& key) const { return config_.contains(key) && !config_.at(key).is_null(); }

const json& ConfigReader::raw(const std::string& key) const {
    if (!has(key)) fail(key, "is required");
    return config_.at(key);
}

int64_t ConfigReader::integer(const std::string& key, int64_t fallback) const {
    if (!has(key)) return fallback;
    const json& v = config_.at(key);
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float()) {
        const double d = v.get<double>();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
        fail(key, "must be an integer, got " + v.dump());
    }
    fail(key, "must be an integer, got " + v.dump());
}

double ConfigReader::number(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    const json& v = config_.at(key);
    if (!v.is_number()) fail(key, "must be a number, got " + v.dump());
    const double d = v.get<double>();
    if (!std::isfinite(d)) fail(key, "must be a finite number");
    return d;
}

std::string ConfigReader::text(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const json& v = config_.at(key);
    if (!v.is_string()) fail(key, "must be a string, got " + v.dump());
    return v.get<std::string>();
}

bool ConfigReader::boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& v = config_.at(key);
    if (!v.is_boolean()) fail(key, "must be true or false, got " + v.dump());
    return v.get<bool>();
}

std::vector<double> ConfigReader::numbers(const std::string& key) const {
    std::vector<double> out;
    if (!has(key)) return out;
    const json& v = config_.at(key);
    if (!v.is_array()) fail(key, "must be an array of numbers, got " + v.dump());
    for (const auto& x : v) {
        if (x.is_null()) {
            out.push_back(std::nan(""));
            continue;
        }
        if (!x.is_number()) fail(key, "must hold numbers (or null), got " + x.dump());
        out.push_back(x.get<double>());
    }
    return out;
}

void ConfigReader::rejectUnknownKeys(const std::set<std::string>& known) const {
    for (const auto& item : config_.items())
        if (!known.count(item.key()))
            fail(item.key(), "is not a field of this job (misspelt?)");
}

std::set<std::string> trainerOptionKeys() {
    return {"iterations", "batch_size", "n_critic", "gp", "gp_weight", "lr", "lr_g", "lr_d", "betas", "seed",
            "sample_every", "checkpoint_every", "keep_checkpoints", "w_hat_smoothing"};
}

std::set<std::string> runRecordKeys() {
    return {"provenance", "resumed", "recorded", "evaluation_recorded", "dataset", "segments", "elapsed_seconds",
            "radii_estimated"};
}

std::set<std::string> commonJobKeys() {
    std::set<std::string> keys{"kind", "runtime", "run_dir", "resume", "name", "notes"};
    for (const auto& k : runRecordKeys()) keys.insert(k);
    return keys;
}

TrainerOptions readTrainerOptions(const ConfigReader& r, double defaultLr) {
    TrainerOptions o;
    o.iterations = r.integer("iterations", o.iterations);
    o.batchSize = r.integer("batch_size", o.batchSize);
    const int64_t nCritic = r.integer("n_critic", o.nCritic);
    if (nCritic < 1 || nCritic > 1000) throw Error(r.context() + ": n_critic must be in 1..1000, got " + std::to_string(nCritic));
    o.nCritic = static_cast<int>(nCritic);
    try {
        o.gpMode = parseGradientPenaltyMode(r.text("gp", "standard"));
    } catch (const Error& e) {
        throw Error(r.context() + ": " + e.what());
    }
    o.gpWeight = r.number("gp_weight", o.gpWeight);
    const double lr = r.number("lr", defaultLr);
    o.lrGenerator = r.number("lr_g", lr);
    o.lrCritic = r.number("lr_d", lr);
    if (r.has("betas")) {
        auto betas = r.numbers("betas");
        if (betas.size() != 2) throw Error(r.context() + ": betas must be [beta1, beta2]");
        o.beta1 = betas[0];
        o.beta2 = betas[1];
    }
    const int64_t seed = r.integer("seed", 1);
    if (seed < 0) throw Error(r.context() + ": seed must be >= 0, got " + std::to_string(seed));
    o.seed = static_cast<uint64_t>(seed);
    o.sampleEvery = r.integer("sample_every", o.sampleEvery);
    o.checkpointEvery = r.integer("checkpoint_every", o.checkpointEvery);
    o.keepCheckpoints = r.integer("keep_checkpoints", o.keepCheckpoints);
    o.wHatSmoothing = r.number("w_hat_smoothing", o.wHatSmoothing);
    if (r.has("lr") && (!(lr > 0))) throw Error(r.context() + ": lr must be > 0, got " + std::to_string(lr));
    try {
        o.validate();
    } catch (const Error& e) {
        throw Error(r.context() + ": " + e.what());
    }
    return o;
}

ArchSpec readArchSpec(const ConfigReader& r, const ArchSpec& fallback) {
    if (!r.has("arch")) return fallback;
    const json& a = r.raw("arch");
    try {
        if (a.is_string()) return ArchSpec::preset(fallback.family, a.get<std::string>(), fallback.channels);
        if (!a.is_object()) throw Error("expected an object or a preset name, got " + a.dump());
        if (a.contains("generator_widths") || a.contains("critic_widths")) return ArchSpec::fromJson(a);
        ConfigReader ar(a, r.context() + ": arch");
        ar.rejectUnknownKeys({"family", "preset", "channels"});
        const std::string family = ar.text("family", fallback.family);
        const int64_t channels = ar.integer("channels", fallback.channels);
        return ArchSpec::preset(family, ar.text("preset", "small"), static_cast<int>(channels));
    } catch (const Error& e) {
        const std::string m = e.what();
        throw Error(m.rfind(r.context(), 0) == 0 ? m : r.context() + ": arch: " + m);
    }
}

std::string defaultRunDirectory(const std::string& kind) {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    std::ostringstream s;
    s << "runs/" << kind << "-" << std::put_time(&tm, "%Y%m%d-%H%M%S");
    return s.str();
}

}  // namespace coalesce
