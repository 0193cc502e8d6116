// Architecture specs and the generator/critic networks: shapes, parameter counts of the paper's nets,
// JSON round trip and validation errors; the Conv2d formulation of the transposed convolutions against
// torch's conv_transpose2d (outputs and gradients).
#include "support/test_main.h"  // Qt Test, and the suite registration
#include <torch/torch.h>

#include "core/error.h"
#include "models/networks.h"
#include "models/transposed_conv.h"

using namespace coalesce;

class TestModels : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void paperGeneratorHasThePapersParameterCount() {
        // The reference's MNIST G has 3.87 M parameters and D 0.66 M (reference-implementation.md §1.7).
        auto spec = ArchSpec::preset("dcgan32", "paper", 1);
        Generator g(spec);
        Critic d(spec);
        // ConvT weights in·out·16 + biases, BN affine 2·width, per layer:
        const int64_t expected = (100 * 1024 * 16 + 1024) + 2 * 1024 + (1024 * 128 * 16 + 128) + 2 * 128 +
                                 (128 * 64 * 16 + 64) + 2 * 64 + (64 * 1 * 16 + 1);
        QCOMPARE(parameterCount(*g), expected);
        QVERIFY(std::abs(parameterCount(*g) - 3'870'000) < 10'000);
        QVERIFY(std::abs(parameterCount(*d) - 660'000) < 10'000);
    }
    void shapesFlowThrough() {
        for (int c : {1, 3}) {
            auto spec = ArchSpec::preset("dcgan32", "small", c);
            Generator g(spec);
            Critic d(spec);
            auto x = g->forward(g->sampleLatent(5));
            QCOMPARE(x.sizes().vec(), (std::vector<int64_t>{5, c, 32, 32}));
            QVERIFY(x.abs().max().item<float>() <= 1.0f);
            QCOMPARE(d->forward(x).sizes().vec(), (std::vector<int64_t>{5}));
        }
        auto toy = ArchSpec::preset("mlp2d");
        Generator g(toy);
        QCOMPARE(g->forward(g->sampleLatent(7)).sizes().vec(), (std::vector<int64_t>{7, 2}));
    }
    // The paper's CIFAR and LSUN nets (reference code: CIFAR G 1024-512-256 / D 256-512-1024; LSUN
    // G 1024-512-256-128 / D 128-256-512-1024, 64×64), counted layer by layer from the widths.
    void cifarAndLsunPresetsHaveThePapersShapes() {
        auto generatorCount = [](int z, const std::vector<int>& widths, int channels) {
            int64_t n = 0, in = z;
            for (int w : widths) {
                n += in * w * 16 + w + 2 * w;  // ConvT weight + bias, BN affine
                in = w;
            }
            return n + in * channels * 16 + channels;
        };
        auto criticCount = [](const std::vector<int>& widths, int channels) {
            int64_t n = 0, in = channels;
            for (int w : widths) {
                n += in * w * 16 + w + 2 * w;  // Conv weight + bias, InstanceNorm affine
                in = w;
            }
            return n + in * 16 + 1;
        };
        struct ModelCase {
            const char* family;
            const char* preset;
            int side;
            std::vector<int> g, d;
        };
        for (const ModelCase& c : {ModelCase{"dcgan32", "cifar", 32, {1024, 512, 256}, {256, 512, 1024}},
                              ModelCase{"dcgan64", "lsun", 64, {1024, 512, 256, 128}, {128, 256, 512, 1024}},
                              ModelCase{"dcgan64", "paper", 64, {1024, 512, 256, 128}, {128, 256, 512, 1024}},
                              ModelCase{"dcgan64", "small", 64, {256, 128, 64, 32}, {32, 64, 128, 256}}}) {
            const auto spec = ArchSpec::preset(c.family, c.preset, 3);
            QCOMPARE(spec.imageSize, c.side);
            QCOMPARE(spec.generatorWidths, c.g);
            QCOMPARE(spec.criticWidths, c.d);
            Generator g(spec);
            Critic d(spec);
            QCOMPARE(parameterCount(*g), generatorCount(100, c.g, 3));
            QCOMPARE(parameterCount(*d), criticCount(c.d, 3));
            torch::NoGradGuard noGrad;
            auto x = g->forward(g->sampleLatent(2));
            QCOMPARE(x.sizes().vec(), (std::vector<int64_t>{2, 3, c.side, c.side}));
            QCOMPARE(d->forward(x).sizes().vec(), (std::vector<int64_t>{2}));
        }
        // A family's image size and number of widths are part of it: a dcgan64 spec with three
        // widths or image_size 32 is refused with the reason.
        auto j = ArchSpec::preset("dcgan64", "small", 1).toJson();
        j["generator_widths"] = {64, 32, 16};
        QVERIFY_THROWS_EXCEPTION(Error, ArchSpec::fromJson(j));
        j = ArchSpec::preset("dcgan64", "small", 1).toJson();
        j["image_size"] = 32;
        try {
            ArchSpec::fromJson(j);
            QFAIL("expected an error");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("64×64") != std::string::npos, e.what());
        }
        try {
            ArchSpec::preset("dcgan64", "cifar", 3);
            QFAIL("expected an error");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("lsun") != std::string::npos, e.what());  // lists the valid ones
        }
    }
    void parameterNamesMatchPythonSequential() {
        Generator g(ArchSpec::preset("dcgan32", "small", 1));
        auto names = g->named_parameters().keys();
        QVERIFY(std::find(names.begin(), names.end(), "net.0.weight") != names.end());
        QVERIFY(std::find(names.begin(), names.end(), "net.1.weight") != names.end());  // BN affine
        auto buffers = g->named_buffers().keys();
        QVERIFY(std::find(buffers.begin(), buffers.end(), "net.1.running_mean") != buffers.end());
    }
    void specJsonRoundTripAndValidation() {
        auto spec = ArchSpec::preset("dcgan32", "paper", 3);
        QVERIFY(ArchSpec::fromJson(spec.toJson()) == spec);
        auto bad = spec.toJson();
        bad["channels"] = 2;
        QVERIFY_THROWS_EXCEPTION(Error, ArchSpec::fromJson(bad));
        bad = spec.toJson();
        bad.erase("generator_widths");
        try {
            ArchSpec::fromJson(bad);
            QFAIL("expected an error");
        } catch (const Error& e) {
            QVERIFY(std::string(e.what()).find("generator_widths") != std::string::npos);
        }
        QVERIFY_THROWS_EXCEPTION(Error, ArchSpec::preset("resnet", "small"));
    }
    void transposedConvEqualsTorchsInValueAndGradient() {
        // Ground truth: torch::conv_transpose2d (the op the fast path replaces). Cases: the latent
        // projection (1×1 input, stride 1), the upsampling layers (k4 s2 p1) at dcgan32's sizes, odd
        // sizes, no bias, and configurations that must fall back (stride 3, padding 2).
        struct ModelCase { int64_t batch, in, out, h, w, k, stride, padding; bool bias; };
        const ModelCase cases[] = {{3, 100, 32, 1, 1, 4, 1, 0, true}, {3, 32, 16, 4, 4, 4, 2, 1, true},
                              {2, 16, 8, 8, 8, 4, 2, 1, true},    {2, 8, 3, 16, 16, 4, 2, 1, false},
                              {2, 5, 4, 5, 7, 4, 2, 1, true},     {2, 5, 4, 5, 5, 4, 3, 1, true},
                              {2, 5, 4, 5, 5, 4, 2, 2, true},     {2, 5, 4, 1, 1, 3, 1, 0, true}};
        torch::manual_seed(3);
        for (const auto& c : cases) {
            auto x = torch::randn({c.batch, c.in, c.h, c.w}, torch::kDouble).requires_grad_();
            auto w = torch::randn({c.in, c.out, c.k, c.k}, torch::kDouble).requires_grad_();
            auto b = c.bias ? torch::randn({c.out}, torch::kDouble).requires_grad_() : torch::Tensor();
            auto upstream = torch::randn_like(torch::conv_transpose2d(x, w, b, c.stride, c.padding));
            auto expected = torch::conv_transpose2d(x, w, b, c.stride, c.padding);
            auto expectedGrads = torch::autograd::grad({(expected * upstream).sum()}, c.bias ? std::vector<torch::Tensor>{x, w, b} : std::vector<torch::Tensor>{x, w});
            for (auto algorithm : {TransposedConvAlgorithm::SubPixel, TransposedConvAlgorithm::Auto}) {
                auto got = transposedConv2d(x, w, b, c.stride, c.padding, algorithm);
                QCOMPARE(got.sizes().vec(), expected.sizes().vec());
                QVERIFY2(torch::allclose(got, expected, 1e-10, 1e-10), qPrintable(QString("case in=%1 h=%2 s=%3").arg(c.in).arg(c.h).arg(c.stride)));
                auto grads = torch::autograd::grad({(got * upstream).sum()}, c.bias ? std::vector<torch::Tensor>{x, w, b} : std::vector<torch::Tensor>{x, w});
                for (size_t i = 0; i < grads.size(); ++i) QVERIFY(torch::allclose(grads[i], expectedGrads[i], 1e-10, 1e-10));
            }
        }
    }
    void generatorForwardMatchesTheSequentialsOwn() {
        // GeneratorImpl::forward walks the layers itself; the Sequential's forward is the reference.
        for (const char* preset : {"small", "paper"}) {
            Generator g(ArchSpec::preset("dcgan32", preset, 1));
            g->eval();
            auto z = g->sampleLatent(4);
            auto expected = g->net->forward(z.view({4, -1, 1, 1}));
            QVERIFY(torch::allclose(g->forward(z), expected, 1e-5, 1e-5));
        }
    }
    void generatorRejectsWrongLatentSize() {
        Generator g(ArchSpec::preset("dcgan32", "small", 1));
        QVERIFY_THROWS_EXCEPTION(Error, g->forward(torch::randn({2, 7})));
    }
};

COALESCE_TEST_APPLESS_MAIN(TestModels)
#include "test_models.moc"
