#include "quant/ternary_layers.h"

#include <unordered_set>

#include "core/error.h"
#include "models/transposed_conv.h"
#include "quant/ternary_ops.h"

namespace coalesce {

namespace F = torch::nn::functional;

const char* toString(TernaryMethod method) {
    switch (method) {
        case TernaryMethod::Learned: return "learned";
        case TernaryMethod::Twn: return "twn";
        case TernaryMethod::Ttq: return "ttq";
    }
    return "?";
}

TernaryMethod parseTernaryMethod(const std::string& name) {
    if (name == "learned") return TernaryMethod::Learned;
    if (name == "twn") return TernaryMethod::Twn;
    if (name == "ttq") return TernaryMethod::Ttq;
    throw Error("ternarisation method \"" + name + "\" is unknown (expected learned, twn or ttq)");
}

const char* toString(ThresholdInit init) { return init == ThresholdInit::Twn ? "twn" : "max_fraction"; }

ThresholdInit parseThresholdInit(const std::string& name) {
    if (name == "max_fraction") return ThresholdInit::MaxFraction;
    if (name == "twn") return ThresholdInit::Twn;
    throw Error("threshold_init \"" + name + "\" is unknown (expected max_fraction or twn)");
}

// ---------------------------------------------------------------------------------------------------
// TernaryLayerImpl

TernaryLayerImpl::TernaryLayerImpl(const torch::Tensor& floatWeight, const torch::Tensor& floatBias,
                                   const TernaryOptions& options)
    : options_(options) {
    if (!(options.thresholdFraction >= 0.0 && options.thresholdFraction < 1.0))
        throw Error("ternarisation: threshold_fraction must be in [0, 1), got " +
                    std::to_string(options.thresholdFraction));
    if (options.deltaGradClamp < 0.0)
        throw Error("ternarisation: delta_grad_clamp must be ≥ 0 (0 = off), got " +
                    std::to_string(options.deltaGradClamp));
    torch::NoGradGuard noGrad;
    weight = register_parameter("weight", floatWeight.detach().clone());
    if (floatBias.defined()) bias = register_parameter("bias", floatBias.detach().clone());
    if (options.method == TernaryMethod::Learned)
        delta = register_parameter("delta", torch::zeros({1}, weight.options()));
    if (options.method == TernaryMethod::Ttq) {
        wPos = register_parameter("w_pos", torch::zeros({1}, weight.options()));
        wNeg = register_parameter("w_neg", torch::zeros({1}, weight.options()));
    }
    resetQuantizer();
}

void TernaryLayerImpl::resetQuantizer() {
    torch::NoGradGuard noGrad;
    switch (options_.method) {
        case TernaryMethod::Learned:
            delta.fill_(options_.thresholdInit == ThresholdInit::Twn
                            ? 0.7 * (weight - weight.mean()).abs().mean().item<double>()
                            : options_.thresholdFraction * weight.abs().max().item<double>());
            break;
        case TernaryMethod::Ttq: {
            auto [wp, wn] = ttqInitialScales(weight, options_.thresholdFraction);
            wPos.fill_(wp);
            wNeg.fill_(wn);
            break;
        }
        case TernaryMethod::Twn: break;  // nothing trainable: Δ and α follow W
    }
}

torch::Tensor TernaryLayerImpl::ternaryWeight() const {
    switch (options_.method) {
        case TernaryMethod::Learned: return learnedTernarize(weight, delta, options_.deltaGradClamp);
        case TernaryMethod::Twn: return twnTernarize(weight);
        case TernaryMethod::Ttq: return ttqTernarize(weight, wPos, wNeg, options_.thresholdFraction);
    }
    throw Error("ternary layer: unknown method");
}

TernaryLayerSnapshot TernaryLayerImpl::snapshot() const {
    torch::NoGradGuard noGrad;
    TernaryLayerSnapshot snap;
    torch::Tensor codes;
    switch (options_.method) {
        case TernaryMethod::Learned: {
            auto st = learnedTernaryStats(weight, delta);
            codes = ternaryCodes(weight, st.mean, st.threshold);
            snap.scalePos = snap.scaleNeg = st.scale.item<double>();
            snap.threshold = st.threshold.item<double>();
            snap.center = st.mean.item<double>();
            break;
        }
        case TernaryMethod::Twn: {
            auto st = twnStats(weight);
            codes = ternaryCodes(weight, torch::zeros({}, weight.options()), st.threshold);
            snap.scalePos = snap.scaleNeg = st.scale.item<double>();
            snap.threshold = st.threshold.item<double>();
            break;
        }
        case TernaryMethod::Ttq: {
            auto thr = ttqThreshold(weight, options_.thresholdFraction);
            codes = ternaryCodes(weight, torch::zeros({}, weight.options()), thr);
            snap.scalePos = wPos.item<double>();
            snap.scaleNeg = wNeg.item<double>();
            snap.threshold = thr.item<double>();
            break;
        }
    }
    snap.codes = codes.to(torch::kCPU, torch::kInt8).contiguous();
    return snap;
}

nlohmann::json TernaryLayerImpl::report() const {
    torch::NoGradGuard noGrad;
    const auto snap = snapshot();
    const double n = static_cast<double>(snap.codes.numel());
    const double positive = (snap.codes == 1).sum().item<double>();
    const double negative = (snap.codes == -1).sum().item<double>();
    const double maxAbs = weight.abs().max().item<double>();
    nlohmann::json j{{"kind", layerKind()},
                     {"shape", weight.sizes().vec()},
                     {"weights", snap.codes.numel()},
                     {"method", toString(options_.method)},
                     {"zero_fraction", (n - positive - negative) / n},
                     {"positive_fraction", positive / n},
                     {"negative_fraction", negative / n},
                     {"scale_pos", snap.scalePos},
                     {"scale_neg", snap.scaleNeg},
                     {"threshold", snap.threshold},
                     {"center", snap.center},
                     {"max_abs_weight", maxAbs},
                     {"threshold_over_max_abs", maxAbs > 0 ? snap.threshold / maxAbs : 0.0}};
    if (options_.method == TernaryMethod::Learned) {
        auto st = learnedTernaryStats(weight, delta);
        j["delta"] = delta.item<double>();
        j["std"] = st.std.item<double>();
        j["delta_clipped_at_3_std"] = st.clipped.item<bool>();
    }
    return j;
}

// ---------------------------------------------------------------------------------------------------
// Concrete layers

TernaryConv2dImpl::TernaryConv2dImpl(const torch::nn::Conv2d& source, const TernaryOptions& options)
    : TernaryLayerImpl(source->weight, source->options.bias() ? source->bias : torch::Tensor(), options),
      convOptions(source->options) {
    if (!c10::holds_alternative<torch::enumtype::kZeros>(convOptions.padding_mode()))
        throw Error("TernaryConv2d: only zero padding is supported");
}

torch::Tensor TernaryConv2dImpl::forward(const torch::Tensor& x) {
    return F::conv2d(x, ternaryWeight(),
                     F::Conv2dFuncOptions()
                         .bias(bias)
                         .stride(convOptions.stride())
                         .padding(convOptions.padding())
                         .dilation(convOptions.dilation())
                         .groups(convOptions.groups()));
}

TernaryConvTranspose2dImpl::TernaryConvTranspose2dImpl(const torch::nn::ConvTranspose2d& source,
                                                       const TernaryOptions& options)
    : TernaryLayerImpl(source->weight, source->options.bias() ? source->bias : torch::Tensor(), options),
      convOptions(source->options) {
    if (!c10::holds_alternative<torch::enumtype::kZeros>(convOptions.padding_mode()))
        throw Error("TernaryConvTranspose2d: only zero padding is supported");
}

torch::Tensor TernaryConvTranspose2dImpl::forward(const torch::Tensor& x) {
    // The generator's layer shapes take the fast Conv2d formulation (models/transposed_conv.h).
    return transposedConv2d(x, ternaryWeight(), bias, convOptions);
}

TernaryLinearImpl::TernaryLinearImpl(const torch::nn::Linear& source, const TernaryOptions& options)
    : TernaryLayerImpl(source->weight, source->options.bias() ? source->bias : torch::Tensor(), options) {}

torch::Tensor TernaryLinearImpl::forward(const torch::Tensor& x) { return F::linear(x, ternaryWeight(), bias); }

// ---------------------------------------------------------------------------------------------------
// Generators

namespace {

bool isWeightLayer(const std::shared_ptr<torch::nn::Module>& m) {
    return std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(m) ||
           std::dynamic_pointer_cast<torch::nn::ConvTranspose2dImpl>(m) ||
           std::dynamic_pointer_cast<torch::nn::LinearImpl>(m);
}

}  // namespace

Generator ternarizeGenerator(const Generator& floatGenerator, const TernaryOptions& options) {
    if (isTernarized(*floatGenerator))
        throw Error("ternarize: the generator is already ternarised");
    // Fresh copy first, so BatchNorm statistics and untouched layers are copies, not shared.
    Generator result = cloneGenerator(floatGenerator);
    auto& old = result->net;

    std::vector<size_t> weightLayers;
    for (size_t i = 0; i < old->size(); ++i)
        if (isWeightLayer(old->ptr(i))) weightLayers.push_back(i);
    if (weightLayers.empty()) throw Error("ternarize: the generator has no conv or linear layer to ternarise");

    torch::nn::Sequential replaced;
    size_t index = 0;
    for (const auto& any : *old) {
        const bool first = index == weightLayers.front(), last = index == weightLayers.back();
        const bool keepFloat = (options.keepFirstLastFloat && (first || last)) || (options.keepLastFloat && last);
        const bool quantise = isWeightLayer(old->ptr(index)) && !keepFloat;
        auto ptr = old->ptr(index);
        if (quantise && std::dynamic_pointer_cast<torch::nn::ConvTranspose2dImpl>(ptr)) {
            replaced->push_back(TernaryConvTranspose2d(
                torch::nn::ConvTranspose2d(std::dynamic_pointer_cast<torch::nn::ConvTranspose2dImpl>(ptr)), options));
        } else if (quantise && std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(ptr)) {
            replaced->push_back(
                TernaryConv2d(torch::nn::Conv2d(std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(ptr)), options));
        } else if (quantise && std::dynamic_pointer_cast<torch::nn::LinearImpl>(ptr)) {
            replaced->push_back(
                TernaryLinear(torch::nn::Linear(std::dynamic_pointer_cast<torch::nn::LinearImpl>(ptr)), options));
        } else {
            replaced->push_back(any);
        }
        ++index;
    }
    result->net = result->replace_module("net", replaced);
    result->train(floatGenerator->is_training());
    return result;
}

bool isTernarized(const torch::nn::Module& module) {
    for (const auto& m : module.modules(/*include_self=*/true))
        if (std::dynamic_pointer_cast<TernaryLayerImpl>(m)) return true;
    return false;
}

std::vector<std::pair<std::string, std::shared_ptr<TernaryLayerImpl>>> ternaryLayers(const Generator& generator) {
    std::vector<std::pair<std::string, std::shared_ptr<TernaryLayerImpl>>> layers;
    for (const auto& item : generator->net->named_children())
        if (auto layer = std::dynamic_pointer_cast<TernaryLayerImpl>(item.value()))
            layers.emplace_back("net." + item.key(), layer);
    return layers;
}

Generator materializeTernaryGenerator(const Generator& ternarized) {
    Generator plain(ternarized->spec());
    plain->to(ternarized->device());
    copyWeights(*ternarized, *plain);  // latent weights, biases, norm parameters and buffers
    torch::NoGradGuard noGrad;
    auto params = plain->named_parameters(true);
    for (const auto& [name, layer] : ternaryLayers(ternarized)) {
        const auto snap = layer->snapshot();
        auto& target = params[name + ".weight"];
        auto codes = snap.codes.to(target.device(), target.scalar_type());
        target.copy_(snap.scalePos * (codes == 1).to(target.scalar_type()) -
                     snap.scaleNeg * (codes == -1).to(target.scalar_type()));
    }
    plain->train(ternarized->is_training());
    return plain;
}

void recalibrateBatchNorm(Generator& generator, int64_t batches, int64_t batchSize, at::Generator rng) {
    if (batches < 1 || batchSize < 2)
        throw Error("BatchNorm recalibration: needs at least 1 batch of at least 2 latents");
    std::vector<std::shared_ptr<torch::nn::BatchNorm2dImpl>> norms;
    for (const auto& m : generator->modules(/*include_self=*/false))
        if (auto bn = std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(m))
            if (bn->options.track_running_stats()) norms.push_back(bn);
    if (norms.empty()) return;
    const bool wasTraining = generator->is_training();
    std::vector<c10::optional<double>> momenta;
    for (auto& bn : norms) {
        momenta.push_back(bn->options.momentum());
        bn->reset_running_stats();
        bn->options.momentum(c10::nullopt);  // cumulative average: every batch weighs the same
    }
    generator->train();
    {
        torch::NoGradGuard noGrad;
        for (int64_t b = 0; b < batches; ++b) generator->forward(generator->sampleLatent(batchSize, rng));
    }
    for (size_t i = 0; i < norms.size(); ++i) norms[i]->options.momentum(momenta[i]);
    generator->train(wasTraining);
}

nlohmann::json ternaryReport(const Generator& ternarized) {
    nlohmann::json layers = nlohmann::json::array();
    nlohmann::json floatLayers = nlohmann::json::array();
    int64_t ternaryWeights = 0;
    double zeros = 0.0;
    std::string method;
    for (const auto& item : ternarized->net->named_children()) {
        const std::string name = "net." + item.key();
        if (auto layer = std::dynamic_pointer_cast<TernaryLayerImpl>(item.value())) {
            auto r = layer->report();
            r["name"] = name;
            ternaryWeights += r["weights"].get<int64_t>();
            zeros += r["zero_fraction"].get<double>() * r["weights"].get<double>();
            method = toString(layer->method());
            layers.push_back(std::move(r));
        } else if (isWeightLayer(item.value())) {
            floatLayers.push_back(name);
        }
    }
    return {{"method", method},
            {"layers", layers},
            {"float_layers", floatLayers},
            {"ternary_weights", ternaryWeights},
            {"zero_fraction", ternaryWeights > 0 ? zeros / static_cast<double>(ternaryWeights) : 0.0}};
}

// ---------------------------------------------------------------------------------------------------
// Optimisation

TernaryParameterGroups ternaryParameterGroups(const torch::nn::Module& module) {
    std::unordered_set<const void*> thresholdSet;
    TernaryParameterGroups groups;
    for (const auto& m : module.modules(/*include_self=*/true))
        if (auto layer = std::dynamic_pointer_cast<TernaryLayerImpl>(m))
            if (layer->delta.defined()) thresholdSet.insert(layer->delta.unsafeGetTensorImpl());
    for (const auto& p : module.parameters(/*recurse=*/true)) {
        if (thresholdSet.count(p.unsafeGetTensorImpl()))
            groups.thresholds.push_back(p);
        else
            groups.weights.push_back(p);
    }
    return groups;
}

AlternatingTernaryOptimizer::AlternatingTernaryOptimizer(const torch::nn::Module& module,
                                                         const torch::optim::AdamOptions& thresholdOptions,
                                                         const torch::optim::AdamOptions& weightOptions) {
    auto groups = ternaryParameterGroups(module);
    if (!groups.thresholds.empty())
        thresholds_ = std::make_unique<torch::optim::Adam>(groups.thresholds, thresholdOptions);
    weights_ = std::make_unique<torch::optim::Adam>(groups.weights, weightOptions);
}

torch::Tensor AlternatingTernaryOptimizer::step(const std::function<torch::Tensor()>& loss) {
    if (thresholds_) {
        thresholds_->zero_grad();
        weights_->zero_grad();
        loss().backward();
        thresholds_->step();
    }
    if (thresholds_) thresholds_->zero_grad();  // the Δ step's loss left gradients on Δ too
    weights_->zero_grad();
    auto value = loss();
    value.backward();
    weights_->step();
    return value.detach();
}

}  // namespace coalesce
