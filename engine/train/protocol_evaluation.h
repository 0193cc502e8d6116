// Live evaluation of a training run under a fixed EvaluationProtocol (FID, KID, exact and sliced W1,
// precision/recall, diversity — metrics/evaluator.h), so quality-versus-iteration curves of different
// runs and methods are comparable. Any training job accepts
//   "evaluation": {EvaluationProtocol JSON},   "evaluation_every": N   (0 = at the start and the end only)
// and then logs "eval/<metric>" at step 0, every N generator iterations and at the end, plus
// "eval/wall_seconds": the run's wall time so far without the time spent in these evaluations (so
// "time to reach a FID" measures training, not scoring). The protocol and reference are recorded in the
// run's config.json under "evaluation_recorded".
#pragma once
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "metrics/evaluation_protocol.h"
#include "models/arch_spec.h"
#include "train/multi_critic_trainer.h"
#include "train/training_config.h"
#include "train/training_job.h"

namespace coalesce {

struct ProtocolEvaluationOptions {
    std::optional<EvaluationProtocol> protocol;  // absent: no live evaluation
    int64_t every = 0;
    std::string cacheDir;                        // feature-net cache ("" = the default)
};

// Reads "evaluation", "evaluation_every", "evaluation_cache_dir"; Error naming the field.
ProtocolEvaluationOptions readProtocolEvaluation(const ConfigReader& reader);
std::set<std::string> protocolEvaluationKeys();

// Prepares the evaluator (reference set, feature net — trained and cached on first use) and adds it to
// the trainer. No-op without a protocol.
void attachProtocolEvaluation(MultiCriticTrainer& trainer, const ProtocolEvaluationOptions& options,
                              const ArchSpec& arch, RunDirectory& runDir, JobObserver& observer,
                              CancelToken& cancel, const torch::Device& device);

}  // namespace coalesce
