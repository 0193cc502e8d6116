// What the one-shot jobs (evaluate, evaluator-train, average: no iterations, no checkpoint) share:
// reading their few config fields and running their body with an optional run directory.
// "resume": true re-runs an unfinished run directory from the start (a one-shot job has nothing to
// continue from); a finished one stays immutable. (Includes core/runtime.h, so <torch/types.h>.)
#pragma once
#include <initializer_list>
#include <memory>
#include <string>

#include "core/error.h"
#include "core/job.h"
#include "core/runtime.h"
#include "run/run_directory.h"

namespace coalesce {

// Error naming the first field of `config` that is not in `known`. Every one-shot job also accepts
// "kind", "run_dir", "resume", "runtime", "name" and "notes".
void requireKnownOneShotKeys(const Json& config, std::initializer_list<const char*> known);
std::string optionalString(const Json& config, const char* key);
bool optionalBool(const Json& config, const char* key);
RuntimeOptions oneShotRuntimeOptions(const Json& config);

// Runs `body(observer)` with the caller's observer plus, when "run_dir" is set, the run directory;
// exceptions become a failed or cancelled JobResult. The body's JSON is the summary.
template <typename Body>
JobResult runOneShotJob(const Json& config, JobObserver& observer, Body&& body) {
    JobResult result;
    try {
        ObserverFanout fanout;
        fanout.add(&observer);
        std::unique_ptr<RunDirectory> runDir;
        const std::string dir = optionalString(config, "run_dir");
        if (!dir.empty()) {
            const bool rerun = optionalBool(config, "resume");
            runDir = std::make_unique<RunDirectory>(dir, config, rerun ? RunDirectory::Mode::Rerun : RunDirectory::Mode::Create);
            runDir->recordConfig("provenance", provenance());
            fanout.add(runDir.get());
            result.runDir = runDir->path();
        }
        result.summary = body(static_cast<JobObserver&>(fanout));
        if (runDir) runDir->writeSummary(result.summary);
        result.status = JobResult::Status::Finished;
    } catch (const Cancelled&) {
        result.status = JobResult::Status::Cancelled;
        result.message = "cancelled";
        observer.onLog(LogLevel::Warning, "cancelled");
    } catch (const std::exception& e) {
        result.status = JobResult::Status::Failed;
        const std::string m = e.what();
        result.message = m.substr(0, m.find('\n'));
        observer.onLog(LogLevel::Error, result.message);
    }
    return result;
}

}  // namespace coalesce
