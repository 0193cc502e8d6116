// Reading training job configs (JSON) with clear errors that name the field and the problem.
// Shared by the pretrain, barycenter and adapt jobs. Field names (all optional unless a job says so):
//   iterations (2000), batch_size (64), n_critic (5), gp ("standard" | "per_pixel"), gp_weight (10),
//   lr (1e-4, both networks) or lr_g / lr_d, betas ([0.5, 0.999]), seed (1), sample_every (100),
//   checkpoint_every (200), keep_checkpoints (0 = all), w_hat_smoothing (0.9)
//   arch: {"family": "dcgan32"|"dcgan64"|"mlp2d", "preset": "small"|"paper"|"cifar"|"lsun", "channels": 1|3}
//         or a full ArchSpec JSON (presets: models/arch_spec.h)
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/arch_spec.h"
#include "train/multi_critic_trainer.h"

namespace coalesce {

// Typed access to one JSON object; every error names "<context>: <field>".
class ConfigReader {
public:
    ConfigReader(const nlohmann::json& config, std::string context);
    bool has(const std::string& key) const;
    int64_t integer(const std::string& key, int64_t fallback) const;
    double number(const std::string& key, double fallback) const;
    std::string text(const std::string& key, const std::string& fallback) const;
    bool boolean(const std::string& key, bool fallback) const;
    std::vector<double> numbers(const std::string& key) const;  // empty if absent; null entries → NaN
    const nlohmann::json& raw(const std::string& key) const;     // Error if absent
    // Error naming the first key that is neither in `known` nor starts with one of `knownPrefixes`.
    void rejectUnknownKeys(const std::set<std::string>& known) const;
    const std::string& context() const { return context_; }

private:
    [[noreturn]] void fail(const std::string& key, const std::string& problem) const;
    const nlohmann::json& config_;
    std::string context_;
};

// The trainer fields above; validated (TrainerOptions::validate) with the config's field names.
// `defaultLr` is the learning rate when neither lr nor lr_g / lr_d is given (jobs use 1e-4, the paper's,
// for images and 1e-3 for the 2-D toy mode, where 1e-4 needs thousands of iterations to show anything).
TrainerOptions readTrainerOptions(const ConfigReader& reader, double defaultLr = 1e-4);
// Keys readTrainerOptions understands (for rejectUnknownKeys).
std::set<std::string> trainerOptionKeys();
// What a run adds to its config.json (RunDirectory, recordConfig): accepted in a job config, so that a
// run's config.json can be given back to `run`, and never a difference that blocks a resume.
std::set<std::string> runRecordKeys();
// Keys every job config may carry: kind, runtime, run_dir, resume, name, notes, and runRecordKeys().
std::set<std::string> commonJobKeys();

// "arch" as a preset object or a full spec; `fallback` when absent.
ArchSpec readArchSpec(const ConfigReader& reader, const ArchSpec& fallback);

// A default run directory for a job kind: runs/<kind>-YYYYmmdd-HHMMSS (local time).
std::string defaultRunDirectory(const std::string& kind);

}  // namespace coalesce
