// bf16 mixed precision (train/mixed_precision.h) against fp32 as ground truth:
//  * each layer type the networks use (Conv2d, ConvTranspose2d, Linear, with InstanceNorm / BatchNorm
//    behind a convolution): the forward output and the gradients of the input and of the weights under
//    AutocastScope within a relative error (‖bf16 − fp32‖ / ‖fp32‖) of 1e-2 for a layer (measured
//    ~3e-3) and 5e-2 for a layer with a normalisation behind it (measured up to 3.2e-2: the input
//    gradient through a norm subtracts means of bf16 products); the weight gradients stay
//    fp32 (the master weights), Conv2d and Linear really compute in bf16 (their output dtype), and
//    leaving the scope restores fp32;
//  * the whole critic: scores and the gradient penalty (double backward through bf16 layers) within 5e-2;
//  * a bf16 toy run converges like fp32: the same trainer, seed and data, exact W1 to the data drops by
//    at least 3× with both and bf16 ends within 1.5× of fp32 (+0.05).
// bf16 has an 8-bit significand (relative rounding 2^-9 ≈ 0.2 %), so sums over a few hundred products
// stay well inside 1e-2; a scope that did nothing would pass the closeness checks, hence the dtype checks.
#include "support/test_main.h"  // Qt Test, and the suite registration
#include <torch/torch.h>

#include "core/error.h"
#include "core/runtime.h"
#include "metrics/optimal_transport.h"
#include "models/networks.h"
#include "support/test_support.h"
#include "train/gradient_penalty.h"
#include "train/mixed_precision.h"
#include "train/multi_critic_trainer.h"
#include "train/sample_source.h"

using namespace coalesce;

using coalesce::test::exactW1ToData;
using coalesce::test::SilentObserver;

namespace {

using coalesce::test::fourGaussians;

double relativeError(const torch::Tensor& approx, const torch::Tensor& exact) {
    const torch::Tensor a = approx.to(torch::kDouble), e = exact.to(torch::kDouble);
    return ((a - e).norm() / e.norm()).item<double>();
}

struct Pass {
    torch::Tensor output, inputGrad;
    std::vector<torch::Tensor> paramGrads;
};

// One forward (under bf16 autocast or not) and a backward of a fixed random projection of the output.
Pass runLayer(torch::nn::Module& layer, const std::function<torch::Tensor(const torch::Tensor&)>& forward,
              const torch::Tensor& input, Precision precision) {
    layer.zero_grad();
    torch::Tensor x = input.clone().requires_grad_(true);
    torch::Tensor y;
    {
        AutocastScope scope(precision, torch::kCPU);
        y = forward(x);
    }
    Pass p;
    p.output = y.detach().clone();
    auto rng = makeCpuGenerator(7);
    const torch::Tensor projection = torch::randn(y.sizes(), rng, torch::kFloat);
    (y.to(torch::kFloat) * projection).sum().backward();
    p.inputGrad = x.grad().clone();
    for (const auto& param : layer.parameters()) p.paramGrads.push_back(param.grad().clone());
    return p;
}

void expectLayerMatches(const char* name, torch::nn::Module& layer,
                        const std::function<torch::Tensor(const torch::Tensor&)>& forward, const torch::Tensor& input,
                        bool expectBf16Output, double tolerance) {
    const Pass exact = runLayer(layer, forward, input, Precision::Fp32);
    const Pass low = runLayer(layer, forward, input, Precision::Bf16);
    QCOMPARE(exact.output.scalar_type(), torch::kFloat);
    if (expectBf16Output)
        QVERIFY2(low.output.scalar_type() == torch::kBFloat16, qPrintable(QString("%1 did not run in bf16").arg(name)));
    else if (low.output.scalar_type() == torch::kFloat)  // left in fp32 by this LibTorch: then exactly fp32's result
        QVERIFY2(torch::equal(low.output, exact.output) && torch::equal(low.inputGrad, exact.inputGrad),
                 qPrintable(QString("%1 stayed fp32 but differs from the fp32 pass").arg(name)));
    const double out = relativeError(low.output, exact.output), in = relativeError(low.inputGrad, exact.inputGrad);
    // All parameter gradients as one vector: a convolution's bias in front of a normalisation has a
    // gradient that is zero up to rounding, whose own relative error means nothing.
    std::vector<torch::Tensor> exactFlat, lowFlat;
    for (size_t i = 0; i < exact.paramGrads.size(); ++i) {
        QCOMPARE(low.paramGrads[i].scalar_type(), torch::kFloat);  // gradients of the fp32 master weights
        exactFlat.push_back(exact.paramGrads[i].flatten());
        lowFlat.push_back(low.paramGrads[i].flatten());
    }
    const double params = relativeError(torch::cat(lowFlat), torch::cat(exactFlat));
    qInfo("%-30s output %.2e, input gradient %.2e, weight gradients %.2e (%s)", name, out, in, params,
          c10::toString(low.output.scalar_type()));
    QVERIFY2(out < tolerance && in < tolerance && params < tolerance,
             qPrintable(QString("%1: relative errors %2 / %3 / %4, tolerance %5").arg(name).arg(out).arg(in).arg(params).arg(tolerance)));
    // The scope is gone: the same layer computes in fp32 again.
    QCOMPARE(forward(input).scalar_type(), torch::kFloat);
}

ArchSpec toySpec() { return ArchSpec::preset("mlp2d"); }

}  // namespace

class TestMixedPrecision : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(1); }

    void eachLayerTypeMatchesFp32() {
        torch::manual_seed(1);
        const torch::Tensor image = torch::randn({8, 16, 16, 16});
        torch::nn::Conv2d conv(torch::nn::Conv2dOptions(16, 32, 4).stride(2).padding(1));
        expectLayerMatches("Conv2d 16->32 4x4 s2", *conv, [&](const torch::Tensor& x) { return conv->forward(x); }, image, true, 1e-2);

        torch::nn::ConvTranspose2d deconv(torch::nn::ConvTranspose2dOptions(16, 8, 4).stride(2).padding(1));
        // ConvTranspose2d is not on LibTorch 1.13's CPU autocast list: there it must give fp32's result exactly;
        // a LibTorch that runs it in bf16 gets the closeness check.
        expectLayerMatches("ConvTranspose2d 16->8 4x4 s2", *deconv, [&](const torch::Tensor& x) { return deconv->forward(x); },
                           image, false, 1e-2);

        torch::nn::Linear linear(256, 64);
        const torch::Tensor rows = torch::randn({32, 256});
        expectLayerMatches("Linear 256->64", *linear, [&](const torch::Tensor& x) { return linear->forward(x); }, rows, true, 1e-2);

        // The critic's block (Conv + InstanceNorm + LeakyReLU) and a BatchNorm behind a convolution.
        torch::nn::Sequential block(torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 32, 4).stride(2).padding(1)),
                                    torch::nn::InstanceNorm2d(torch::nn::InstanceNorm2dOptions(32).affine(true)),
                                    torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)));
        expectLayerMatches("Conv2d+InstanceNorm+LeakyReLU", *block, [&](const torch::Tensor& x) { return block->forward(x); },
                           image, true, 5e-2);
        torch::nn::Sequential bn(torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 32, 3).padding(1)), torch::nn::BatchNorm2d(32));
        expectLayerMatches("Conv2d+BatchNorm", *bn, [&](const torch::Tensor& x) { return bn->forward(x); }, image, true, 5e-2);
    }

    void criticScoresAndGradientPenaltyMatchFp32() {
        torch::manual_seed(2);
        Critic critic(ArchSpec::preset("dcgan32", "small", 1));
        const torch::Tensor real = torch::rand({16, 1, 32, 32}) * 2 - 1, fake = torch::rand({16, 1, 32, 32}) * 2 - 1;
        const torch::Tensor eps = torch::rand({16});
        auto criticFn = [&critic](const torch::Tensor& x) { return critic->forward(x).to(torch::kFloat); };
        auto evaluate = [&](Precision precision) {
            AutocastScope scope(precision, torch::kCPU);
            torch::Tensor scores = criticFn(real);
            torch::Tensor gp = gradientPenalty(criticFn, real, fake, eps, GradientPenaltyMode::Standard);
            return std::make_pair(scores.detach(), gp.item<double>());
        };
        const auto [scores32, gp32] = evaluate(Precision::Fp32);
        const auto [scores16, gp16] = evaluate(Precision::Bf16);
        const double scoreError = relativeError(scores16, scores32), gpError = std::fabs(gp16 - gp32) / gp32;
        qInfo("critic scores relative error %.2e; gradient penalty %.5f (fp32) vs %.5f (bf16), %.2e", scoreError, gp32,
              gp16, gpError);
        QVERIFY2(scoreError > 0, "bf16 scores equal fp32's bit for bit: autocast did not act");
        QVERIFY2(scoreError < 5e-2, qPrintable(QString::number(scoreError)));
        QVERIFY2(gpError < 5e-2, qPrintable(QString::number(gpError)));
    }

    void bf16ToyRunConvergesLikeFp32() {
        const Dataset data = fourGaussians(2000, 1);
        std::map<Precision, std::pair<double, double>> w1;  // before, after
        for (Precision precision : {Precision::Fp32, Precision::Bf16}) {
            torch::manual_seed(3);
            Generator g(toySpec());
            const double before = exactW1ToData(g, data);
            TrainerOptions o;
            o.iterations = 400;
            o.batchSize = 64;
            o.lrGenerator = o.lrCritic = 1e-3;
            o.sampleEvery = o.checkpointEvery = 0;
            o.seed = 3;
            std::vector<CriticSource> sources;
            sources.push_back({"data", std::make_unique<DatasetSource>(data)});
            MultiCriticTrainer trainer(g, std::move(sources), {}, o, torch::kCPU);
            trainer.setPrecision(precision);
            SilentObserver quiet;
            CancelToken cancel;
            trainer.train(quiet, cancel);
            w1[precision] = {before, exactW1ToData(g, data)};
            qInfo("%s: exact W1 to the data %.3f -> %.3f after 400 iterations", toString(precision), before,
                  w1[precision].second);
        }
        const auto [before32, after32] = w1[Precision::Fp32];
        const auto [before16, after16] = w1[Precision::Bf16];
        QCOMPARE(before16, before32);  // same initial G
        QVERIFY2(after32 * 3 <= before32, qPrintable(QString("fp32 %1 -> %2").arg(before32).arg(after32)));
        QVERIFY2(after16 * 3 <= before16, qPrintable(QString("bf16 %1 -> %2").arg(before16).arg(after16)));
        QVERIFY2(after16 <= 1.5 * after32 + 0.05, qPrintable(QString("bf16 %1 vs fp32 %2").arg(after16).arg(after32)));
        QVERIFY2(after16 != after32, "bf16 and fp32 runs are identical: the trainer did not use bf16");
    }

    // An fp32 scope inside a bf16 one computes in fp32 (the trainer's evaluation must not inherit a caller's
    // autocast), and leaving each scope restores the state it found.
    void scopesNestAndRestore() {
        torch::nn::Linear linear(16, 8);
        const torch::Tensor x = torch::randn({4, 16});
        {
            AutocastScope outer(Precision::Bf16, torch::kCPU);
            QCOMPARE(linear->forward(x).scalar_type(), torch::kBFloat16);
            {
                AutocastScope inner(Precision::Fp32, torch::kCPU);
                QCOMPARE(linear->forward(x).scalar_type(), torch::kFloat);
            }
            QCOMPARE(linear->forward(x).scalar_type(), torch::kBFloat16);
        }
        QCOMPARE(linear->forward(x).scalar_type(), torch::kFloat);
    }

    void settingsAreValidated() {
        QCOMPARE(resolvePrecision("auto", torch::kCPU), Precision::Fp32);
        QCOMPARE(resolvePrecision("bf16", torch::kCPU), Precision::Bf16);
        QCOMPARE(resolvePrecision("fp32", torch::kCPU), Precision::Fp32);
        QVERIFY_EXCEPTION_THROWN(resolvePrecision("fp16", torch::kCPU), Error);
        QVERIFY_EXCEPTION_THROWN(resolvePrecision("", torch::kCPU), Error);
        QVERIFY(bf16Warning(Precision::Fp32, torch::kCPU).empty());
        QCOMPARE(bf16Warning(Precision::Bf16, torch::kCPU).empty(), cpuHasBf16Instructions());
    }
};

COALESCE_TEST_APPLESS_MAIN(TestMixedPrecision)
#include "test_mixed_precision.moc"
