#include "job_runner.h"

#include <csignal>
#include <cstdio>

#include <unistd.h>

#include "core/error.h"
#include "jobs/job_factory.h"
#include "progress_bar.h"

namespace coalesce::cli {

namespace {
CancelToken* g_cancel = nullptr;

void onSigint(int) {
    // Only async-signal-safe work here: set the flag; the job notices at its next check().
    if (g_cancel) g_cancel->requestCancelFromSignal();
    static const char msg[] = "\ncancelling (the job stops after this iteration; Ctrl-C again to abort)\n";
    (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
    std::signal(SIGINT, SIG_DFL);
}
}  // namespace

int runJobConfig(const Json& config, bool quiet) {
    auto job = createJob(config);  // throws Error on an invalid config
    // In a data-parallel run only rank 0 draws the progress bar (the others would draw over it).
    if (config.contains("runtime") && config["runtime"].is_object() && config["runtime"].contains("distributed") &&
        config["runtime"]["distributed"].value("rank", 0) > 0)
        quiet = true;
    CancelToken cancel;
    ProgressBar progress(::isatty(STDERR_FILENO) != 0, quiet);
    g_cancel = &cancel;
    std::signal(SIGINT, onSigint);
    std::signal(SIGTERM, onSigint);
    JobResult result = job->run(progress, cancel);
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    g_cancel = nullptr;
    progress.finish();

    switch (result.status) {
        case JobResult::Status::Finished:
            if (!quiet) {
                std::printf("%s finished%s%s\n", job->kind().c_str(), result.runDir.empty() ? "" : ": ",
                            result.runDir.c_str());
                if (!result.summary.is_null() && !result.summary.empty())
                    std::printf("%s\n", result.summary.dump(2).c_str());
            }
            return 0;
        case JobResult::Status::Cancelled:
            std::fprintf(stderr, "coalesce-cli: %s cancelled%s%s\n", job->kind().c_str(),
                         result.message.empty() ? "" : ": ", result.message.c_str());
            return 130;
        case JobResult::Status::Failed:
            if (!progress.errorShown(result.message)) std::fprintf(stderr, "coalesce-cli: error: %s\n", result.message.c_str());
            return 1;
    }
    return 1;
}

}  // namespace coalesce::cli
