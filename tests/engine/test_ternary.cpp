// Ternary quantisers (learned threshold, TWN, TTQ) and ternary layers / generators.
// Ground truth: finite differences in double precision, an independent Python/autograd implementation
// (tests/python/ternary_golden.py), and plain conv / linear ops on hand-dequantised weights.
#include "support/test_main.h"  // Qt Test, and the suite registration
#include <torch/torch.h>

#include <fstream>

#include "core/error.h"
#include "models/networks.h"
#include "quant/ternary_layers.h"
#include "quant/ternary_ops.h"
#include "support/test_support.h"

using namespace coalesce;

using coalesce::test::maxAbsDiff;
using coalesce::test::toDoubles;

namespace {

torch::Tensor randomWeights(std::vector<int64_t> shape, uint64_t seed, double scale = 0.05) {
    auto gen = at::detail::createCPUGenerator(seed);
    return torch::randn(shape, gen, torch::kDouble) * scale + 0.003;  // small non-zero mean, like trained layers
}

double scaleOf(const torch::Tensor& w, double delta) {
    return learnedTernaryStats(w, torch::tensor({delta}, torch::kDouble)).scale.item<double>();
}

// Loss L = Σ c·W_t for the learned quantiser; returns (∂L/∂W, ∂L/∂Δ).
std::pair<torch::Tensor, double> learnedGrads(const torch::Tensor& w0, double delta, const torch::Tensor& c,
                                              double clamp = 0.0) {
    auto w = w0.clone().requires_grad_(true);
    auto d = torch::tensor({delta}, torch::kDouble).requires_grad_(true);
    (learnedTernarize(w, d, clamp) * c).sum().backward();
    return {w.grad(), d.grad().item<double>()};
}

torch::Tensor fromJson(const nlohmann::json& j, const torch::Tensor& like) {
    auto v = j.get<std::vector<double>>();
    return torch::tensor(v, torch::kDouble).view(like.sizes());
}

}  // namespace

class TestTernary : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(1); }

    void inverseMillsRatioClosedForm() {
        // λ(0) = φ(0)/½ = 2/√(2π); for large a, λ(a) ≈ a + 1/a − 2/a³ (asymptotic series).
        QVERIFY(std::abs(inverseMillsRatio(0.0) - 2.0 / std::sqrt(2.0 * M_PI)) < 1e-15);
        const double a = 30.0;
        QVERIFY(std::abs(inverseMillsRatio(a) - (a + 1.0 / a - 2.0 / (a * a * a))) < 1e-5);
    }

    void scaleDerivativeInDeltaMatchesFiniteDifferences() {
        // ∂L/∂Δ for L = Σ Q·W_t = s·#nonzero equals #nonzero·ds/dΔ; compare with central differences of s.
        auto w = randomWeights({6, 5, 3, 3}, 11);
        const double sigma = w.std().item<double>();
        const double maxAbs = w.abs().max().item<double>();
        for (double delta : {0.05 * maxAbs, 0.3 * sigma, 1.7 * sigma, -0.8 * sigma}) {
            auto st = learnedTernaryStats(w, torch::tensor({delta}, torch::kDouble));
            auto q = ternaryCodes(w, st.mean, st.threshold);
            const double nonzero = q.abs().sum().item<double>();
            const double h = 1e-6 * sigma;
            const double fd = (scaleOf(w, delta + h) - scaleOf(w, delta - h)) / (2 * h);
            auto [gw, gd] = learnedGrads(w, delta, q);
            QVERIFY2(test::relativeError(gd / nonzero, fd) < 1e-6,
                     qPrintable(QString("delta %1: analytic %2 vs fd %3").arg(delta).arg(gd / nonzero).arg(fd)));
        }
    }

    void deltaGradientIsZeroWhenClippedAndClampable() {
        auto w = randomWeights({4, 4, 3, 3}, 12);
        auto c = randomWeights({4, 4, 3, 3}, 13, 1.0);
        const double sigma = w.std().item<double>();
        QCOMPARE(learnedGrads(w, 3.5 * sigma, c).second, 0.0);
        QCOMPARE(learnedGrads(w, -4.0 * sigma, c).second, 0.0);
        // Unclamped the gradient is large here (Σ c·Q over ~100 weights); the option clamps it to ±1e-3.
        auto q = ternaryCodes(w, w.mean(), torch::tensor(0.5 * sigma, torch::kDouble));
        const double raw = learnedGrads(w, 0.5 * sigma, q * 10.0).second;
        QVERIFY(std::abs(raw) > 1e-2);
        const double clamped = learnedGrads(w, 0.5 * sigma, q * 10.0, 1e-3).second;
        QCOMPARE(clamped, raw > 0 ? 1e-3 : -1e-3);
    }

    void weightGradientIsStraightThroughPlusScalePath() {
        // ∂L/∂W − c must equal (Σ c·Q)·∂s/∂W; ∂s/∂W by central differences of s(W) (Δ fixed), both
        // inside the clip and clipped at 3σ.
        auto w = randomWeights({5, 4, 3, 3}, 14);
        // Heavy tails, so that some weights lie beyond μ ± 3σ and the clipped case has non-zero codes.
        w.view(-1)[3] = 0.4;
        w.view(-1)[50] = -0.35;
        w.view(-1)[120] = 0.3;
        auto c = randomWeights({5, 4, 3, 3}, 15, 1.0);
        const double sigma = w.std().item<double>();
        for (double delta : {0.8 * sigma, 5.0 * sigma}) {
            auto st = learnedTernaryStats(w, torch::tensor({delta}, torch::kDouble));
            auto q = ternaryCodes(w, st.mean, st.threshold);
            QVERIFY(q.abs().sum().item<double>() >= 2);
            const double gs = (c * q).sum().item<double>();
            QVERIFY(std::abs(gs) > 0.1);
            auto [gw, gd] = learnedGrads(w, delta, c);
            auto scalePath = (gw - c).view(-1);
            auto flat = w.view(-1);
            for (int64_t i : {0L, 7L, 33L, 101L, flat.numel() - 1}) {
                const double h = 1e-6 * sigma;
                auto plus = w.clone();
                auto minus = w.clone();
                plus.view(-1)[i] += h;
                minus.view(-1)[i] -= h;
                const double fd = (scaleOf(plus, delta) - scaleOf(minus, delta)) / (2 * h);
                QVERIFY2(std::abs(scalePath[i].item<double>() - gs * fd) < 1e-6 * std::abs(gs) + 1e-9,
                         qPrintable(QString("delta %1 weight %2: %3 vs %4")
                                        .arg(delta).arg(i).arg(scalePath[i].item<double>()).arg(gs * fd)));
            }
        }
    }

    void quantisersMatchIndependentPython() {
        struct TernaryCase {
            torch::Tensor w, c;
            double delta, t, wp, wn;
        };
        std::vector<TernaryCase> cases;
        auto w1 = randomWeights({8, 4, 3, 3}, 21);
        auto w2 = randomWeights({3, 7, 4, 4}, 22, 0.2);
        auto w3 = randomWeights({40, 6}, 23, 0.01);
        cases.push_back({w1, randomWeights({8, 4, 3, 3}, 31, 1.0), 0.05 * w1.abs().max().item<double>(), 0.05, 0.04, 0.05});
        cases.push_back({w2, randomWeights({3, 7, 4, 4}, 32, 1.0), 10.0, 0.3, 0.2, 0.1});  // Δ clipped at 3σ
        cases.push_back({w3, randomWeights({40, 6}, 33, 1.0), -0.004, 0.1, 0.01, 0.02});
        nlohmann::json in{{"cases", nlohmann::json::array()}};
        for (const auto& k : cases)
            in["cases"].push_back({{"w", toDoubles(k.w)}, {"c", toDoubles(k.c)}, {"delta", k.delta},
                                   {"ttq_t", k.t}, {"ttq_wp", k.wp}, {"ttq_wn", k.wn}});
        const auto path = test::scratchDir("ternary-golden") + "/cases.json";
        std::ofstream(path) << in.dump();
        std::string out;
        QCOMPARE(test::runPython("ternary_golden.py", path, &out), 0);
        const auto golden = nlohmann::json::parse(out)["cases"];
        QCOMPARE(golden.size(), cases.size());

        for (size_t k = 0; k < cases.size(); ++k) {
            const auto& [w, c, delta, t, wp, wn] = cases[k];
            // learned threshold
            const auto& g = golden[k]["learned"];
            auto st = learnedTernaryStats(w, torch::tensor({delta}, torch::kDouble));
            QVERIFY(std::abs(st.mean.item<double>() - g["mean"].get<double>()) < 1e-15);
            QVERIFY(test::relativeError(st.std.item<double>(), g["std"].get<double>()) < 1e-12);
            QVERIFY(test::relativeError(st.threshold.item<double>(), g["threshold"].get<double>()) < 1e-12);
            QVERIFY(test::relativeError(st.scale.item<double>(), g["scale"].get<double>()) < 1e-12);
            auto d = torch::tensor({delta}, torch::kDouble);
            QVERIFY(maxAbsDiff(learnedTernarize(w, d), fromJson(g["codes"], w) * g["scale"].get<double>()) <
                    1e-13 * std::abs(g["scale"].get<double>()));
            auto [gw, gd] = learnedGrads(w, delta, c);
            QVERIFY2(maxAbsDiff(gw, fromJson(g["grad_w"], w)) < 1e-10, qPrintable(QString("case %1").arg(k)));
            QVERIFY2(std::abs(gd - g["grad_delta"].get<double>()) < 1e-9 * (1 + std::abs(gd)),
                     qPrintable(QString("case %1: %2 vs %3").arg(k).arg(gd).arg(g["grad_delta"].get<double>())));
            // TWN
            const auto& tw = golden[k]["twn"];
            auto ts = twnStats(w);
            QVERIFY(test::relativeError(ts.threshold.item<double>(), tw["threshold"].get<double>()) < 1e-12);
            QVERIFY(test::relativeError(ts.scale.item<double>(), tw["scale"].get<double>()) < 1e-12);
            QVERIFY(maxAbsDiff(twnTernarize(w), fromJson(tw["output"], w)) < 1e-15);
            // TTQ
            const auto& tq = golden[k]["ttq"];
            auto wv = w.clone().requires_grad_(true);
            auto p = torch::tensor({wp}, torch::kDouble).requires_grad_(true);
            auto n = torch::tensor({wn}, torch::kDouble).requires_grad_(true);
            auto out = ttqTernarize(wv, p, n, t);
            QVERIFY(maxAbsDiff(out.detach(), fromJson(tq["output"], w)) < 1e-15);
            (out * c).sum().backward();
            QVERIFY(maxAbsDiff(wv.grad(), fromJson(tq["grad_w"], w)) < 1e-12);
            QVERIFY(std::abs(p.grad().item<double>() - tq["grad_wp"].get<double>()) < 1e-10);
            QVERIFY(std::abs(n.grad().item<double>() - tq["grad_wn"].get<double>()) < 1e-10);
        }
    }

    void twnStraightThroughAndDegenerateInputs() {
        auto w = randomWeights({4, 4, 3, 3}, 41).requires_grad_(true);
        auto c = randomWeights({4, 4, 3, 3}, 42, 1.0);
        (twnTernarize(w) * c).sum().backward();
        QCOMPARE(maxAbsDiff(w.grad(), c), 0.0);
        // Constant weights: σ = 0, no code is non-zero and nothing becomes NaN.
        auto constant = torch::full({3, 3}, 0.2, torch::kDouble).requires_grad_(true);
        auto d = torch::tensor({0.01}, torch::kDouble).requires_grad_(true);
        auto out = learnedTernarize(constant, d);
        QCOMPARE(out.abs().sum().item<double>(), 0.0);
        out.sum().backward();
        QVERIFY(torch::isfinite(constant.grad()).all().item<bool>());
        QVERIFY(std::isfinite(d.grad().item<double>()));
        QVERIFY_THROWS_EXCEPTION(Error, learnedTernarize(torch::ones({1}), torch::ones({1})));
        QVERIFY_THROWS_EXCEPTION(Error, learnedTernarize(torch::ones({4}), torch::ones({2})));
        QVERIFY_THROWS_EXCEPTION(Error, parseTernaryMethod("binary"));
    }

    void ternaryConvLayersComputeConvWithTernaryWeights() {
        torch::manual_seed(3);
        auto x = torch::randn({2, 5, 9, 9});
        torch::nn::Conv2d conv(torch::nn::Conv2dOptions(5, 7, 4).stride(2).padding(1));
        TernaryConv2d tconv(conv, TernaryOptions{});
        // Δ starts at 0.05·max|W|; the layer's weight is s·Q with s, Q from the closed form.
        QVERIFY(std::abs(tconv->delta.item<double>() - 0.05 * conv->weight.abs().max().item<double>()) < 1e-9);
        auto st = learnedTernaryStats(conv->weight, tconv->delta);
        auto wt = ternaryCodes(conv->weight, st.mean, st.threshold) * st.scale;
        auto expected = torch::conv2d(x, wt, conv->bias, {2, 2}, {1, 1});
        QVERIFY(maxAbsDiff(tconv->forward(x), expected) < 1e-5);

        auto z = torch::randn({2, 6, 4, 4});
        torch::nn::ConvTranspose2d convT(torch::nn::ConvTranspose2dOptions(6, 3, 4).stride(2).padding(1));
        TernaryOptions twn;
        twn.method = TernaryMethod::Twn;
        TernaryConvTranspose2d tconvT(convT, twn);
        auto expectedT = torch::conv_transpose2d(z, twnTernarize(convT->weight), convT->bias, {2, 2}, {1, 1});
        QVERIFY(maxAbsDiff(tconvT->forward(z), expectedT) < 1e-5);
        QCOMPARE(tconvT->forward(z).sizes().vec(), (std::vector<int64_t>{2, 3, 8, 8}));
    }

    void ternarizedGeneratorMatchesItsMaterializedFloatCopy() {
        torch::manual_seed(5);
        Generator g(ArchSpec::preset("dcgan32", "small", 1));
        g->eval();
        const auto before = g->net->ptr(0)->named_parameters()["weight"].clone();
        for (auto method : {TernaryMethod::Learned, TernaryMethod::Twn, TernaryMethod::Ttq}) {
            TernaryOptions options;
            options.method = method;
            auto tg = ternarizeGenerator(g, options);
            QVERIFY(isTernarized(*tg));
            QVERIFY(!isTernarized(*g));
            QCOMPARE(ternaryLayers(tg).size(), size_t(4));  // 4 ConvTranspose2d layers in dcgan32
            QVERIFY(!tg->is_training());
            auto z = g->sampleLatent(6);
            auto y = tg->forward(z);
            auto plain = materializeTernaryGenerator(tg);
            QVERIFY(!isTernarized(*plain));
            QVERIFY2(maxAbsDiff(y, plain->forward(z)) < 1e-5, toString(method));
            // Ternary weights take at most three values per layer.
            for (const auto& [name, layer] : ternaryLayers(tg)) {
                auto values = std::get<0>(at::_unique(layer->ternaryWeight().detach()));
                QVERIFY(values.numel() <= 3);
            }
            // The ternarised output differs from the float one (it is a different network).
            QVERIFY(maxAbsDiff(y, g->forward(z)) > 1e-3);
        }
        QCOMPARE(maxAbsDiff(g->net->ptr(0)->named_parameters()["weight"], before), 0.0);
        QVERIFY_THROWS_EXCEPTION(Error, ternarizeGenerator(ternarizeGenerator(g, {}), {}));
    }

    void keepFirstLastFloatAndReport() {
        torch::manual_seed(6);
        Generator g(ArchSpec::preset("dcgan32", "small", 1));
        TernaryOptions options;
        options.keepFirstLastFloat = true;
        auto tg = ternarizeGenerator(g, options);
        auto layers = ternaryLayers(tg);
        QCOMPARE(layers.size(), size_t(2));
        QCOMPARE(layers.front().first, std::string("net.3"));  // ConvT, BN, ReLU, [ConvT] ...
        QVERIFY(std::dynamic_pointer_cast<torch::nn::ConvTranspose2dImpl>(tg->net->ptr(0)) != nullptr);
        auto report = ternaryReport(tg);
        QCOMPARE(report["float_layers"].size(), size_t(2));
        QCOMPARE(report["layers"].size(), size_t(2));
        for (const auto& layer : report["layers"]) {
            const double z = layer["zero_fraction"], p = layer["positive_fraction"], n = layer["negative_fraction"];
            QVERIFY(std::abs(z + p + n - 1.0) < 1e-12);
            QVERIFY(z > 0.0 && z < 1.0);
            QVERIFY(std::abs(layer["threshold_over_max_abs"].get<double>() - 0.05) < 1e-6);  // Δ init, unclipped
        }
        // keep_last_float: only the output layer (net.9, the fourth ConvT) stays float.
        TernaryOptions lastOnly;
        lastOnly.keepLastFloat = true;
        auto tl = ternarizeGenerator(g, lastOnly);
        QCOMPARE(ternaryLayers(tl).size(), size_t(3));
        QCOMPARE(ternaryLayers(tl).front().first, std::string("net.0"));
        QCOMPARE(ternaryLayers(tl).back().first, std::string("net.6"));
        QCOMPARE(ternaryReport(tl)["float_layers"].size(), size_t(1));
        QCOMPARE(ternaryReport(tl)["float_layers"][0].get<std::string>(), std::string("net.9"));
        // The toy MLP generator ternarises its linear layers.
        Generator toy(ArchSpec::preset("mlp2d"));
        auto ttoy = ternarizeGenerator(toy, {});
        QCOMPARE(ternaryLayers(ttoy).size(), toy->net->size() / 2 + 1);
        auto z = toy->sampleLatent(5);
        QVERIFY(maxAbsDiff(ttoy->forward(z), materializeTernaryGenerator(ttoy)->forward(z)) < 1e-5);
    }

    void batchNormRecalibrationMatchesTheTernaryActivations() {
        torch::manual_seed(8);
        Generator g(ArchSpec::preset("dcgan32", "small", 1));
        auto tg = ternarizeGenerator(g, {});
        tg->eval();
        recalibrateBatchNorm(tg, 3, 16, at::detail::createCPUGenerator(99));
        QVERIFY(!tg->is_training());
        // Replay the same latents through the first ternary layer: BN 1's running mean must be the mean
        // of its inputs over all 3 batches, its running variance the mean of the per-batch unbiased variances.
        auto rng = at::detail::createCPUGenerator(99);
        torch::Tensor means = torch::zeros({256}), vars = torch::zeros({256});
        {
            torch::NoGradGuard noGrad;
            auto first = std::dynamic_pointer_cast<TernaryConvTranspose2dImpl>(tg->net->ptr(0));
            for (int b = 0; b < 3; ++b) {
                auto z = tg->sampleLatent(16, rng);
                auto h = first->forward(z.view({16, 100, 1, 1}));
                means += h.mean({0, 2, 3}) / 3.0;
                vars += h.transpose(0, 1).reshape({256, -1}).var(1, /*unbiased=*/true) / 3.0;
            }
        }
        auto buffers = tg->named_buffers();
        QVERIFY(maxAbsDiff(buffers["net.1.running_mean"], means) < 1e-5);
        QVERIFY(maxAbsDiff(buffers["net.1.running_var"], vars) < 1e-5 * vars.abs().max().item<double>() + 1e-7);
        // The module's own momentum is restored.
        QCOMPARE(std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(tg->net->ptr(1))->options.momentum().value(), 0.1);
    }

    void parameterGroupsAndAlternatingSteps() {
        torch::manual_seed(7);
        Generator g(ArchSpec::preset("dcgan32", "small", 1));
        auto tg = ternarizeGenerator(g, {});
        auto groups = ternaryParameterGroups(*tg);
        QCOMPARE(groups.thresholds.size(), size_t(4));
        QCOMPARE(groups.thresholds.size() + groups.weights.size(), tg->parameters().size());
        TernaryOptions ttq;
        ttq.method = TernaryMethod::Ttq;
        auto ttqGroups = ternaryParameterGroups(*ternarizeGenerator(g, ttq));
        QCOMPARE(ttqGroups.thresholds.size(), size_t(0));
        QCOMPARE(ttqGroups.weights.size(), g->parameters().size() + 8);  // + W_p, W_n per layer

        // One alternating step: Adam's first step moves every parameter with a non-zero gradient by lr.
        std::vector<torch::Tensor> deltas0, weights0;
        for (const auto& [_, layer] : ternaryLayers(tg)) {
            deltas0.push_back(layer->delta.detach().clone());
            weights0.push_back(layer->weight.detach().clone());
        }
        const double lr = 1e-4;
        AlternatingTernaryOptimizer opt(*tg, torch::optim::AdamOptions(lr).betas({0.5, 0.999}),
                                        torch::optim::AdamOptions(lr).betas({0.5, 0.999}));
        auto z = tg->sampleLatent(4);
        auto target = torch::rand({4, 1, 32, 32}) * 2 - 1;
        int calls = 0;
        opt.step([&] {
            ++calls;
            return (tg->forward(z) - target).pow(2).mean();
        });
        QCOMPARE(calls, 2);  // Δ step, then weight step
        auto layers = ternaryLayers(tg);
        for (size_t i = 0; i < layers.size(); ++i) {
            // |step| = lr·|g|/(|g| + ε) ≤ lr (+ float32 rounding of the stored value), > 0 where g ≠ 0.
            const double dDelta = std::abs((layers[i].second->delta - deltas0[i]).item<double>());
            QVERIFY(dDelta > 0.0 && dDelta <= lr + 1e-8);
            const double dWeight = (layers[i].second->weight - weights0[i]).abs().max().item<double>();
            QVERIFY2(dWeight > 0.5 * lr && dWeight <= lr + 1e-8, qPrintable(QString::number(dWeight)));
        }
    }
};

COALESCE_TEST_APPLESS_MAIN(TestTernary)
#include "test_ternary.moc"
