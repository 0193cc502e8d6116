#include "quant/ternary_ops.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"

namespace coalesce {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr double kSqrt2 = 1.4142135623730951;
constexpr double kInvSqrt2Pi = 0.3989422804014327;

// λ(a) = φ(a) / (1 − Φ(a)) = φ(a) / (½·erfc(a/√2)), elementwise on tensors (no cancellation for a > 0).
torch::Tensor inverseMillsRatio(const torch::Tensor& a) {
    return torch::exp(-0.5 * a * a) * kInvSqrt2Pi / (0.5 * torch::erfc(a / kSqrt2));
}

void checkQuantisable(const torch::Tensor& weight, const char* what) {
    if (!weight.defined() || weight.numel() < 2)
        throw Error(std::string(what) + ": a layer needs at least 2 weights to be ternarised");
    if (!weight.is_floating_point())
        throw Error(std::string(what) + ": weights must be floating point");
}

void checkScalar(const torch::Tensor& t, const char* what) {
    if (!t.defined() || t.numel() != 1) throw Error(std::string(what) + " must be a one-element tensor");
}

// The learned-threshold quantiser as an explicit autograd op (the reference's legacy Function
// `_quanFunc` plus the differentiable scale, written out; see ternary_ops.h for the formulas).
struct LearnedTernarizeFunction : torch::autograd::Function<LearnedTernarizeFunction> {
    static torch::Tensor forward(AutogradContext* ctx, torch::Tensor weight, torch::Tensor delta,
                                 double deltaGradClamp) {
        auto st = learnedTernaryStats(weight, delta);
        auto codes = ternaryCodes(weight, st.mean, st.threshold);
        ctx->save_for_backward({weight, delta, codes, st.mean, st.std, st.ratio, st.clipped});
        ctx->saved_data["clamp"] = deltaGradClamp;
        return codes * st.scale;
    }

    static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
        const auto saved = ctx->get_saved_variables();
        const auto& weight = saved[0];
        const auto& delta = saved[1];
        const auto& codes = saved[2];
        const auto& mean = saved[3];
        const auto& std = saved[4];
        const auto& a = saved[5];
        const auto& clipped = saved[6];
        const double clamp = ctx->saved_data["clamp"].toDouble();
        const auto& grad = gradOutputs[0];
        const double n = static_cast<double>(weight.numel());

        // ∂L/∂s: s multiplies every code.
        auto gradScale = (grad * codes).sum();
        auto lambda = inverseMillsRatio(a);
        auto dLambda = lambda * (lambda - a);  // λ'(a) = λ(a)(λ(a) − a)
        // s = μ + σ·λ(a), a = Δc/σ. Inside the clip a moves with σ: ∂s/∂σ = λ − a·λ'. Clipped, Δc = 3σ
        // makes a ≡ 3: ∂s/∂σ = λ(3). (The reference's Python-float clip bounds dropped that dependence;
        // we differentiate the forward that is actually computed.)
        auto dScaleDStd = torch::where(clipped, lambda, lambda - a * dLambda);
        // ∂μ/∂w = 1/n, ∂σ/∂w = (w − μ)/((n−1)σ); σ = 0 only for constant W, where (w − μ) = 0 too.
        auto safeStd = std.clamp_min(1e-30);
        auto gradWeight = grad + gradScale * (1.0 / n + dScaleDStd * (weight - mean) / ((n - 1.0) * safeStd));

        // Δ reaches the output only through s: ∂s/∂Δc = λ'(a), ∂Δc/∂Δ = sign(Δ) unless clipped.
        auto gradDelta = gradScale * dLambda * torch::sign(delta.reshape({})) * (~clipped).to(grad.dtype());
        if (clamp > 0.0) gradDelta = gradDelta.clamp(-clamp, clamp);
        return {gradWeight, gradDelta.reshape(delta.sizes()).to(delta.dtype()), torch::Tensor()};
    }
};

// TWN with a straight-through backward.
struct TwnTernarizeFunction : torch::autograd::Function<TwnTernarizeFunction> {
    static torch::Tensor forward(AutogradContext*, torch::Tensor weight) {
        auto st = twnStats(weight);
        return ternaryCodes(weight, torch::zeros({}, weight.options()), st.threshold) * st.scale;
    }
    static variable_list backward(AutogradContext*, variable_list gradOutputs) { return {gradOutputs[0]}; }
};

struct TtqTernarizeFunction : torch::autograd::Function<TtqTernarizeFunction> {
    static torch::Tensor forward(AutogradContext* ctx, torch::Tensor weight, torch::Tensor wPos, torch::Tensor wNeg,
                                 double thresholdFraction) {
        auto thr = ttqThreshold(weight, thresholdFraction);
        auto positive = (weight > thr).to(weight.dtype());
        auto negative = (weight < -thr).to(weight.dtype());
        ctx->save_for_backward({weight, wPos, wNeg, positive, negative});
        return positive * wPos.reshape({}) - negative * wNeg.reshape({});
    }
    static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
        const auto saved = ctx->get_saved_variables();
        const auto& weight = saved[0];
        const auto& wPos = saved[1];
        const auto& wNeg = saved[2];
        const auto& positive = saved[3];
        const auto& negative = saved[4];
        const auto& grad = gradOutputs[0];
        auto maxAbs = weight.abs().max().clamp_min(1e-30);
        auto inside = 1.0 - positive - negative;
        auto factor = positive * (wPos.reshape({}) / maxAbs) + inside + negative * (wNeg.reshape({}) / maxAbs);
        auto gradPos = (grad * positive).sum().reshape(wPos.sizes());
        auto gradNeg = (-(grad * negative).sum()).reshape(wNeg.sizes());
        return {grad * factor, gradPos, gradNeg, torch::Tensor()};
    }
};

}  // namespace

double inverseMillsRatio(double a) {
    return std::exp(-0.5 * a * a) * kInvSqrt2Pi / (0.5 * std::erfc(a / kSqrt2));
}

LearnedTernaryStats learnedTernaryStats(const torch::Tensor& weight, const torch::Tensor& delta) {
    checkQuantisable(weight, "learned ternariser");
    checkScalar(delta, "learned ternariser: the threshold Δ");
    torch::NoGradGuard noGrad;
    LearnedTernaryStats st;
    st.mean = weight.mean();
    st.std = weight.std(/*unbiased=*/true);
    auto absDelta = delta.detach().reshape({}).abs().to(weight.dtype());
    auto limit = 3.0 * st.std;
    st.clipped = absDelta >= limit;
    st.threshold = torch::minimum(absDelta, limit);
    st.ratio = st.threshold / st.std.clamp_min(1e-30);
    st.scale = st.mean + st.std * inverseMillsRatio(st.ratio);
    return st;
}

torch::Tensor ternaryCodes(const torch::Tensor& weight, const torch::Tensor& center, const torch::Tensor& threshold) {
    torch::NoGradGuard noGrad;
    auto w = weight.detach();
    return (w > center + threshold).to(w.dtype()) - (w < center - threshold).to(w.dtype());
}

torch::Tensor learnedTernarize(const torch::Tensor& weight, const torch::Tensor& delta, double deltaGradClamp) {
    checkQuantisable(weight, "learned ternariser");
    checkScalar(delta, "learned ternariser: the threshold Δ");
    return LearnedTernarizeFunction::apply(weight, delta, deltaGradClamp);
}

TwnStats twnStats(const torch::Tensor& weight) {
    checkQuantisable(weight, "TWN ternariser");
    torch::NoGradGuard noGrad;
    auto absW = weight.detach().abs();
    TwnStats st;
    st.threshold = 0.7 * absW.mean();
    auto above = (absW > st.threshold).to(absW.dtype());
    st.scale = (absW * above).sum() / above.sum().clamp_min(1.0);
    return st;
}

torch::Tensor twnTernarize(const torch::Tensor& weight) {
    checkQuantisable(weight, "TWN ternariser");
    return TwnTernarizeFunction::apply(weight);
}

torch::Tensor ttqThreshold(const torch::Tensor& weight, double thresholdFraction) {
    torch::NoGradGuard noGrad;
    return thresholdFraction * weight.detach().abs().max();
}

std::pair<double, double> ttqInitialScales(const torch::Tensor& weight, double thresholdFraction) {
    checkQuantisable(weight, "TTQ ternariser");
    torch::NoGradGuard noGrad;
    auto w = weight.detach().to(torch::kDouble);
    auto thr = ttqThreshold(w, thresholdFraction);
    auto positive = (w > thr).to(torch::kDouble);
    auto negative = (w < -thr).to(torch::kDouble);
    const double wp = ((w * positive).sum() / positive.sum().clamp_min(1.0)).item<double>();
    const double wn = ((-w * negative).sum() / negative.sum().clamp_min(1.0)).item<double>();
    return {wp, wn};
}

torch::Tensor ttqTernarize(const torch::Tensor& weight, const torch::Tensor& wPos, const torch::Tensor& wNeg,
                           double thresholdFraction) {
    checkQuantisable(weight, "TTQ ternariser");
    checkScalar(wPos, "TTQ ternariser: W_p");
    checkScalar(wNeg, "TTQ ternariser: W_n");
    if (!(thresholdFraction >= 0.0 && thresholdFraction < 1.0))
        throw Error("TTQ ternariser: threshold fraction must be in [0, 1), got " + std::to_string(thresholdFraction));
    return TtqTernarizeFunction::apply(weight, wPos, wNeg, thresholdFraction);
}

}  // namespace coalesce
