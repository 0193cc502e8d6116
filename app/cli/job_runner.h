// Runs one engine job from the CLI: progress bar, Ctrl-C → cancel (the job stops within one
// iteration and keeps its last good checkpoint), result line, exit code.
#pragma once
#include "core/job.h"

namespace coalesce::cli {

// Exit codes: 0 finished, 1 failed, 130 cancelled (as after SIGINT).
int runJobConfig(const Json& config, bool quiet);

}  // namespace coalesce::cli
