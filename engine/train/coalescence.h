// Stage 1 (barycenter of pre-trained generators) and stage 2 (fast adaptation) as one configurable
// run of the multi-critic trainer (METHOD.md). Used by the "barycenter" and "adapt" jobs, and by
// baselines that are special cases (TransferGAN = one local-data source with G from a source file).
//
// Sources: each critic's "real" samples come from a generator file (sampled online in eval mode, or
// `samples: N` / `source_samples: N` frozen once), the equal-weight mixture of several generator files
// ("generators": [...], the ensemble baseline's pooled source), or a dataset spec (optionally a k-shot
// subset). A source's critic may start from a checkpoint's critic and freeze its first blocks
// ("critic", "critic_prefix", "freeze_critic_blocks": the FreezeD baseline).
// Weights: typed λ, or λ ∝ 1/η from radii, or uniform ("fixed"); "constrained" = projected dual ascent
// on Ŵ_k − η_k every update_every iterations (train/critic_weights.h).
// G initialisation: "largest" (the generator source with the largest λ, default), "average" (element-wise
// mean of all generator sources' parameters and buffers, BatchNorm statistics included), "random", or
// {"generator": "<file>"}.
// K > 2: "joint" (all critics at once, default) or "recursive" (displacement interpolation): sources in
// descending λ order (stable), B_2 = bary(s_1, s_2; λ_1, λ_2), B_j = bary(B_{j−1}, s_j; Λ_{j−1}, λ_j) with
// Λ_{j−1} = λ_1 + … + λ_{j−1}, each stage's G initialised from B_{j−1}. Stage j runs in
// <run_dir>/stage_<j>/ (a complete run directory whose generator.coalesce is B_j); the top-level
// metrics.csv receives every stage's metrics on one step axis ((j − 2) · iterations + step).
// Recursive mode uses fixed weights (a constrained radius has no meaning for the intermediate B_{j−1}).
// "mixture": one critic whose real samples are the λ-weighted mixture of the generator sources (each
// sample from source k with probability λ_k). Why: for W1 the exact barycenter of two sources with
// λ_0 > λ_1 is P_0 itself (λ_0·W1(G,P_0) + λ_1·W1(G,P_1) ≥ λ_1·W1(P_0,P_1), with equality only at G = P_0), a
// weighted median that flips between the sources on a near-tie of λ; with λ_0 = λ_1 every mixture of the
// two lies on their W1 geodesic and is a barycenter. So where the sources together cover the target
// (the coverage check's "blend"/"unclear", radius_estimation.h), the mixture is the barycenter that keeps
// every source's modes; where one source is nearest and λ ≈ (1, 0) joint and mixture agree.
// "auto" (needs "radii": "auto"): mixture unless the coverage check finds the regime "nearest", then joint.
// In mixture mode the critic's metrics end in "/mixture" (lambda/, w_hat/, w1/), and "samples" (frozen
// source samples) is the size of the one frozen mixture set, not a count per source.
// Measured: docs/EXPERIMENTS.md, "Part I".
//
// Extra metrics: every eval_every steps "w1/<k>" = W1 between 512 generated samples (fixed z) and 512
// fixed samples of source k: exact (network simplex) in the 2-D toy mode, sliced W1 for images.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/arch_spec.h"
#include "train/critic_weights.h"
#include "train/radius_estimation.h"
#include "train/generator_transform.h"
#include "train/multi_critic_trainer.h"
#include "train/protocol_evaluation.h"
#include "train/training_config.h"
#include "train/training_job.h"

namespace coalesce {

struct CoalescenceSource {
    std::string name;           // for logs/metrics descriptions (default: file stem or data spec)
    std::string generatorPath;  // a generator file, ...
    std::vector<std::string> pooledPaths;  // ... or the equal-weight mixture of several ("ensemble"), ...
    std::string blackBoxPath;   // ... or any TorchScript generator, only sampled (train/black_box_source.h), ...
    int64_t blackBoxLatentDim = 0;       // its latent size (0: the module's latent_dim attribute)
    double blackBoxTimeoutSeconds = 60;  // its worker's time limit per answer
    std::string dataSpec;       // ... or a dataset spec
    int64_t k = 0;              // dataset: k-shot subset size (0 = all)
    uint64_t kSeed = 1;         // dataset: subset seed
    double lambda = std::nan("");  // typed weight (all sources or none)
    double radius = std::nan("");  // η_k (optional)
    WeightSchedule schedule = WeightSchedule::Constant;  // λ_k(t) over the run (critic_weights.h)
    int64_t frozenSamples = 0;     // generator: 0 = sample online, N = freeze N samples once
    std::string criticFile;        // FreezeD: start this critic from a training checkpoint ...
    std::string criticPrefix = "critic0";  // ... its "<prefix>.*" weights ...
    int freezeCriticBlocks = 0;    // ... keeping the first blocks fixed
};

enum class InitMode { LargestWeight, Average, Random, File };
enum class CombineMode { Joint, Recursive, Mixture, Auto };

struct CoalescenceConfig {
    std::string kind;  // job kind, for messages and phase names
    std::vector<CoalescenceSource> sources;
    InitMode init = InitMode::LargestWeight;
    std::string initFile;               // InitMode::File
    CombineMode mode = CombineMode::Joint;  // "mode"; Auto is resolved when the radii are estimated
    CriticWeightOptions weights;        // mode, update_every, step_size (λ and η come from the sources)
    TrainerOptions trainer;
    std::optional<ArchSpec> arch;       // for random init without generator sources
    int64_t evalEvery = 100;
    int64_t evalSamples = 512;
    ProtocolEvaluationOptions evaluation;  // live FID/KID/W1 under a protocol ("evaluation", "evaluation_every")
    // "radii": "auto": η_k estimated from the local data when the run starts (train/radius_estimation.h),
    // then λ_k ∝ η_k^−power (fixed) or the constrained mode from there.
    std::optional<RadiusEstimationOptions> autoRadii;
    // Optional: train a transformed G (e.g. ternarised during stage 2; set by the jobs, which know quant/).
    // generator.coalesce is then the transform's exportable float generator. Not with recursive mode.
    std::shared_ptr<const GeneratorTransform> transform;
};

// Reads the "barycenter" job config (see docs in jobs/barycenter_job.cpp); Error naming the field.
CoalescenceConfig readCoalescenceConfig(const ConfigReader& reader);
// Keys readCoalescenceConfig understands (besides the trainer's and the common ones).
std::set<std::string> coalescenceKeys();

// Runs the configured coalescence inside a training-job frame; returns the job summary and writes
// <run_dir>/generator.coalesce.
Json runCoalescence(const CoalescenceConfig& config, TrainingRun& run);

// What "radii": "auto" estimates for a config's sources before any training, loaded and sampled exactly as
// the job does (generators, black boxes in their worker, the local data): the workbench's "η from local
// data" button. `config.autoRadii` must be set (a barycenter config with "radii": "auto"); one log line
// per source and the coverage check go to `observer`.
std::vector<RadiusEstimate> estimateRadiiOfSources(const CoalescenceConfig& config, JobObserver& observer,
                                                   CancelToken& cancel, CoverageCheck* coverage = nullptr);

// "mode": "auto"'s rule, one place for the job and the workbench's η button: Mixture where the coverage
// check finds "blend" or "unclear", Joint where it finds "nearest" or did not run ("").
CombineMode combineModeForRegime(const std::string& regime);

// Element-wise mean of parameters and buffers (BatchNorm running statistics included; integer
// counters are averaged and rounded). All generators must have the same architecture.
Generator averageGenerators(const std::vector<Generator>& generators);

}  // namespace coalesce
