// The list of built-in job kinds. Each job's .cpp exposes a maker declared here; add one line per kind.
#include "jobs/job_factory.h"

namespace coalesce {

std::unique_ptr<Job> makePretrainJob(const Json& config);    // jobs/pretrain_job.cpp
std::unique_ptr<Job> makeBarycenterJob(const Json& config);  // jobs/barycenter_job.cpp
std::unique_ptr<Job> makeAdaptJob(const Json& config);       // jobs/adapt_job.cpp
std::unique_ptr<Job> makeAverageJob(const Json& config);     // jobs/barycenter_job.cpp
std::unique_ptr<Job> makeEvaluateJob(const Json& config);        // jobs/evaluate_job.cpp
std::unique_ptr<Job> makeEvaluatorTrainJob(const Json& config);  // jobs/evaluate_job.cpp
std::unique_ptr<Job> makeTernarizeJob(const Json& config);       // jobs/ternarize_job.cpp
std::unique_ptr<Job> makeExperimentJob(const Json& config);      // jobs/experiment_job.cpp
void registerPackedTernaryReader();                              // quant/packed_generator.h

void registerBuiltinJobs() {
    registerPackedTernaryReader();  // every job that loads generator files also reads .ctern files
    registerJobKind("ternarize", &makeTernarizeJob, "ternarise a generator (learned threshold, TWN or TTQ) into a packed 2-bit file");
    registerJobKind("evaluate", &makeEvaluateJob, "score a generator: FID, KID, exact/sliced W1, precision/recall, diversity");
    registerJobKind("evaluator-train", &makeEvaluatorTrainJob, "train and cache the feature network used by evaluate");
    registerJobKind("pretrain", &makePretrainJob,
                    "train a WGAN-GP generator on dataset classes (or a 2-D toy mixture)");
    registerJobKind("barycenter", &makeBarycenterJob,
                    "W1 barycenter of pre-trained generators (K critics; fixed or constrained weights)");
    registerJobKind("adapt", &makeAdaptJob,
                    "fast adaptation: from the barycenter to a few local samples (two critics)");
    registerJobKind("experiment", &makeExperimentJob,
                    "the few-shot protocol: sources, barycenter, then every method x n x seed, and a report");
    registerJobKind("average", &makeAverageJob, "element-wise mean of generator files (model-average baseline)");
}

}  // namespace coalesce
