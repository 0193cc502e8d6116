#include "train/protocol_evaluation.h"

#include <chrono>
#include <memory>

#include "core/error.h"
#include "metrics/evaluator.h"

namespace coalesce {

std::set<std::string> protocolEvaluationKeys() { return {"evaluation", "evaluation_every", "evaluation_cache_dir"}; }

ProtocolEvaluationOptions readProtocolEvaluation(const ConfigReader& r) {
    ProtocolEvaluationOptions o;
    if (r.has("evaluation") && !r.raw("evaluation").is_null()) {
        try {
            o.protocol = EvaluationProtocol::fromJson(r.raw("evaluation"));
        } catch (const Error& e) {
            throw Error(r.context() + ": evaluation: " + e.what());
        }
    }
    o.every = r.integer("evaluation_every", 0);
    if (o.every < 0) throw Error(r.context() + ": evaluation_every must be >= 0 (0 = at the start and the end only)");
    if (o.every > 0 && !o.protocol)
        throw Error(r.context() + ": evaluation_every needs an evaluation protocol (\"evaluation\": {...})");
    o.cacheDir = r.text("evaluation_cache_dir", "");
    return o;
}

void attachProtocolEvaluation(MultiCriticTrainer& trainer, const ProtocolEvaluationOptions& options,
                              const ArchSpec& arch, RunDirectory& runDir, JobObserver& observer,
                              CancelToken& cancel, const torch::Device& device) {
    if (!options.protocol) return;
    EvaluatorOptions evaluatorOptions;
    evaluatorOptions.cacheDir = options.cacheDir;
    evaluatorOptions.device = device.str();
    auto evaluator = std::make_shared<Evaluator>(*options.protocol, arch, evaluatorOptions, &observer, &cancel);
    runDir.recordConfig("evaluation_recorded", evaluator->describe());  // beside, not over, the config's "evaluation"

    // Wall time of training only: evaluation time is subtracted as it is spent.
    struct Clock {
        std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
        double evaluationSeconds = 0;
    };
    auto clock = std::make_shared<Clock>();
    trainer.addEvaluator(
        options.every,
        [evaluator, clock](int64_t step, Generator& generator, JobObserver& obs) {
            const auto begin = std::chrono::steady_clock::now();
            const double trainingSeconds =
                std::chrono::duration<double>(begin - clock->start).count() - clock->evaluationSeconds;
            const EvaluationResult result = evaluator->evaluate(generator);
            for (const auto& [name, value] : result.metrics) obs.onMetric("eval/" + name, step, value);
            obs.onMetric("eval/wall_seconds", step, trainingSeconds);
            clock->evaluationSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
        },
        /*atStart=*/true);
}

}  // namespace coalesce
