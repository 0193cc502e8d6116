// The feature net (tiny smoke training, checkpoint round trip, cache), the evaluation protocol JSON, the
// Evaluator (determinism, matched vs mismatched samples, toy mode) and the "evaluate" /
// "evaluator-train" jobs. Data: small synthetic IDX files written here, so no dataset package is needed.
#include "support/test_main.h"  // Qt Test, and the suite registration
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/checkpoint.h"
#include "jobs/job_factory.h"
#include "metrics/evaluator.h"
#include "metrics/feature_net.h"
#include "support/test_support.h"
#include "support/error_of.h"

using namespace coalesce;
using nlohmann::json;

using coalesce::test::expectError;
using coalesce::test::writeBigEndian32;

namespace {

// Three easily told-apart classes of 28×28 images: horizontal stripes, vertical stripes, a centred blob,
// each with random phase/size and noise. Written as uncompressed IDX files; returns the dataset spec.
std::string writeSyntheticIdx(const std::string& dir, const std::string& stem, int count, uint64_t seed) {
    torch::manual_seed(seed);
    auto images = torch::zeros({count, 28, 28});
    auto labels = torch::arange(count, torch::kLong).remainder(3);
    auto grid = torch::arange(28, torch::kFloat);
    for (int i = 0; i < count; ++i) {
        const float phase = torch::rand({1}).item<float>() * 6.28f, period = 3.0f + torch::rand({1}).item<float>() * 3;
        torch::Tensor img;
        switch (labels[i].item<int64_t>()) {
        case 0: img = torch::sin(grid / period + phase).unsqueeze(1).expand({28, 28}); break;
        case 1: img = torch::sin(grid / period + phase).unsqueeze(0).expand({28, 28}); break;
        default: {
            auto r2 = (grid - 13.5).pow(2).unsqueeze(1) + (grid - 13.5).pow(2).unsqueeze(0);
            img = torch::exp(-r2 / (2 * period * period * 4)) * 2 - 1;
        }
        }
        images[i] = (img + torch::randn({28, 28}) * 0.2).clamp(-1, 1);
    }
    auto bytes = ((images + 1) * 127.5).round().clamp(0, 255).to(torch::kUInt8).contiguous();
    const auto imagesPath = dir + "/" + stem + "-images-idx3-ubyte", labelsPath = dir + "/" + stem + "-labels-idx1-ubyte";
    std::ofstream im(imagesPath, std::ios::binary), lb(labelsPath, std::ios::binary);
    writeBigEndian32(im, 0x00000803);
    for (uint32_t d : {static_cast<uint32_t>(count), 28u, 28u}) writeBigEndian32(im, d);
    im.write(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()), bytes.numel());
    writeBigEndian32(lb, 0x00000801);
    writeBigEndian32(lb, static_cast<uint32_t>(count));
    auto lbytes = labels.to(torch::kUInt8).contiguous();
    lb.write(reinterpret_cast<const char*>(lbytes.data_ptr<uint8_t>()), lbytes.numel());
    return "idx:" + imagesPath + ":" + labelsPath;
}

FeatureNetTraining tinyTraining() {
    FeatureNetTraining t;
    t.epochs = 2;
    t.batchSize = 32;
    t.seed = 5;
    return t;
}

}  // namespace

class TestMetricsEvaluator : public QObject {
    Q_OBJECT

    std::string dir_, trainSpec_, testSpec_, cacheDir_;

private Q_SLOTS:
    void initTestCase() {
        torch::set_num_threads(2);
        dir_ = test::scratchDir("evaluator");
        trainSpec_ = writeSyntheticIdx(dir_, "train", 360, 1);
        testSpec_ = writeSyntheticIdx(dir_, "test", 300, 2);
        cacheDir_ = dir_ + "/cache";
    }

    void protocolJsonRoundTripsAndRejectsBadFields() {
        EvaluationProtocol p;
        p.reference = "fashion-mnist:test:0,1";
        p.realSamples = 500;
        p.featureNetTraining.epochs = 3;
        const auto back = EvaluationProtocol::fromJson(p.toJson());
        QCOMPARE(back.toJson().dump(), p.toJson().dump());
        QCOMPARE(EvaluationProtocol::fromJson(json::object()).toJson().dump(), EvaluationProtocol().toJson().dump());
        QCOMPARE(p.featureNetTrainingData(), std::string("fashion-mnist:train"));
        expectError([] { EvaluationProtocol::fromJson({{"real_sample", 10}}); }, "unknown field \"real_sample\"");
        expectError([] { EvaluationProtocol::fromJson({{"fake_samples", "many"}}); }, "\"fake_samples\" must be an integer");
        expectError([] { EvaluationProtocol::fromJson({{"real_samples", 15}}); }, "kid_subsets");
        expectError([] { EvaluationProtocol::fromJson({{"features", "inception"}}); }, "\"features\"");
        expectError([] { EvaluationProtocol::fromJson({{"feature_net_training", {{"epochs", 0}}}}); }, "epochs");
        EvaluationProtocol folder;
        folder.reference = "folder:/data/cats";
        expectError([&] { folder.featureNetTrainingData(); }, "feature_net_data");
        QCOMPARE(testSplitFor("fashion-mnist:train:8,9"), std::string("fashion-mnist:test:8,9"));
        QCOMPARE(testSplitFor("folder:/x"), std::string());
    }

    void featureNetTrainsCachesAndReloads() {
        FeatureNetRequest request;
        request.trainData = trainSpec_;
        request.testData = testSpec_;
        request.training = tinyTraining();
        request.cacheDir = cacheDir_;
        auto trained = obtainFeatureNet(request);
        const std::string path = trained.info["path"].get<std::string>();
        QVERIFY(std::filesystem::exists(path));
        QVERIFY2(trained.info["test_accuracy"].get<double>() > 0.9, trained.info.dump().c_str());
        QCOMPARE(trained.net->spec().classes, 3);
        // The second request is a cache hit: same file, same features, no retraining.
        const auto modified = std::filesystem::last_write_time(path);
        auto cached = obtainFeatureNet(request);
        QCOMPARE(std::filesystem::last_write_time(path), modified);
        auto images = torch::rand({7, 1, 32, 32}) * 2 - 1;
        QVERIFY(torch::equal(extractFeatures(trained.net, images), extractFeatures(cached.net, images)));
        QCOMPARE(extractFeatures(cached.net, images).sizes().vec(), (std::vector<int64_t>{7, 128}));
        // Another recipe is another cache entry.
        QVERIFY(featureNetCachePath(cacheDir_, "h", trained.net->spec(), tinyTraining()) !=
                featureNetCachePath(cacheDir_, "h", trained.net->spec(), FeatureNetTraining{}));
        const auto info = describeFeatureNetCache(cacheDir_);
        QCOMPARE(info["nets"].size(), size_t{1});
        // A file that is not a feature net is refused with its name.
        expectError([&] { loadFeatureNet(dir_ + "/train-images-idx3-ubyte"); }, "train-images-idx3-ubyte");
        expectError([&] { extractFeatures(cached.net, torch::rand({2, 3, 32, 32})); }, "feature net: expected images");
    }

    void evaluatorSeparatesMatchedFromMismatchedSamples() {
        EvaluationProtocol p;
        p.reference = testSpec_ + ":0";  // class 0 of the held-out set (100 images)
        p.realSamples = 60;
        p.fakeSamples = 40;
        p.kidSubsets = 4;
        p.diversitySamples = 20;
        p.featureNetData = trainSpec_;
        p.featureNetTraining = tinyTraining();
        EvaluatorOptions options;
        options.cacheDir = cacheDir_;
        Evaluator evaluator(p, ArchSpec::preset("dcgan32", "small", 1), options);
        QVERIFY(evaluator.usesFeatureNet());
        QCOMPARE(evaluator.referenceSamples().size(0), int64_t{60});

        LoadOptions load;
        auto sameClass = loadDataset(trainSpec_ + ":0", load).samples.slice(0, 0, 40);
        auto otherClass = loadDataset(trainSpec_ + ":1", load).samples.slice(0, 0, 40);
        auto matched = evaluator.evaluateSamples(sameClass).metrics;
        auto mismatched = evaluator.evaluateSamples(otherClass).metrics;
        for (const char* key : {"fid", "kid", "w1", "w1_features", "sliced_w1"})
            QVERIFY2(matched[key] < mismatched[key], key);
        QVERIFY(matched["precision"] > mismatched["precision"]);
        QVERIFY(matched["recall"] > mismatched["recall"]);
        for (const char* key : {"fid", "kid", "kid_se", "w1", "w1_features", "sliced_w1", "precision", "recall",
                                "diversity", "diversity_reference"})
            QVERIFY2(matched.count(key) && std::isfinite(matched[key]), key);
        expectError([&] { evaluator.evaluateSamples(torch::rand({10, 3, 32, 32})); }, "fake samples must have shape");

        // Scoring a generator: fixed latents make it deterministic, and G's training mode is restored.
        torch::manual_seed(3);
        Generator g(ArchSpec::preset("dcgan32", "small", 1));
        g->train();
        auto first = evaluator.evaluate(g), second = evaluator.evaluate(g);
        QCOMPARE(json(first.metrics).dump(), json(second.metrics).dump());
        QVERIFY(g->is_training());
        QVERIFY(first.seconds.count("total"));
        QVERIFY(torch::equal(evaluator.fixedLatents(5, 1), evaluator.fixedLatents(5, 1)));
        QVERIFY(!torch::equal(evaluator.fixedLatents(5, 1), evaluator.fixedLatents(5, 2)));
    }

    void toyModeUsesThePointsThemselves() {
        EvaluationProtocol p;
        p.reference = "toy:ring8:400:1";
        p.realSamples = 200;
        p.fakeSamples = 200;
        Evaluator evaluator(p, ArchSpec::preset("mlp2d"), {});
        QVERIFY(!evaluator.usesFeatureNet());
        auto exact = evaluator.evaluateSamples(evaluator.referenceSamples()).metrics;
        QVERIFY(exact["w1"] < 1e-6);
        QVERIFY(exact["fid"] < 1e-6);
        QCOMPARE(exact["precision"], 1.0);
        QCOMPARE(exact["recall"], 1.0);
        QVERIFY(!exact.count("w1_features"));
        // A translated copy: exact W1 in data space is the shift.
        auto shifted = evaluator.evaluateSamples(evaluator.referenceSamples() + torch::tensor({0.3f, -0.4f})).metrics;
        QVERIFY(std::fabs(shifted["w1"] - 0.5) < 1e-5);
        expectError([&] { Evaluator(p, ArchSpec::preset("dcgan32", "small", 1), {}); }, "shape");
    }

    void evaluateAndEvaluatorTrainJobs() {
        // A toy generator file scored by the job, metrics written to JSON.
        Checkpoint ck;
        ck.arch = ArchSpec::preset("mlp2d");
        torch::manual_seed(4);
        Generator g(ck.arch);
        storeModule(ck, "generator", *g);
        const auto generatorPath = dir_ + "/toy.coalesce", output = dir_ + "/eval.json";
        saveCheckpoint(generatorPath, ck);
        json config = {{"kind", "evaluate"}, {"generator", generatorPath}, {"output", output},
                       {"protocol", {{"reference", "toy:ring8:300"}, {"real_samples", 100}, {"fake_samples", 100}}},
                       {"runtime", {{"threads", 2}, {"device", "cpu"}}}};
        auto job = createJob(config);
        QCOMPARE(job->kind(), std::string("evaluate"));
        struct Collect : JobObserver {
            std::map<std::string, double> metrics;
            void onMetric(const std::string& name, std::int64_t, double value) override { metrics[name] = value; }
        } observer;
        CancelToken cancel;
        auto result = job->run(observer, cancel);
        QVERIFY2(result.status == JobResult::Status::Finished, result.message.c_str());
        QVERIFY(observer.metrics.count("eval/w1") && observer.metrics.count("eval/fid"));
        std::ifstream in(output);
        const auto written = json::parse(in);
        QCOMPARE(written["metrics"]["w1"].get<double>(), result.summary["metrics"]["w1"].get<double>());
        QCOMPARE(written["protocol"]["reference"].get<std::string>(), std::string("toy:ring8:300"));

        expectError([] { createJob({{"kind", "evaluate"}}); }, "\"generator\"");
        expectError([&] { createJob({{"kind", "evaluate"}, {"generator", "x"}, {"protocl", json::object()}}); }, "protocl");
        auto missing = createJob({{"kind", "evaluate"}, {"generator", dir_ + "/nope.coalesce"}});
        auto failed = missing->run(observer, cancel);
        QVERIFY(failed.status == JobResult::Status::Failed);
        QVERIFY2(failed.message.find("nope.coalesce") != std::string::npos, failed.message.c_str());

        // evaluator-train reuses the cached tiny net of the earlier test (same data and recipe).
        auto train = createJob({{"kind", "evaluator-train"}, {"data", trainSpec_}, {"test_data", testSpec_},
                                {"training", tinyTraining().toJson()}, {"cache_dir", cacheDir_}});
        auto trained = train->run(observer, cancel);
        QVERIFY2(trained.status == JobResult::Status::Finished, trained.message.c_str());
        QVERIFY(std::filesystem::exists(trained.summary["path"].get<std::string>()));
        QVERIFY(trained.summary["test_accuracy"].get<double>() > 0.9);
    }
};

COALESCE_TEST_APPLESS_MAIN(TestMetricsEvaluator)
#include "test_metrics_evaluator.moc"
