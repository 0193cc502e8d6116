// Architecture specs and the generator/critic networks: shapes, parameter counts of the paper's nets,
// JSON round trip and validation errors.
#include <QtTest/QtTest>
#include <torch/torch.h>

#include "core/error.h"
#include "models/networks.h"

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
    void generatorRejectsWrongLatentSize() {
        Generator g(ArchSpec::preset("dcgan32", "small", 1));
        QVERIFY_THROWS_EXCEPTION(Error, g->forward(torch::randn({2, 7})));
    }
};

QTEST_APPLESS_MAIN(TestModels)
#include "test_models.moc"
