// The list of built-in job kinds. Each job's .cpp exposes a maker declared here; add one line per kind.
#include "jobs/job_factory.h"

namespace coalesce {

void registerBuiltinJobs() {
    // registerJobKind("pretrain", &makePretrainJob, "train a WGAN-GP generator on dataset classes");
}

}  // namespace coalesce
