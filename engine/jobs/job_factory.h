// Creates engine jobs from JSON configs. Torch-free: the GUI and the CLI both use this.
// Every job config has "kind" (pretrain, barycenter, adapt, evaluate, ternarize, experiment, ...),
// optional "runtime": {"threads": 0, "device": "auto"} (training jobs also "precision": "auto" | "fp32" | "bf16") and optional "run_dir" (where it writes).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/job.h"

namespace coalesce {

// Throws coalesce::Error for an unknown kind or an invalid config (message names the field).
std::unique_ptr<Job> createJob(const Json& config);
std::vector<std::string> jobKinds();

// Registration: jobs/builtin_jobs.cpp calls registerJobKind for every built-in job kind.
using JobMaker = std::unique_ptr<Job> (*)(const Json& config);
void registerJobKind(const std::string& kind, JobMaker maker, const std::string& summary);
std::string jobKindSummary(const std::string& kind);
void registerBuiltinJobs();  // defined in jobs/builtin_jobs.cpp

}  // namespace coalesce
