// Job "ternarize": turns a float generator into a 2-bit packed ternary generator (METHOD.md stage 3).
//
// {"kind": "ternarize", "generator": "runs/adapt/generator.coalesce",   (any format io/model_files reads)
//  "method": "learned" | "twn" | "ttq",          (default learned; jobs/ternary_config.h for all keys)
//  "keep_first_last_float": false, "keep_last_float": false, "threshold_fraction": 0.05, "threshold_init": "max_fraction" | "twn",
//  "delta_grad_clamp": 1e-3, "alternating": true,
//  "ternary_checkpoint": "",                     (optional: a checkpoint of a generator ternarised with the
//                                                same options and trained elsewhere, e.g. by an adapt job
//                                                with "ternarize" (stage 3 during stage 2): its weights,
//                                                thresholds/scales and BatchNorm statistics replace the
//                                                conversion of the float generator, which stays the
//                                                reference for the comparison)
//  "output": "<run_dir>/generator.ctern",        (optional; the report goes next to it, .report.json)
//  "evaluation": {EvaluationProtocol JSON},      (optional: score the float and the ternary generator with
//                                                the same protocol, FID/KID/W1/diversity; "cache_dir" for
//                                                the feature net as in the evaluate job)
//  "recalibrate_batchnorm": 20,                  (re-estimate BatchNorm statistics of the ternary generator
//                                                from this many batches of 64 random z before export, after
//                                                fine-tuning if any; 0 = keep the float/trained statistics)
//  "compare_samples": 256,                       (same-z samples of the float and ternary generators
//                                                compared in the report; the first 64 make the images)
//  optional fine-tuning of the ternarised generator (WGAN-GP, quant/ternary_layers.h gradients):
//  "iterations": 0,                              (0 = post-training only)
//  "data": "fashion-mnist:train:8,9", "k": 20, "k_seed": 1,   a critic on (k-shot) data, weight data_weight
//  "float_weight": 1.0, "data_weight": 1.0,      float_weight > 0 adds a critic on the float generator's
//                                                samples (stage 2's barycenter critic); at least one source
//  "distill_weight": 0,                          > 0 adds w·mean((G_t(z) − G_float(z))²) to L_G: the float
//                                                generator as a teacher for the same z (not in the paper)
//  plus the trainer fields (batch_size, n_critic, lr, seed, sample_every, ...), "run_dir", "runtime"}
//
// Fine-tuning runs in the shared MultiCriticTrainer; with a learned threshold Δ and the weights take the
// paper's alternating Adam steps (MultiCriticTrainer::setAlternatingParameters) unless alternating = false.
//
// Outputs: the packed file, <output>.report.json (per-layer sparsity/scale/threshold, file sizes,
// float-vs-ternary sample distances) and images "float" / "ternary" of the same z.
#include <filesystem>

#include <torch/torch.h>

#include "core/error.h"
#include "core/tensor_image.h"
#include "data/dataset.h"
#include "io/checkpoint.h"
#include "io/model_files.h"
#include "jobs/job_factory.h"
#include "jobs/ternary_config.h"
#include "metrics/evaluator.h"
#include "metrics/optimal_transport.h"
#include "quant/packed_generator.h"
#include "quant/ternary_export.h"
#include "quant/ternary_layers.h"
#include "train/sample_source.h"
#include "train/training_job.h"

namespace coalesce {

namespace {

namespace fs = std::filesystem;

class TernarizeJob : public Job {
public:
    explicit TernarizeJob(const Json& config) : config_(config) {
        ConfigReader r(config_, "ternarize");
        std::set<std::string> known = trainerOptionKeys();
        for (const auto& k : commonJobKeys()) known.insert(k);
        for (const auto& k : ternaryOptionKeys()) known.insert(k);
        known.insert({"generator", "output", "data", "k", "k_seed", "float_weight", "data_weight", "distill_weight",
                      "compare_samples", "evaluation", "cache_dir", "recalibrate_batchnorm", "ternary_checkpoint"});
        r.rejectUnknownKeys(known);

        generatorPath_ = r.text("generator", "");
        if (generatorPath_.empty()) throw Error("ternarize: generator is required (the float generator file)");
        options_ = readTernaryOptions(r);

        fineTuneIterations_ = r.integer("iterations", 0);
        if (fineTuneIterations_ < 0) throw Error("ternarize: iterations must be >= 0 (0 = no fine-tuning)");
        data_ = r.text("data", "");
        k_ = r.integer("k", 0);
        if (k_ < 0) throw Error("ternarize: k must be >= 0 (0 = all samples)");
        floatWeight_ = r.number("float_weight", 1.0);
        dataWeight_ = r.number("data_weight", 1.0);
        distillWeight_ = r.number("distill_weight", 0.0);
        if (!(floatWeight_ >= 0) || !(dataWeight_ >= 0) || !(distillWeight_ >= 0) || !std::isfinite(distillWeight_))
            throw Error("ternarize: float_weight, data_weight and distill_weight must be finite and >= 0");
        if (fineTuneIterations_ > 0) {
            trainer_ = readTrainerOptions(r);
            trainer_.phase = "ternarize";
            if (floatWeight_ == 0 && (data_.empty() || dataWeight_ == 0))
                throw Error("ternarize: fine-tuning needs a critic: set data (data_weight > 0), or float_weight > 0");
        } else if (!data_.empty()) {
            throw Error("ternarize: data is only used for fine-tuning; set iterations > 0 or remove data");
        } else {
            const int64_t seed = r.integer("seed", 1);  // still seeds the recalibration and comparison z
            if (seed < 0) throw Error("ternarize: seed must be >= 0");
            trainer_.seed = static_cast<uint64_t>(seed);
        }
        const int64_t kSeed = r.integer("k_seed", static_cast<int64_t>(trainer_.seed));
        if (kSeed < 0) throw Error("ternarize: k_seed must be >= 0");
        kSeed_ = static_cast<uint64_t>(kSeed);
        // A ternarize run has no resumable state worth keeping (fine-tuning restarts from the float
        // generator): "resume" re-runs an unfinished run_dir from the start.
        frame_ = readRunFrame(r, "ternarize");
        output_ = r.text("output", "");
        ternaryCheckpoint_ = r.text("ternary_checkpoint", "");
        compareSamples_ = r.integer("compare_samples", 256);
        if (r.has("evaluation")) {
            try {
                evaluation_ = EvaluationProtocol::fromJson(r.raw("evaluation"));
            } catch (const Error& e) {
                throw Error(std::string("ternarize: evaluation: ") + e.what());
            }
        }
        cacheDir_ = r.text("cache_dir", "");
        recalibrationBatches_ = r.integer("recalibrate_batchnorm", 20);
        if (recalibrationBatches_ < 0)
            throw Error("ternarize: recalibrate_batchnorm must be >= 0 (batches of 64 latents; 0 = off)");
        if (compareSamples_ < 2) throw Error("ternarize: compare_samples must be >= 2, got " + std::to_string(compareSamples_));
    }

    std::string kind() const override { return "ternarize"; }

    JobResult run(JobObserver& observer, CancelToken& cancel) override {
        return runTrainingJob("ternarize", config_, frame_, frame_.resume ? RunDirectory::Mode::Rerun : RunDirectory::Mode::Create, observer, cancel,
                              [this](TrainingRun& run) { return ternarize(run); });
    }

private:
    Json ternarize(TrainingRun& run) {
        auto loaded = loadGeneratorFile(generatorPath_);
        Generator floatG = loaded.generator;
        floatG->to(run.device);
        floatG->eval();
        run.observer.onLog(LogLevel::Info, "ternarize: " + generatorPath_ + " (" + floatG->spec().describe() + "), method " +
                                               toString(options_.ternary.method));
        Generator ternaryG = ternarizeGenerator(floatG, options_.ternary);
        if (!ternaryCheckpoint_.empty()) {
            // Strict: every tensor of the ternarised module (latent weights, Δ or TTQ scales, norms) must be
            // there with its shape, so a checkpoint made with other ternary options is refused by name.
            const Checkpoint trained = loadCheckpoint(ternaryCheckpoint_);
            if (!hasModule(trained, "generator"))
                throw Error("ternarize: ternary_checkpoint " + ternaryCheckpoint_ + " holds no generator");
            restoreModule(trained, "generator", *ternaryG, ternaryCheckpoint_);
            ternaryG->to(run.device);
            run.observer.onLog(LogLevel::Info, "ternarize: trained ternary weights from " + ternaryCheckpoint_);
        }
        run.cancel.check();

        Json fineTune = nullptr;
        if (fineTuneIterations_ > 0) fineTune = runFineTuning(run, floatG, ternaryG);
        if (recalibrationBatches_ > 0)
            recalibrateBatchNorm(ternaryG, recalibrationBatches_, 64, makeCpuGenerator(deriveSeed(trainer_.seed, 8)));
        ternaryG->eval();

        // Same z for both generators: images for the GUI / run directory and a distance between them.
        at::Generator rng = makeCpuGenerator(deriveSeed(trainer_.seed, 7));
        const bool image = floatG->spec().isImage();
        torch::Tensor z = floatG->sampleLatent(compareSamples_, rng);
        torch::Tensor floatSamples, ternarySamples;
        {
            torch::NoGradGuard noGrad;
            floatSamples = floatG->forward(z).to(torch::kCPU);
            ternarySamples = ternaryG->forward(z).to(torch::kCPU);
        }
        if (image) {
            const int64_t shown = std::min<int64_t>(64, compareSamples_);
            run.observer.onImage("float", 0, tensorToGrid(floatSamples.narrow(0, 0, shown)));
            run.observer.onImage("ternary", 0, tensorToGrid(ternarySamples.narrow(0, 0, shown)));
        }
        const double rmse = (floatSamples - ternarySamples).pow(2).mean().sqrt().item<double>();
        const double sliced = slicedW1(floatSamples.flatten(1), ternarySamples.flatten(1));
        run.observer.onMetric("ternary/rmse_vs_float", 0, rmse);
        run.observer.onMetric("ternary/sliced_w1_vs_float", 0, sliced);

        // Packed export, reloaded and checked against the in-memory ternarised generator.
        const std::string output =
            output_.empty() ? (fs::path(run.runDir.path()) / "generator.ctern").string() : output_;
        Json meta{{"job", "ternarize"}, {"source", generatorPath_}, {"options", optionsJson()}};
        const PackedExport exported = exportPackedGenerator(ternaryG, floatG, output, meta,
                                                            z.narrow(0, 0, std::min<int64_t>(64, compareSamples_)));
        const int64_t packedBytes = exported.packedBytes;

        Json report = ternaryReport(ternaryG);
        report["options"] = optionsJson();
        report["source"] = generatorPath_;
        report["arch"] = floatG->spec().toJson();
        report["sizes"] = exported.sizes;
        report["sizes"]["source_file_bytes"] = static_cast<int64_t>(fs::file_size(generatorPath_));
        report["quality"] = {{"samples", z.size(0)},
                             {"rmse_vs_float", rmse},
                             {"sliced_w1_vs_float", sliced},
                             {"packed_round_trip_max_abs", exported.roundTripMaxAbs}};
        report["fine_tune"] = fineTune;
        report["evaluation"] = evaluation_ ? evaluate(run, floatG, ternaryG) : Json(nullptr);
        const std::string reportPath = output + ".report.json";
        writeFileAtomically(reportPath, report.dump(2) + "\n");

        std::ostringstream message;
        message << "ternarised " << report["layers"].size() << " layers (" << toString(options_.ternary.method) << ", "
                << std::lround(100 * report["zero_fraction"].get<double>()) << "% zeros): " << output << ", "
                << packedBytes << " bytes, " << report["sizes"]["whole_file_ratio"].get<double>()
                << "x smaller than the float generator file";
        return {{"message", message.str()},
                {"packed", output},
                {"report", reportPath},
                {"sizes", report["sizes"]},
                {"quality", report["quality"]},
                {"evaluation", report["evaluation"]},
                {"zero_fraction", report["zero_fraction"]}};
    }

    // Both generators under one protocol (same reference, latents and feature net).
    Json evaluate(TrainingRun& run, Generator& floatG, Generator& ternaryG) {
        EvaluatorOptions options;
        options.cacheDir = cacheDir_;
        options.device = run.device.str();
        Evaluator evaluator(*evaluation_, floatG->spec(), options, &run.observer, &run.cancel);
        Json scores = evaluator.describe();  // protocol, reference set, feature net
        for (auto& [name, generator] : {std::pair<const char*, Generator*>{"float", &floatG}, {"ternary", &ternaryG}}) {
            const auto result = evaluator.evaluate(*generator);
            Json metrics = Json::object();
            for (const auto& [metric, value] : result.metrics) {
                metrics[metric] = value;
                run.observer.onMetric(std::string("eval_") + name + "/" + metric, 0, value);
            }
            scores[name] = metrics;
        }
        if (scores["float"].contains("fid") && scores["float"]["fid"].get<double>() > 0)
            scores["fid_ratio_ternary_over_float"] = scores["ternary"]["fid"].get<double>() / scores["float"]["fid"].get<double>();
        return scores;
    }

    Json runFineTuning(TrainingRun& run, const Generator& floatG, Generator& ternaryG) {
        std::vector<CriticSource> sources;
        std::vector<double> lambdas;
        Json described = Json::array();
        if (floatWeight_ > 0) {
            sources.push_back({"float generator", std::make_unique<GeneratorSource>(floatG, "float generator")});
            lambdas.push_back(floatWeight_);
        }
        if (!data_.empty() && dataWeight_ > 0) {
            Dataset data = loadDataset(data_, loadOptionsForSampleShape(floatG->spec().sampleShape()));
            for (const auto& w : data.warnings) run.observer.onLog(LogLevel::Warning, "data: " + w);
            if (k_ > 0) data = kShotSubset(data, k_, kSeed_);
            run.runDir.recordConfig("dataset", Json{{"name", data.name}, {"hash", data.hash}, {"size", data.size()}});
            sources.push_back({data_, std::make_unique<DatasetSource>(data)});
            lambdas.push_back(dataWeight_);
        }
        for (const auto& s : sources) described.push_back(s.source->describe());
        CriticWeightOptions weights;
        weights.lambdas = lambdas;
        MultiCriticTrainer trainer(ternaryG, std::move(sources), weights, trainer_, run.device);
        // The same rule as ternarised adaptation: learned thresholds step first, unless alternating = false.
        const auto thresholds = makeTernaryTransform(options_)->alternatingParameters(ternaryG);
        const bool alternating = !thresholds.empty();
        if (alternating) trainer.setAlternatingParameters(thresholds);
        if (distillWeight_ > 0) {
            // The float generator as a teacher in eval mode: same z, pixel-space mean squared error.
            const double weight = distillWeight_;
            Generator teacher = floatG;  // a non-const handle: forward() is not const
            trainer.setGeneratorLossTerm([teacher, weight](const torch::Tensor& latent, const torch::Tensor& fake) mutable {
                torch::Tensor target;
                {
                    torch::NoGradGuard noGrad;
                    target = teacher->forward(latent);
                }
                return weight * (fake - target).pow(2).mean();
            });
        }
        attachTrainer(trainer, run);
        trainer.setCheckpointMeta({{"job", "ternarize"}, {"config", config_}});
        trainer.train(run.observer, run.cancel);
        Json metrics = Json::object();
        for (const auto& [name, value] : trainer.lastMetrics()) metrics[name] = value;
        return {{"iterations", trainer.step()},
                {"batch_size", trainer.batchSize()},
                {"sources", described},
                {"lambdas", trainer.lambdas()},
                {"final_metrics", metrics},
                {"distill_weight", distillWeight_},
                {"optimizer", alternating ? "alternating Adam steps: thresholds, then weights (same z)"
                                          : "one Adam over all generator parameters"}};
    }

    Json optionsJson() const {
        Json options = toJson(options_);
        options.update(Json{{"fine_tune_iterations", fineTuneIterations_},
                {"ternary_checkpoint", ternaryCheckpoint_},
                {"distill_weight", distillWeight_},
                {"recalibrate_batchnorm", recalibrationBatches_}});
        return options;
    }

    Json config_;
    std::string generatorPath_;
    TernaryTrainingOptions options_;
    int64_t fineTuneIterations_ = 0;
    TrainerOptions trainer_;
    std::string data_;
    int64_t k_ = 0;
    uint64_t kSeed_ = 1;
    double floatWeight_ = 1.0;
    double dataWeight_ = 1.0;
    double distillWeight_ = 0.0;
    RunFrame frame_;  // "resume" starts an unfinished run_dir over
    std::string output_;
    std::string ternaryCheckpoint_;
    int64_t compareSamples_ = 256;
    std::optional<EvaluationProtocol> evaluation_;
    std::string cacheDir_;
    int64_t recalibrationBatches_ = 20;
};

}  // namespace

std::unique_ptr<Job> makeTernarizeJob(const Json& config) { return std::make_unique<TernarizeJob>(config); }

}  // namespace coalesce
