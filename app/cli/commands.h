// The CLI's subcommands. Each is declared with its options (arguments.h) and implemented by turning
// them into an engine job config (jobs run identically from the GUI) or by a direct engine call.
#pragma once
#include <string>
#include <vector>

#include "arguments.h"

namespace coalesce::cli {

struct Command {
    CommandSpec spec;
    int (*run)(const ParsedArgs& args);
};

const std::vector<Command>& commands();

// Shared option blocks.
std::vector<OptionSpec> runtimeOptions();          // --threads, --device
OptionSpec precisionOption();                      // --precision: training commands only (runtime.precision)
// Only the options given on the command line become config keys, everywhere: every default stays the
// engine's (jobs/*.cpp, train/training_config.h), so there is one place that says what a default is,
// and a command line gives the same config as the workbench when it gives the same values.
// The runtime keys given ({} when neither --threads nor --device is).
nlohmann::json runtimeConfig(const ParsedArgs& a);
// Merges those keys into config["runtime"]: a config file's own runtime keeps what is not given.
void applyRuntime(nlohmann::json& config, const ParsedArgs& a);
// --print-config, for every command that builds a job config.
OptionSpec printConfigOption();
// With --print-config: the engine checks the config (constructing the job reads no model or data
// file) and it is printed, nothing runs. Otherwise the job runs. A training command (one with the
// data-parallel options) also gets this process's place in a data-parallel run.
int runOrPrint(const ParsedArgs& a, nlohmann::json config);
// The evaluation protocol (metrics/evaluation_protocol.h) as flags: --protocol FILE as the base, then
// --reference, --samples (real, fake and W1 sample counts), --diversity-samples, --feature-net-data.
std::vector<OptionSpec> protocolOptions();
// The protocol those flags give, on top of `base` (a config file's own protocol; --protocol FILE replaces
// it); null when there is neither a base nor a flag (the job's default then holds).
nlohmann::json protocolConfig(const ParsedArgs& a, nlohmann::json base = nullptr);
// Data-parallel training (coalesce-cli launch, Slurm): --world-size, --rank, --rendezvous, --timeout.
std::vector<OptionSpec> distributedOptions();
// runtime.distributed from those options or $WORLD_SIZE/$RANK/$MASTER_ADDR/$MASTER_PORT; null when
// this process runs alone.
nlohmann::json distributedConfig(const ParsedArgs& a);
// Sets config["runtime"]["distributed"] from distributedConfig when it is not null.
void addDistributed(nlohmann::json& config, const ParsedArgs& a);
// Defined in launch.cpp: `coalesce-cli launch --nproc N -- <command> ...` (argv after "launch").
int runLaunch(const std::vector<std::string>& args);
// A JSON object in a regular file (a job or experiment config, an architecture, a protocol); Error
// naming the file when it is missing, not JSON, or not an object.
nlohmann::json readJsonFile(const std::string& path);

// A flag's value as a JSON number, or the string "auto"; Error naming the flag otherwise.
nlohmann::json numberOrAuto(const ParsedArgs& a, const std::string& flag);

// Defined in model_commands.cpp (these call the engine directly, not through a job).
int runSample(const ParsedArgs& args);
int runInfo(const ParsedArgs& args);
CommandSpec sampleSpec();
CommandSpec infoSpec();
int runExport(const ParsedArgs& args);
CommandSpec exportSpec();
int runRadii(const ParsedArgs& args);
CommandSpec radiiSpec();
// Defined in stage_commands.cpp: pretrain, barycenter, adapt, average with flags (they write `run`'s
// job config).
std::vector<Command> stageCommands();

}  // namespace coalesce::cli
