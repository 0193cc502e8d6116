// The frame every training job runs in (pretrain, barycenter, adapt, baselines): runtime settings from
// config["runtime"], the run directory (config.json, metrics.csv, samples/, checkpoints/, log.txt,
// summary.json), an observer fan-out (run directory + the caller's observer), and the mapping of
// exceptions to a JobResult (Cancelled → cancelled, coalesce::Error / torch errors → failed). Jobs only
// write the body: build sources and a MultiCriticTrainer, resume, train, save outputs.
#pragma once
#include <functional>
#include <set>
#include <string>

#include <torch/types.h>

#include "core/job.h"
#include "core/runtime.h"
#include "models/networks.h"
#include "run/run_directory.h"
#include "train/data_parallel.h"
#include "train/mixed_precision.h"
#include "train/multi_critic_trainer.h"
#include "train/training_config.h"

namespace coalesce {

struct TrainingRun {
    const Json& config;      // the job config as given
    RunDirectory& runDir;
    JobObserver& observer;   // forwards to the run directory and to the caller
    CancelToken& cancel;
    torch::Device device;
    bool resume;
    // Data-parallel runs (runtime.distributed): the process group; null in a one-process run. Rank 0
    // owns run_dir; rank r > 0 writes its log and outputs to run_dir/ranks/r and resumes from rank 0's
    // checkpoints (runDir.useCheckpointsOf).
    std::shared_ptr<DataParallel> parallel = nullptr;
    Precision precision = Precision::Fp32;  // runtime.precision resolved for the device
};

// Hands the run's checkpoint folder, process group (if any) and precision to a trainer.
void attachTrainer(MultiCriticTrainer& trainer, TrainingRun& run);

// "runtime": {"threads": 0, "device": "auto", "precision": "auto", "distributed": {...}}; Error naming the field if malformed.
// `distributed` (data_parallel.h) is filled when given; without it "distributed" is refused (a job that
// cannot run data-parallel).
RuntimeOptions readRuntimeOptions(const ConfigReader& reader, DistributedOptions* distributed = nullptr);

// Where and how a training job runs, read the same way for every kind: "run_dir" (default
// runs/<kind>-<time>), "resume" (Error without a run_dir: there is nothing to continue) and "runtime".
struct RunFrame {
    std::string runDir;
    bool resume = false;
    RuntimeOptions runtime;
    DistributedOptions distributed;  // runtime.distributed; one process unless world_size > 1
};
RunFrame readRunFrame(const ConfigReader& reader, const std::string& kind);

// Runs body(run) in the frame above; the body returns the job's summary (also written to summary.json).
// mode: Create, Resume (run.resume is false when the folder had no checkpoint yet and is started
// over), or Rerun (a job that always starts over, e.g. ternarize).
// With frame.distributed enabled, every process joins the group first (all ranks run this).
JobResult runTrainingJob(const std::string& kind, const Json& config, const RunFrame& frame, RunDirectory::Mode mode,
                         JobObserver& observer, CancelToken& cancel, const std::function<Json(TrainingRun&)>& body);

// Resuming: loads <run_dir>/checkpoints/latest.coalesce, checks that every field of the job config
// except `mayChange` equals the one the checkpoint was made with (Error naming the first difference),
// and restores the trainer from it.
void resumeTrainer(MultiCriticTrainer& trainer, const TrainingRun& run, const std::set<std::string>& mayChange);
// Fields a resumed run may change by default: iterations, sample/checkpoint cadence, runtime, ...
std::set<std::string> resumableChanges();

// A generator model file: the architecture and "generator.*" weights (no critics, no optimizer state),
// meta {"kind": "generator", ...}. Written atomically.
void writeGeneratorFile(const std::string& path, const Generator& generator, const Json& meta);
// A source's critic on its own (FreezeD and critic warm starts need it; the full checkpoint, with both
// nets' optimizer state, is ~15× larger): the "<prefix>.*" tensors of a training checkpoint, stored
// under "critic0.*" with the architecture. Error if the checkpoint has no such critic.
void writeCriticFile(const std::string& checkpointPath, const std::string& path, const std::string& prefix = "critic0");

}  // namespace coalesce
