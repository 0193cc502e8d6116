#include "train/radius_estimation.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "data/dataset.h"
#include "metrics/evaluation_protocol.h"
#include "metrics/feature_net.h"
#include "metrics/optimal_transport.h"
#include "train/sample_source.h"
#include "train/weight_rule.h"

namespace coalesce {

namespace {
constexpr uint64_t kStreamSourceSamples = 100;  // + k
constexpr uint64_t kStreamBootstrap = 200;      // + k
constexpr uint64_t kStreamCoverage = 300;

double percentile(std::vector<double> v, double q) {
    if (v.empty()) return std::nan("");
    std::sort(v.begin(), v.end());
    const double pos = q * static_cast<double>(v.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos)), hi = static_cast<size_t>(std::ceil(pos));
    return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

// CoverageCheck (header): the blend takes round(λ_k·m) of source k's m feature rows, λ ∝ 1/η over the
// generator sources, and is compared with the nearest source on the same bootstrap rows of the local data.
CoverageCheck checkCoverage(const torch::Tensor& localFeatures, const std::vector<torch::Tensor>& sourceFeatures,
                            const std::vector<RadiusEstimate>& estimates, const RadiusEstimationOptions& options,
                            CancelToken* cancel) {
    CoverageCheck c;
    std::vector<size_t> generators;
    for (size_t k = 0; k < sourceFeatures.size(); ++k)
        if (sourceFeatures[k].defined()) generators.push_back(k);
    if (generators.size() < 2) return c;
    std::vector<double> etas;
    for (size_t k : generators) etas.push_back(estimates[k].eta);
    const std::vector<double> lambdas = lambdasFromRadii(etas, 1.0);
    const int64_t m = sourceFeatures[generators[0]].size(0);
    std::vector<torch::Tensor> parts;
    int64_t taken = 0;
    for (size_t i = 0; i < generators.size(); ++i) {
        // The last source takes the rounding remainder so that the blend has m rows in all.
        const int64_t count = i + 1 == generators.size() ? m - taken
                                                         : std::min(m - taken, static_cast<int64_t>(std::llround(lambdas[i] * static_cast<double>(m))));
        if (count > 0) parts.push_back(sourceFeatures[generators[i]].narrow(0, 0, std::min(count, sourceFeatures[generators[i]].size(0))));
        taken += count;
    }
    size_t nearestPos = 0;
    for (size_t i = 1; i < generators.size(); ++i)
        if (etas[i] < etas[nearestPos]) nearestPos = i;
    c.nearest = generators[nearestPos];
    c.nearestEta = etas[nearestPos];
    const torch::Tensor blendCost = euclideanDistances(localFeatures, torch::cat(parts, 0));
    const torch::Tensor nearestCost = euclideanDistances(localFeatures, sourceFeatures[c.nearest]);
    c.blendEta = exactTransportCost(blendCost).value;
    c.gain = c.nearestEta - c.blendEta;
    const int64_t n = localFeatures.size(0);
    auto rng = makeCpuGenerator(deriveSeed(options.seed, kStreamCoverage));
    std::vector<double> gains;
    // Both sides are samples: the n local ones (the same resampled rows for both costs, a paired
    // comparison) and the m drawn from the sources (columns resampled for each cost on its own). Without
    // the columns, two sources of one distribution (the split protocol) showed "significant" gains of
    // ±0.3 that were only the draw of their 500 samples.
    for (int b = 0; b < options.bootstrap; ++b) {
        if (cancel && b % 16 == 0) cancel->check();
        const torch::Tensor rows = torch::randint(n, {n}, rng, torch::kLong);
        const torch::Tensor nearestColumns = torch::randint(nearestCost.size(1), {nearestCost.size(1)}, rng, torch::kLong);
        const torch::Tensor blendColumns = torch::randint(blendCost.size(1), {blendCost.size(1)}, rng, torch::kLong);
        gains.push_back(exactTransportCost(nearestCost.index_select(0, rows).index_select(1, nearestColumns)).value -
                        exactTransportCost(blendCost.index_select(0, rows).index_select(1, blendColumns)).value);
    }
    c.gainLow = gains.empty() ? c.gain : percentile(gains, 0.05);
    c.gainHigh = gains.empty() ? c.gain : percentile(gains, 0.95);
    c.regime = c.gainLow > 0 ? "blend" : c.gainHigh < 0 ? "nearest" : "unclear";
    return c;
}
}  // namespace

nlohmann::json RadiusEstimationOptions::toJson() const {
    return {{"data", data}, {"k", k}, {"k_seed", kSeed}, {"space", space}, {"source_samples", sourceSamples},
            {"bootstrap", bootstrap}, {"power", autoPower ? nlohmann::json("auto") : nlohmann::json(power)},
            {"nearest_power", nearestPower}, {"seed", seed}, {"feature_net_data", featureNetData}};
}

double powerForRegime(const RadiusEstimationOptions& options, const CoverageCheck& coverage) {
    return options.autoPower && coverage.regime == "nearest" ? options.nearestPower : options.power;
}

nlohmann::json CoverageCheck::toJson() const {
    return {{"regime", regime},          {"nearest", nearest}, {"nearest_eta", nearestEta}, {"blend_eta", blendEta},
            {"gain", gain},              {"gain_low", gainLow}, {"gain_high", gainHigh}};
}

std::string CoverageCheck::describe(const std::vector<std::string>& names) const {
    const std::string name = nearest < names.size() ? names[nearest] : std::to_string(nearest);
    const char* reading = regime == "blend"     ? "the sources together cover the local data better than any one: the case coalescence is made for"
                          : regime == "nearest" ? "no blend of the sources is closer than the nearest one: coalescence can at best fall back to it"
                                                : "a blend of the sources is neither clearly closer nor clearly farther than the nearest one";
    char line[512];
    std::snprintf(line, sizeof line, "coverage: %s (W1 to the λ ∝ 1/η blend of the sources %.4g, to the nearest source %s %.4g; gain %.3g, 90%% interval %.3g to %.3g)",
                  reading, blendEta, name.c_str(), nearestEta, gain, gainLow, gainHigh);
    return line;
}

RadiusEstimationOptions readRadiusEstimation(const ConfigReader& parent, const LocalSample* localSource) {
    if (!parent.has("radius_estimation") && !localSource)
        throw Error(parent.context() + ": radii \"auto\" needs radius_estimation {\"data\": the local data, \"k\": n, ...}");
    const nlohmann::json empty = nlohmann::json::object();
    ConfigReader r(parent.has("radius_estimation") ? parent.raw("radius_estimation") : empty,
                   parent.context() + ": radius_estimation");
    r.rejectUnknownKeys({"data", "k", "k_seed", "space", "source_samples", "bootstrap", "power", "nearest_power", "seed",
                         "feature_net_data", "cache_dir"});
    RadiusEstimationOptions o;
    o.data = r.text("data", localSource ? localSource->data : "");
    if (o.data.empty()) throw Error(r.context() + ": data (the local samples' dataset spec) is required");
    o.k = r.integer("k", localSource ? localSource->k : 0);
    if (o.k < 0) throw Error(r.context() + ": k must be >= 0 (0 = all samples)");
    const int64_t kSeed = r.integer("k_seed", localSource ? static_cast<int64_t>(localSource->kSeed) : 1);
    if (kSeed < 0) throw Error(r.context() + ": k_seed must be >= 0");
    o.kSeed = static_cast<uint64_t>(kSeed);
    if (localSource && (o.data != localSource->data || o.k != localSource->k || o.kSeed != localSource->kSeed))
        throw Error(r.context() + ": data, k and k_seed must be those of the data source (\"" + localSource->data +
                    "\", k " + std::to_string(localSource->k) + ", k_seed " + std::to_string(localSource->kSeed) +
                    "): its samples are the local samples the radii are measured from");
    o.space = r.text("space", "features");
    if (o.space != "features" && o.space != "pixels")
        throw Error(r.context() + ": space must be \"features\" or \"pixels\", got \"" + o.space + "\"");
    o.sourceSamples = r.integer("source_samples", o.sourceSamples);
    if (o.sourceSamples < 2 || o.sourceSamples > 20000)
        throw Error(r.context() + ": source_samples must be in 2..20000, got " + std::to_string(o.sourceSamples));
    const int64_t bootstrap = r.integer("bootstrap", o.bootstrap);
    if (bootstrap < 0 || bootstrap > 10000) throw Error(r.context() + ": bootstrap must be in 0..10000");
    o.bootstrap = static_cast<int>(bootstrap);
    o.autoPower = r.has("power") && r.raw("power").is_string();
    if (o.autoPower && r.raw("power") != "auto")
        throw Error(r.context() + ": power must be a number in (0, 20] or \"auto\", got " + r.raw("power").dump());
    if (!o.autoPower) o.power = r.number("power", o.power);
    if (!(o.power > 0 && o.power <= 20)) throw Error(r.context() + ": power must be in (0, 20], got " + std::to_string(o.power));
    if (r.has("nearest_power") && !o.autoPower) throw Error(r.context() + ": nearest_power is used only with power \"auto\"");
    o.nearestPower = r.number("nearest_power", o.nearestPower);
    if (!(o.nearestPower > 0 && o.nearestPower <= 20))
        throw Error(r.context() + ": nearest_power must be in (0, 20], got " + std::to_string(o.nearestPower));
    const int64_t seed = r.integer("seed", 0);
    if (seed < 0) throw Error(r.context() + ": seed must be >= 0");
    o.seed = static_cast<uint64_t>(seed);
    o.featureNetData = r.text("feature_net_data", "");
    o.cacheDir = r.text("cache_dir", "");
    return o;
}

SourceDrawer drawerOf(const Generator& generator) {
    if (!generator) return {};
    Generator g = cloneGenerator(generator);
    g->to(torch::kCPU);
    g->eval();
    return [g](int64_t n, at::Generator& rng) mutable { return GeneratorSource::drawSamples(g, n, rng); };
}

std::vector<RadiusEstimate> estimateRadii(const std::vector<Generator>& sources, const torch::Tensor& local,
                                          const std::function<torch::Tensor(const torch::Tensor&)>& embed,
                                          const RadiusEstimationOptions& options, CancelToken* cancel) {
    std::vector<SourceDrawer> drawers;
    for (const auto& g : sources) drawers.push_back(drawerOf(g));
    return estimateRadii(drawers, local, embed, options, cancel);
}

std::vector<RadiusEstimate> estimateRadii(const std::vector<SourceDrawer>& sources, const torch::Tensor& local,
                                          const std::function<torch::Tensor(const torch::Tensor&)>& embed,
                                          const RadiusEstimationOptions& options, CancelToken* cancel, CoverageCheck* coverage) {
    if (!local.defined() || local.size(0) < 2) throw Error("radii auto: at least 2 local samples are needed");
    const torch::Tensor localFeatures = embed(local).reshape({local.size(0), -1}).to(torch::kDouble);
    const int64_t n = localFeatures.size(0);
    std::vector<RadiusEstimate> out;
    std::vector<torch::Tensor> sourceFeatureSets(sources.size());  // kept for the coverage check
    auto summarise = [](RadiusEstimate& e, std::vector<double> replicates) {
        if (replicates.empty()) {
            e.low = e.high = e.eta;
            return;
        }
        double mean = 0;
        for (double v : replicates) mean += v;
        mean /= static_cast<double>(replicates.size());
        double var = 0;
        for (double v : replicates) var += (v - mean) * (v - mean);
        e.stddev = replicates.size() > 1 ? std::sqrt(var / static_cast<double>(replicates.size() - 1)) : 0.0;
        e.low = percentile(replicates, 0.05);
        e.high = percentile(replicates, 0.95);
    };
    for (size_t k = 0; k < sources.size(); ++k) {
        if (cancel) cancel->check();
        auto bootRng = makeCpuGenerator(deriveSeed(options.seed, kStreamBootstrap + k));
        std::vector<double> replicates;
        RadiusEstimate e;
        if (!sources[k]) {
            // The local data's own sampling radius: W1(P_n*, P_n) over bootstrap resamples P_n*.
            if (n < 2) throw Error("radii auto: the local data's radius needs at least 2 samples");
            const torch::Tensor cost = euclideanDistances(localFeatures, localFeatures);
            const int resamples = std::max(options.bootstrap, 1);
            for (int b = 0; b < resamples; ++b) {
                if (cancel && b % 16 == 0) cancel->check();
                const torch::Tensor rows = torch::randint(n, {n}, bootRng, torch::kLong);
                replicates.push_back(exactTransportCost(cost.index_select(0, rows)).value);
            }
            for (double v : replicates) e.eta += v / static_cast<double>(replicates.size());
            summarise(e, replicates);
            if (!(e.eta > 0)) throw Error("radii auto: the local samples are all identical (sampling radius 0)");
            out.push_back(e);
            continue;
        }
        auto rng = makeCpuGenerator(deriveSeed(options.seed, kStreamSourceSamples + k));
        const torch::Tensor samples = sources[k](options.sourceSamples, rng).to(torch::kCPU);
        const torch::Tensor sourceFeatures = embed(samples).reshape({samples.size(0), -1}).to(torch::kDouble);
        if (sourceFeatures.size(1) != localFeatures.size(1))
            throw Error("radii auto: source " + std::to_string(k) + " samples have " + std::to_string(sourceFeatures.size(1)) +
                        " features, the local samples " + std::to_string(localFeatures.size(1)));
        // Ground costs once; each bootstrap replicate takes rows of it (a local sample drawn twice is a
        // row with twice the mass, exactly the resampled empirical measure).
        sourceFeatureSets[k] = sourceFeatures;
        const torch::Tensor cost = euclideanDistances(localFeatures, sourceFeatures);
        e.eta = exactTransportCost(cost).value;
        for (int b = 0; b < options.bootstrap; ++b) {
            if (cancel && b % 16 == 0) cancel->check();
            const torch::Tensor rows = torch::randint(n, {n}, bootRng, torch::kLong);
            replicates.push_back(exactTransportCost(cost.index_select(0, rows)).value);
        }
        summarise(e, replicates);
        if (!(e.eta > 0)) throw Error("radii auto: source " + std::to_string(k) + " is at W1 distance 0 from the local samples");
        out.push_back(e);
    }
    if (coverage) *coverage = checkCoverage(localFeatures, sourceFeatureSets, out, options, cancel);
    return out;
}

std::vector<RadiusEstimate> estimateRadiiForSources(const std::vector<Generator>& sources,
                                                    const std::vector<std::string>& names,
                                                    const RadiusEstimationOptions& options, JobObserver& observer,
                                                    CancelToken& cancel, CoverageCheck* coverage) {
    const auto first = std::find_if(sources.begin(), sources.end(), [](const Generator& g) { return bool(g); });
    if (first == sources.end()) throw Error("radii auto: no generator sources");
    std::vector<SourceDrawer> drawers;
    for (const auto& g : sources) drawers.push_back(drawerOf(g));
    return estimateRadiiForSources(drawers, (*first)->spec().sampleShape(), names, options, observer, cancel, coverage);
}

std::vector<RadiusEstimate> estimateRadiiForSources(const std::vector<SourceDrawer>& sources,
                                                    const std::vector<int64_t>& sampleShape,
                                                    const std::vector<std::string>& names,
                                                    const RadiusEstimationOptions& options, JobObserver& observer,
                                                    CancelToken& cancel, CoverageCheck* coverage) {
    if (std::none_of(sources.begin(), sources.end(), [](const SourceDrawer& d) { return bool(d); }))
        throw Error("radii auto: no generator sources");
    Dataset data = loadDataset(options.data, loadOptionsForSampleShape(sampleShape));
    if (options.k > 0) data = kShotSubset(data, options.k, options.kSeed);
    std::function<torch::Tensor(const torch::Tensor&)> embed = [](const torch::Tensor& x) { return x.to(torch::kFloat); };
    const bool images = sampleShape.size() == 3;
    std::string space = images ? options.space : "points";
    if (images && options.space == "features") {
        EvaluationProtocol protocol;
        protocol.reference = options.data;
        protocol.featureNetData = options.featureNetData;
        FeatureNetRequest request;
        request.trainData = protocol.featureNetTrainingData();
        request.channels = static_cast<int>(sampleShape[0]);
        request.imageSize = static_cast<int>(sampleShape[1]);
        request.cacheDir = options.cacheDir;
        auto net = std::make_shared<TrainedFeatureNet>(obtainFeatureNet(request, &observer, &cancel));
        embed = [net](const torch::Tensor& x) { return extractFeatures(net->net, x.to(torch::kFloat)); };
    }
    CoverageCheck check;
    std::vector<RadiusEstimate> estimates = estimateRadii(sources, data.samples, embed, options, &cancel, &check);
    for (size_t k = 0; k < estimates.size(); ++k) {
        const RadiusEstimate& e = estimates[k];
        char line[360];
        const std::string name = k < names.size() ? names[k] : std::to_string(k);
        if (sources[k])
            std::snprintf(line, sizeof line, "radii auto: %s: η = %.4g (bootstrap sd %.3g, 90%% interval %.4g–%.4g; exact W1 in %s space, %lld local vs %lld source samples)",
                          name.c_str(), e.eta, e.stddev, e.low, e.high, space.c_str(), static_cast<long long>(data.size()),
                          static_cast<long long>(options.sourceSamples));
        else
            std::snprintf(line, sizeof line, "radii auto: %s: η = %.4g, the sampling radius of the %lld local samples (mean W1 to %d bootstrap resamples in %s space; sd %.3g, 90%% interval %.4g–%.4g)",
                          name.c_str(), e.eta, static_cast<long long>(data.size()), std::max(options.bootstrap, 1),
                          space.c_str(), e.stddev, e.low, e.high);
        observer.onLog(LogLevel::Info, line);
        observer.onMetric("radius_auto/" + std::to_string(k), 0, e.eta);
        observer.onMetric("radius_auto_sd/" + std::to_string(k), 0, e.stddev);
    }
    if (!check.regime.empty()) observer.onLog(LogLevel::Info, check.describe(names));
    if (coverage) *coverage = check;
    return estimates;
}

}  // namespace coalesce
