// The experiment protocol of METHOD.md / issue "adaptive coalescence": every method adapts to the same n
// local samples of the target, with the same iteration budget, seeds and evaluation protocol.
// A plan is pure data (job configs), made from the experiment config before anything runs, so that
// what will run can be printed, tested and resumed.
//
// {"kind": "experiment", "name": "fashion_fewshot", "run_dir": "runs/fashion_fewshot",
//  "arch": {"family": "dcgan32", "preset": "small", "channels": 1},
//  "sources": [{"name": "src_0123", "data": "fashion-mnist:train:0,1,2,3", "seed": 1, "radius": 1.0},
//              {"name": "src_4567", "generator": "runs/sources/src_4567/generator.coalesce"}],
//  "source_training": {trainer fields for pretraining sources that have "data"},
//  "barycenter": {"iterations": 500, "weights": "fixed", "init": "largest", ... barycenter job fields},
//  "target": "fashion-mnist:train:8,9",
//  "shots": [8, 20, 100], "seeds": [1, 2, 3],
//  "methods": ["barycenter", "transfer_gan", "average", "edge_only", "ensemble", "freezed", "edge_only_all"],
//  "adaptation": {"iterations": 300, "batch_size": 64, "sample_every": 50, ... trainer fields},
//  "evaluation": {EvaluationProtocol JSON}, "evaluation_every": 50,
//  "transfer_source": "auto" | "<source name>",   (TransferGAN/FreezeD start from this source; auto = lowest FID)
//  "freeze_critic_blocks": 1,                      (FreezeD)
//  "ternarization": {"of": ["barycenter"], "shots": [20], "seeds": [1],   (optional; default: every n and seed)
//                    "quantizers": ["learned", "twn", "ttq", {"name": "learned+ft", "method": "learned",
//                                   "iterations": 100, ...ternarize job fields}],
//                    "job": {ternarize job fields shared by all quantizers}},
//                   each finished adapted generator of those methods is ternarised by the "ternarize" job
//                   and scored with the experiment's protocol (float and ternary); fine-tuning runs
//                   (iterations > 0) see the run's own n local samples.
//                   A quantizer with "mode": "adaptation" (and only ternary options: method,
//                   keep_last_float, threshold_init, ...) instead re-runs the method's adaptation with a
//                   ternarised G (adapt job + "ternarize", same budget, seed and local samples) and scores
//                   that against the float run (the ternarize job with "ternary_checkpoint")
//  "runtime": {"threads": 0, "device": "auto", "precision": "auto"},  (passed to every run)
//  "report_only": false}                          (true: write the report from the runs that finished, run nothing)
//
// Methods (METHOD.md "Baselines"; each run r = (method, n, seed) starts from its own seed):
//   barycenter     adapt job from the stage-1 barycenter (two critics: frozen B and the n local samples)
//   average        adapt job from the element-wise average of the sources (BatchNorm buffers included)
//   transfer_gan   one critic on the n local samples, G from the best single source
//   sequential     the paper's T.GAN-T.GAN: G from the first source fine-tuned on the second source's samples
//                  (stage 1, "barycenter" fields: iterations, batch, ...), then on the n local samples
// A method may also be a variant: {"name": "barycenter_paper", "method": "barycenter",
//   "barycenter": {stage-1 fields, e.g. "radii": "auto", "radius_estimation": {"space": "features"}},
//   "adaptation": {stage-2 fields, e.g. "barycenter_schedule": "cosine", "critic_init": "@stage1_checkpoint"}}.
//   With "radii": "auto" stage 1 runs per (n, seed): η is estimated from that run's own local samples.
//   freezed        transfer_gan with the critic started from that source's critic, first blocks frozen
//   ensemble       one critic on the pooled sources and one on the local samples, G from the sources' average
//   edge_only      from scratch on the n local samples
//   edge_only_all  from scratch on all target data (the upper bound; one run per seed, shown for every n)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/job.h"

namespace coalesce {

struct PlannedSource {
    std::string name;
    std::string generator;  // the generator file (made by `pretrain` when the source has "data")
    Json pretrain;          // the pretrain job config, or null when the source is a given file
    double radius = 0;      // η_k (0 = none given)
};

struct PlannedRun {
    std::string method;
    int64_t shots = 0;
    uint64_t seed = 0;
    std::string runDir;
    Json job;  // the job config; "init"/"sources" may name "@transfer_source" (resolved when it is known)
    Json stage1;  // barycenter/sequential: the stage-1 job this run starts from (run first; shared by runs
                  // with the same run_dir), else null
};

// One ternarisation of one adapted generator (the "ternarize" job).
struct PlannedTernarization {
    std::string label;      // the adapted run, e.g. "barycenter n=20 seed 1"
    std::string quantizer;  // the quantizer's name
    std::string sourceRunDir;  // the adapted run (its generator.coalesce is the float generator)
    std::string runDir;
    Json job;
    Json adaptation;  // "mode": "adaptation": the adapt job (with "ternarize") that trains the ternary G; else null
};

struct ExperimentPlan {
    std::string name;
    std::string runDir;
    std::vector<PlannedSource> sources;
    Json barycenter;            // the plain "barycenter" method's (first) stage-1 job (null when none)
    std::vector<Json> stage1Jobs;  // every distinct stage-1 job (barycenters per variant, per (n, seed) with auto radii)
    Json average;               // average job config (null when no method needs it)
    std::string transferSource; // "auto" or a source name
    std::vector<PlannedRun> runs;
    std::vector<PlannedTernarization> ternarizations;
    Json evaluation;            // the protocol (also inside every run's job config)
    int64_t iterationsPerRun = 0;
    std::vector<std::string> methods;
    std::vector<int64_t> shots;
    std::vector<uint64_t> seeds;
};

// Builds the plan; Error naming the field for anything invalid (unknown method, empty shots, ...).
ExperimentPlan planExperiment(const Json& config);
std::vector<std::string> experimentMethods();

// Replaces "@transfer_source" / "@transfer_critic" placeholders in a run's job config.
Json resolveTransferSource(const Json& job, const std::string& generatorFile, const std::string& criticFile);

}  // namespace coalesce
