// coalesce-cli: the headless front end. Every training stage is an engine job, the same the GUI runs.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "commands.h"
#include "core/error.h"

using namespace coalesce;
using namespace coalesce::cli;

static void printUsage() {
    std::printf("coalesce-cli %s — continual learning of generative models with limited data\n\n", COALESCE_VERSION);
    std::printf("Usage: coalesce-cli <command> [options]   (coalesce-cli <command> --help for details)\n\nCommands:\n");
    for (const auto& c : commands()) std::printf("  %-12s %s\n", c.spec.name.c_str(), c.spec.summary.c_str());
    std::printf("  %-12s %s\n", "launch", "Run N processes of one data-parallel training run (launch --nproc N -- run job.json)");
}

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
        printUsage();
        return argc < 2 ? 2 : 0;
    }
    if (!std::strcmp(argv[1], "--version")) {
        std::printf("coalesce-cli %s\n", COALESCE_VERSION);
        return 0;
    }
    const std::string name = argv[1];
    if (name == "launch") {  // its own parser: everything after "--" is the children's command line
        try {
            return runLaunch(std::vector<std::string>(argv + 2, argv + argc));
        } catch (const Error& e) {
            std::fprintf(stderr, "coalesce-cli %s\n", e.what());
            return 1;
        }
    }
    for (const auto& c : commands()) {
        if (c.spec.name != name) continue;
        try {
            ParsedArgs args = parseArguments(c.spec, std::vector<std::string>(argv + 2, argv + argc));
            if (args.help) {
                std::printf("%s", formatHelp(c.spec).c_str());
                return 0;
            }
            return c.run(args);
        } catch (const Error& e) {
            std::fprintf(stderr, "coalesce-cli %s: error: %s\n", name.c_str(), e.what());
            return 1;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "coalesce-cli %s: internal error: %s\n", name.c_str(), e.what());
            return 1;
        }
    }
    std::fprintf(stderr, "coalesce-cli: unknown command '%s' (see coalesce-cli --help)\n", name.c_str());
    return 2;
}
