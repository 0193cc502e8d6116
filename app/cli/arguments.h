// A small, strict command-line parser: every subcommand declares its options (with help text and a
// JSON type), unknown or malformed options are one-line errors, --help prints the declarations.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace coalesce::cli {

enum class OptionType { String, Int, Float, Flag, IntList };

struct OptionSpec {
    std::string name;        // without leading dashes, e.g. "batch-size"
    OptionType type;
    std::string help;
    std::string defaultValue;  // shown in --help; empty = no default (required if `required`)
    bool required = false;
    bool repeatable = false;   // may be given several times; the values form a JSON array in order
};

struct CommandSpec {
    std::string name;
    std::string summary;
    std::string usage;  // e.g. "coalesce-cli sample --generator FILE [options]"
    std::vector<OptionSpec> options;
    bool acceptsPositional = false;  // e.g. `experiment config.json`
};

struct ParsedArgs {
    std::map<std::string, nlohmann::json> values;  // option name -> typed value (defaults applied)
    std::set<std::string> given;                   // the options on the command line (not defaulted)
    std::vector<std::string> positional;
    bool help = false;

    bool has(const std::string& name) const { return values.count(name) > 0; }
    std::string str(const std::string& name) const;
    long long integer(const std::string& name) const;
    double real(const std::string& name) const;
    bool flag(const std::string& name) const;
    // A repeatable option's values in command-line order (empty when not given).
    std::vector<nlohmann::json> list(const std::string& name) const;
};

// Throws coalesce::Error with a one-line message ("--batch-size: expected an integer, got 'x'").
ParsedArgs parseArguments(const CommandSpec& spec, const std::vector<std::string>& args);
std::string formatHelp(const CommandSpec& spec);

}  // namespace coalesce::cli
