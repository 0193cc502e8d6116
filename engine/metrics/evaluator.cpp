#include "metrics/evaluator.h"


#include "core/error.h"
#include "core/phase_timer.h"
#include "core/runtime.h"
#include "data/dataset.h"
#include "data/random.h"
#include "metrics/feature_metrics.h"
#include "metrics/optimal_transport.h"

namespace coalesce {

using nlohmann::json;

namespace {

std::string shapeText(c10::IntArrayRef sizes) {
    std::string s;
    for (size_t i = 0; i < sizes.size(); ++i) s += (i ? "×" : "") + std::to_string(sizes[i]);
    return s;
}

}  // namespace

json EvaluationResult::toJson() const { return {{"metrics", metrics}, {"seconds", seconds}}; }

Evaluator::Evaluator(const EvaluationProtocol& protocol, const ArchSpec& arch, const EvaluatorOptions& options,
                     JobObserver* observer, CancelToken* cancel)
    : protocol_(protocol), arch_(arch) {
    if (protocol.features == "classifier" && !arch.isImage())
        throw Error("evaluation protocol: \"features\": \"classifier\" needs an image generator; " + arch.describe() +
                    " produces points (use \"raw\" or \"auto\")");
    useFeatureNet_ = protocol.features == "classifier" || (protocol.features == "auto" && arch.isImage());

    Dataset reference = loadDataset(protocol.reference, loadOptionsForSampleShape(arch.sampleShape()));
    const auto expected = arch.sampleShape();
    if (reference.samples.sizes().slice(1).vec() != expected)
        throw Error("evaluation protocol: reference \"" + protocol.reference + "\" holds samples of shape " +
                    shapeText(reference.samples.sizes().slice(1)) + " but the generator (" + arch.describe() +
                    ") produces " + shapeText(expected));
    if (reference.size() < protocol.realSamples)
        throw Error("evaluation protocol: reference \"" + protocol.reference + "\" has " + std::to_string(reference.size()) +
                    " samples, fewer than real_samples = " + std::to_string(protocol.realSamples));
    Dataset subset = kShotSubset(reference, protocol.realSamples, protocol.seed);
    realSamples_ = subset.samples.to(torch::kFloat).contiguous();
    reference_ = {{"name", subset.name}, {"hash", subset.hash}, {"samples", subset.size()},
                  {"available", reference.size()}};

    if (useFeatureNet_) {
        FeatureNetRequest request;
        request.trainData = protocol.featureNetTrainingData();
        request.channels = arch.channels;
        request.imageSize = arch.imageSize;
        request.training = protocol.featureNetTraining;
        request.cacheDir = options.cacheDir;
        request.device = options.device;
        featureNet_ = obtainFeatureNet(request, observer, cancel, options.retrainFeatureNet);
        featureNet_.net->to(resolveDevice(options.device));
    }
    realFeatures_ = featuresOf(realSamples_);
    referenceDiversity_ = meanPairwiseDistance(realFeatures_.slice(0, 0, std::min(protocol.diversitySamples, realFeatures_.size(0))));
}

torch::Tensor Evaluator::featuresOf(const torch::Tensor& samples) {
    if (!useFeatureNet_) return samples.reshape({samples.size(0), -1}).to(torch::kFloat);
    return extractFeatures(featureNet_.net, samples);
}

torch::Tensor Evaluator::fixedLatents(int64_t count, uint64_t stream) const {
    SplitMix64 rng(mixSeed(protocol_.seed, stream));
    auto z = torch::empty({count, arch_.latentDim}, torch::kFloat);
    float* p = z.data_ptr<float>();
    for (int64_t i = 0; i < z.numel(); ++i) p[i] = static_cast<float>(rng.normal());
    return z;
}

torch::Tensor Evaluator::generate(Generator& generator, const torch::Tensor& latents) {
    torch::NoGradGuard noGrad;
    const bool wasTraining = generator->is_training();
    generator->eval();
    const auto device = generator->device();
    std::vector<torch::Tensor> out;
    constexpr int64_t kBatch = 500;
    for (int64_t start = 0; start < latents.size(0); start += kBatch)
        out.push_back(generator->forward(latents.slice(0, start, std::min(latents.size(0), start + kBatch)).to(device))
                          .to(torch::kCPU, torch::kFloat));
    generator->train(wasTraining);
    return torch::cat(out);
}

EvaluationResult Evaluator::evaluate(Generator& generator) {
    if (generator->spec().sampleShape() != arch_.sampleShape() || generator->spec().latentDim != arch_.latentDim)
        throw Error("evaluator: prepared for " + arch_.describe() + ", got a generator " + generator->spec().describe());
    std::map<std::string, double> seconds;
    LapTimer timer(seconds);
    auto fake = generate(generator, fixedLatents(protocol_.fakeSamples, 1));
    auto diversityBatch = generate(generator, fixedLatents(protocol_.diversitySamples, 2));
    timer.lap("generate");
    auto result = evaluateSamples(fake, diversityBatch);
    result.seconds["generate"] = seconds["generate"];
    result.seconds["total"] += seconds["generate"];
    return result;
}

EvaluationResult Evaluator::evaluateSamples(const torch::Tensor& fakeIn, const torch::Tensor& diversityBatch) {
    if (!fakeIn.defined() || fakeIn.dim() < 1 || fakeIn.sizes().slice(1) != realSamples_.sizes().slice(1))
        throw Error("evaluator: fake samples must have shape N×" + shapeText(realSamples_.sizes().slice(1)) + ", got " +
                    (fakeIn.defined() ? shapeText(fakeIn.sizes()) : std::string("nothing")));
    auto fake = fakeIn.to(torch::kCPU, torch::kFloat).contiguous();
    EvaluationResult r;
    LapTimer timer(r.seconds);
    auto fakeFeatures = featuresOf(fake);
    auto diversityFeatures = diversityBatch.defined() ? featuresOf(diversityBatch.to(torch::kCPU, torch::kFloat))
                                                      : fakeFeatures.slice(0, 0, std::min(protocol_.diversitySamples, fakeFeatures.size(0)));
    timer.lap("features");

    r.metrics["fid"] = frechetDistance(realFeatures_, fakeFeatures);
    const auto kid = kernelInceptionDistance(realFeatures_, fakeFeatures, {protocol_.kidSubsets, protocol_.seed});
    r.metrics["kid"] = kid.mean;
    r.metrics["kid_se"] = kid.standardError;
    timer.lap("fid_kid");

    const auto pr = precisionRecall(realFeatures_, fakeFeatures, protocol_.precisionRecallK);
    r.metrics["precision"] = pr.precision;
    r.metrics["recall"] = pr.recall;
    r.metrics["diversity"] = meanPairwiseDistance(diversityFeatures);
    r.metrics["diversity_reference"] = referenceDiversity_;
    timer.lap("precision_recall_diversity");

    r.metrics["sliced_w1"] = slicedW1(realSamples_, fake, {protocol_.slicedProjections, protocol_.seed});
    timer.lap("sliced_w1");
    if (protocol_.w1Samples > 0) {
        const int64_t nReal = std::min(protocol_.w1Samples, realSamples_.size(0));
        const int64_t nFake = std::min(protocol_.w1Samples, fake.size(0));
        r.metrics["w1"] = exactW1(realSamples_.slice(0, 0, nReal), fake.slice(0, 0, nFake)).value;
        timer.lap("w1");
        if (useFeatureNet_) {
            r.metrics["w1_features"] = exactW1(realFeatures_.slice(0, 0, nReal), fakeFeatures.slice(0, 0, nFake)).value;
            timer.lap("w1_features");
        }
    }
    double total = 0;
    for (const auto& [_, s] : r.seconds) total += s;
    r.seconds["total"] = total;
    return r;
}

json Evaluator::describe() const {
    json j = {{"protocol", protocol_.toJson()}, {"reference", reference_}};
    j["feature_net"] = useFeatureNet_ ? featureNet_.info : json("raw (the samples themselves)");
    return j;
}

json evaluateGenerator(Generator& generator, const EvaluationProtocol& protocol, const EvaluatorOptions& options,
                       JobObserver* observer, CancelToken* cancel, const std::string& generatorName) {
    Evaluator evaluator(protocol, generator->spec(), options, observer, cancel);
    if (cancel) cancel->check();
    auto result = evaluator.evaluate(generator);
    json j = evaluator.describe();
    j["generator"] = generatorName.empty() ? generator->spec().describe() : generatorName;
    j["metrics"] = result.metrics;
    j["seconds"] = result.seconds;
    return j;
}

}  // namespace coalesce
