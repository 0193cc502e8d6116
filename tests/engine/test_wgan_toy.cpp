// The multi-critic WGAN-GP trainer (train/multi_critic_trainer.h) in the 2-D toy mode:
//  * training moves the generator toward the data: exact W1 (metrics/optimal_transport.h, network
//    simplex) between 500 generated points and 500 data points (four Gaussians at (±2, ±2)) drops by at
//    least 3× in 500 iterations at lr 1e-3 (measured: 2.81 → 0.35, 8.0×; other seeds gave 4.3–7.5×);
//  * batch clamp, metric names, previews; cancel honoured within one iteration (and a cancel in the
//    middle of an iteration never checkpoints the half-done state);
//  * resume is exact: 6 + 6 iterations with a checkpoint in between equal 12 uninterrupted iterations
//    bit for bit (3 sources: dataset, online generator, frozen sample set; constrained weights);
//  * NaN divergence stops training with a clear error and leaves the last good checkpoint intact;
//  * λ modes (critic_weights.h) against hand-computed values.
#include "support/test_main.h"  // Qt Test, and the suite registration
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#include <torch/torch.h>

#include "core/error.h"
#include "io/checkpoint.h"
#include "metrics/optimal_transport.h"
#include "run/run_directory.h"
#include "support/test_support.h"
#include "train/critic_weights.h"
#include "train/multi_critic_trainer.h"
#include "train/sample_source.h"

using namespace coalesce;
namespace fs = std::filesystem;


using coalesce::test::exactW1ToData;
namespace {

using coalesce::test::fourGaussians;


ArchSpec smallToySpec() {
    ArchSpec s = ArchSpec::preset("mlp2d");
    s.generatorWidths = {32, 32};
    s.criticWidths = {32, 32};
    return ArchSpec::fromJson(s.toJson());
}

TrainerOptions quickOptions(int64_t iterations) {
    TrainerOptions o;
    o.iterations = iterations;
    o.batchSize = 32;
    o.sampleEvery = 0;
    o.checkpointEvery = 0;
    o.seed = 5;
    return o;
}

std::vector<CriticSource> datasetSource(const Dataset& d) {
    std::vector<CriticSource> s;
    s.push_back({"data", std::make_unique<DatasetSource>(d)});
    return s;
}

struct ToyRecorder : JobObserver {
    std::map<std::string, std::vector<std::pair<int64_t, double>>> metrics;
    std::vector<std::pair<int64_t, ImageU8>> images;
    std::vector<int64_t> progress, checkpoints;
    CancelToken* cancel = nullptr;
    int64_t cancelAtProgress = -1;
    void onProgress(int64_t done, int64_t, const std::string&) override {
        progress.push_back(done);
        if (cancel && done == cancelAtProgress) cancel->requestCancel();
    }
    void onMetric(const std::string& name, int64_t step, double value) override { metrics[name].push_back({step, value}); }
    void onImage(const std::string&, int64_t step, const ImageU8& image) override { images.push_back({step, image}); }
    void onCheckpoint(int64_t step, const std::string&) override { checkpoints.push_back(step); }
};

// A dataset source with a trap: after `afterCalls` batches it returns NaN (divergence) or requests a
// cancel (a cancel arriving in the middle of an iteration).
class TrapSource : public DatasetSource {
public:
    TrapSource(Dataset d, int64_t afterCalls, CancelToken* cancel)
        : DatasetSource(std::move(d)), afterCalls_(afterCalls), cancel_(cancel) {}
    torch::Tensor next() override {
        torch::Tensor batch = DatasetSource::next();
        if (++calls_ > afterCalls_) {
            if (cancel_) cancel_->requestCancel();
            else batch.fill_(std::nan(""));
        }
        return batch;
    }

private:
    int64_t afterCalls_, calls_ = 0;
    CancelToken* cancel_;
};

bool sameParameters(const torch::nn::Module& a, const torch::nn::Module& b) {
    auto pa = a.named_parameters(true), pb = b.named_parameters(true);
    for (const auto& item : pa)
        if (!torch::equal(item.value(), pb[item.key()])) return false;
    auto ba = a.named_buffers(true), bb = b.named_buffers(true);
    for (const auto& item : ba)
        if (!torch::equal(item.value(), bb[item.key()])) return false;
    return true;
}

}  // namespace

class TestWganToy : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(1); }

    void trainingMovesSamplesTowardTheData() {
        Dataset data = fourGaussians(2000, 1);
        torch::manual_seed(3);
        Generator g(ArchSpec::preset("mlp2d"));  // the toy mode's default nets (3×128)
        const double before = exactW1ToData(g, data, 500);
        TrainerOptions o = quickOptions(500);
        o.batchSize = 64;
        o.lrGenerator = o.lrCritic = 1e-3;  // the toy mode's learning rate (1e-4 needs thousands of iterations)
        o.seed = 3;
        MultiCriticTrainer trainer(g, datasetSource(data), {}, o, torch::kCPU);
        ToyRecorder rec;
        CancelToken cancel;
        trainer.train(rec, cancel);
        const double after = exactW1ToData(g, data, 500);
        qInfo("exact W1(generated, data), 500 vs 500 points: %.3f before, %.3f after 500 iterations (%.1f×)", before,
              after, before / after);
        QVERIFY2(after * 3.0 <= before, qPrintable(QString("W1 only went from %1 to %2").arg(before).arg(after)));
        QCOMPARE(trainer.step(), int64_t{500});
        QCOMPARE(rec.progress.back(), int64_t{500});
    }

    void batchIsClampedAndMetricsAndPreviewsAreReported() {
        Dataset small = fourGaussians(10, 2), large = fourGaussians(200, 3);
        torch::manual_seed(1);
        Generator g(smallToySpec());
        torch::manual_seed(2);
        Generator other(smallToySpec());
        std::vector<CriticSource> sources;
        sources.push_back({"small", std::make_unique<DatasetSource>(small)});
        sources.push_back({"online", std::make_unique<GeneratorSource>(other, "other")});
        sources.push_back({"large", std::make_unique<DatasetSource>(large)});
        CriticWeightOptions w;
        w.radii = {1.0, 2.0, 4.0};
        TrainerOptions o = quickOptions(4);
        o.sampleEvery = 2;
        MultiCriticTrainer trainer(g, std::move(sources), w, o, torch::kCPU);
        QCOMPARE(trainer.batchSize(), int64_t{10});
        // λ ∝ 1/η, normalised: (4, 2, 1) / 7.
        QVERIFY(std::fabs(trainer.lambdas()[0] - 4.0 / 7) < 1e-12 && std::fabs(trainer.lambdas()[2] - 1.0 / 7) < 1e-12);
        ToyRecorder rec;
        CancelToken cancel;
        trainer.train(rec, cancel);
        for (const char* name : {"loss_d/0", "loss_d/2", "gp/1", "w_hat/0", "w_hat/2", "lambda/1", "eta/2", "loss_g"})
            QVERIFY2(rec.metrics[name].size() == 4, name);
        QCOMPARE(rec.metrics["lambda/1"].back().second, 2.0 / 7);
        QCOMPARE(rec.metrics["eta/2"].back().second, 4.0);
        // Previews at steps 0, 2 and 4: scatter plots, 256×256 RGB.
        QCOMPARE(rec.images.size(), size_t{3});
        QCOMPARE(rec.images.back().first, int64_t{4});
        QCOMPARE(rec.images.back().second.width, 256);
        QCOMPARE(rec.images.back().second.channels, 3);
    }

    // The per-phase wall times: every phase of the loop is charged, an evaluator that sleeps 30 ms per call
    // shows up under "evaluation" (3 calls: steps 0, 3 and 6), the phases add up to no more than the wall
    // time of train(), and timing.json in the run directory holds the same figures.
    void phaseTimesAccountForTheRun() {
        Dataset data = fourGaussians(200, 4);
        torch::manual_seed(4);
        Generator g(smallToySpec());
        TrainerOptions o = quickOptions(6);
        o.sampleEvery = 2;
        o.checkpointEvery = 3;
        MultiCriticTrainer trainer(g, datasetSource(data), {}, o, torch::kCPU);
        RunDirectory dir(coalesce::test::scratchDir("toy_phases"), Json::object(), false);
        trainer.setRunDirectory(&dir);
        trainer.addEvaluator(3, [](int64_t, Generator&, JobObserver&) { std::this_thread::sleep_for(std::chrono::milliseconds(30)); },
                             /*atStart=*/true);
        ToyRecorder rec;
        CancelToken cancel;
        const auto start = std::chrono::steady_clock::now();
        trainer.train(rec, cancel);
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const auto& phases = trainer.phaseSeconds();
        double sum = 0;
        for (const char* phase : {"source batches", "critic steps", "generator steps", "metrics", "sample grids",
                                  "evaluation", "checkpoints"}) {
            QVERIFY2(phases.count(phase) && phases.at(phase) > 0, phase);
            sum += phases.at(phase);
        }
        QCOMPARE(phases.size(), size_t{7});
        QVERIFY2(phases.at("evaluation") >= 0.09 && phases.at("evaluation") < 0.09 + 0.5 * wall,
                 qPrintable(QString::number(phases.at("evaluation"))));
        QVERIFY2(sum <= wall, qPrintable(QString("phases %1 s, train() %2 s").arg(sum).arg(wall)));
        std::ifstream in(dir.path() + "/timing.json");
        const Json timing = Json::parse(in);
        QCOMPARE(timing["steps"].get<int64_t>(), int64_t{6});
        QCOMPARE(timing["seconds"]["evaluation"].get<double>(), phases.at("evaluation"));
    }

    // A resumed run's phase times (and timing.json) include the time before its checkpoint: the first
    // segment's evaluations (steps 0 and 3, 30 ms each) plus the second's (step 6).
    void phaseTimesCarryOverAResume() {
        Dataset data = fourGaussians(200, 4);
        const auto slowEvaluator = [](int64_t, Generator&, JobObserver&) { std::this_thread::sleep_for(std::chrono::milliseconds(30)); };
        RunDirectory dir(coalesce::test::scratchDir("toy_phases_resume"), Json::object(), false);
        // One run cut in two: checkpoints and the slow evaluator every 3 steps, from step 0.
        auto trainerFor = [&](int64_t iterations) {
            torch::manual_seed(4);
            TrainerOptions o = quickOptions(iterations);
            o.checkpointEvery = 3;
            auto trainer = std::make_unique<MultiCriticTrainer>(Generator(smallToySpec()), datasetSource(data),
                                                                CriticWeightOptions{}, o, torch::kCPU);
            trainer->setRunDirectory(&dir);
            trainer->addEvaluator(3, slowEvaluator, /*atStart=*/true);
            return trainer;
        };
        ToyRecorder rec;
        CancelToken cancel;
        auto first = trainerFor(3);
        first->train(rec, cancel);
        const double firstSegment = first->phaseSeconds().at("evaluation");
        QVERIFY2(firstSegment >= 0.06, qPrintable(QString::number(firstSegment)));
        first.reset();
        auto second = trainerFor(6);
        second->restore(loadCheckpoint(dir.latestCheckpointPath()), dir.latestCheckpointPath());
        second->train(rec, cancel);
        const double total = second->phaseSeconds().at("evaluation");
        QVERIFY2(total >= firstSegment + 0.03 && total < firstSegment + 0.5,
                 qPrintable(QString("first segment %1 s, whole run %2 s").arg(firstSegment).arg(total)));
        std::ifstream in(dir.path() + "/timing.json");
        const Json timing = Json::parse(in);
        QCOMPARE(timing["steps"].get<int64_t>(), int64_t{6});
        QCOMPARE(timing["seconds"]["evaluation"].get<double>(), total);
    }

    void cancelIsHonouredBetweenIterationsAndCheckpoints() {
        const std::string dirPath = coalesce::test::scratchDir("toy_cancel");
        RunDirectory dir(dirPath, Json::object(), false);
        torch::manual_seed(1);
        Generator g(smallToySpec());
        MultiCriticTrainer trainer(g, datasetSource(fourGaussians(100, 4)), {}, quickOptions(50), torch::kCPU);
        trainer.setRunDirectory(&dir);
        CancelToken cancel;
        ToyRecorder rec;
        rec.cancel = &cancel;
        rec.cancelAtProgress = 3;
        QVERIFY_THROWS_EXCEPTION(Cancelled, trainer.train(rec, cancel));
        QCOMPARE(trainer.step(), int64_t{3});  // no further iteration started after the request
        QCOMPARE(rec.checkpoints, std::vector<int64_t>{3});
        Checkpoint c = loadCheckpoint(dir.latestCheckpointPath());
        QCOMPARE(c.meta["step"].get<int64_t>(), int64_t{3});
    }

    void cancelInsideAnIterationKeepsTheLastCheckpoint() {
        const std::string dirPath = coalesce::test::scratchDir("toy_cancel_mid");
        RunDirectory dir(dirPath, Json::object(), false);
        torch::manual_seed(1);
        Generator g(smallToySpec());
        CancelToken cancel;
        // 5 batches per iteration: the 18th batch is drawn in iteration 4, which must not complete.
        std::vector<CriticSource> sources;
        sources.push_back({"trap", std::make_unique<TrapSource>(fourGaussians(100, 4), 17, &cancel)});
        TrainerOptions o = quickOptions(50);
        o.checkpointEvery = 2;
        MultiCriticTrainer trainer(g, std::move(sources), {}, o, torch::kCPU);
        trainer.setRunDirectory(&dir);
        ToyRecorder rec;
        QVERIFY_THROWS_EXCEPTION(Cancelled, trainer.train(rec, cancel));
        QCOMPARE(trainer.step(), int64_t{3});
        QCOMPARE(rec.checkpoints, std::vector<int64_t>{2});
        QVERIFY(!fs::exists(dir.checkpointPath(3)));
        QCOMPARE(loadCheckpoint(dir.latestCheckpointPath()).meta["step"].get<int64_t>(), int64_t{2});
    }

    void resumeReproducesAnUninterruptedRun() {
        Dataset data = fourGaussians(300, 6);
        torch::manual_seed(11);
        Generator sourceModel(smallToySpec());
        auto makeTrainer = [&](int64_t iterations, Generator& g) {
            torch::manual_seed(12);
            g = Generator(smallToySpec());
            std::vector<CriticSource> sources;
            sources.push_back({"data", std::make_unique<DatasetSource>(data)});
            sources.push_back({"online", std::make_unique<GeneratorSource>(sourceModel, "source")});
            sources.push_back({"frozen", std::make_unique<FrozenSampleSource>(sourceModel, 40, "source")});
            CriticWeightOptions w;
            w.mode = WeightMode::Constrained;
            w.radii = {0.5, std::nan(""), 0.2};
            w.updateEvery = 2;
            w.stepSize = 0.05;
            TrainerOptions o = quickOptions(iterations);
            o.checkpointEvery = 6;
            return std::make_unique<MultiCriticTrainer>(g, std::move(sources), w, o, torch::kCPU);
        };
        CancelToken cancel;
        ToyRecorder rec;

        RunDirectory dirA(coalesce::test::scratchDir("toy_resume_a"), Json::object(), false);
        Generator gA{nullptr};
        auto a = makeTrainer(12, gA);
        a->setRunDirectory(&dirA);
        a->train(rec, cancel);

        RunDirectory dirB(coalesce::test::scratchDir("toy_resume_b"), Json::object(), false);
        Generator gB{nullptr};
        auto b1 = makeTrainer(6, gB);
        b1->setRunDirectory(&dirB);
        b1->train(rec, cancel);
        b1.reset();
        Generator gC{nullptr};
        auto b2 = makeTrainer(12, gC);
        b2->setRunDirectory(&dirB);
        b2->restore(loadCheckpoint(dirB.latestCheckpointPath()), dirB.latestCheckpointPath());
        QCOMPARE(b2->step(), int64_t{6});
        b2->train(rec, cancel);

        QCOMPARE(b2->step(), int64_t{12});
        QVERIFY2(sameParameters(*gA, *gC), "generator after 6+6 iterations differs from 12 uninterrupted ones");
        for (size_t k = 0; k < 3; ++k) QVERIFY(sameParameters(*a->critic(k), *b2->critic(k)));
        QCOMPARE(a->lambdas(), b2->lambdas());
        QCOMPARE(a->wHat(), b2->wHat());
        QVERIFY(a->lambdas()[1] == 1.0 / 3);  // no radius: the objective term keeps its weight
        QVERIFY(a->lambdas()[0] != 1.0 / 3);  // constrained sources moved
    }

    void divergenceStopsAndKeepsTheLastGoodCheckpoint() {
        const std::string dirPath = coalesce::test::scratchDir("toy_nan");
        RunDirectory dir(dirPath, Json::object(), false);
        torch::manual_seed(1);
        Generator g(smallToySpec());
        std::vector<CriticSource> sources;
        sources.push_back({"trap", std::make_unique<TrapSource>(fourGaussians(100, 7), 5 * 12, nullptr)});
        TrainerOptions o = quickOptions(40);
        o.checkpointEvery = 5;
        MultiCriticTrainer trainer(g, std::move(sources), {}, o, torch::kCPU);
        trainer.setRunDirectory(&dir);
        ToyRecorder rec;
        CancelToken cancel;
        try {
            trainer.train(rec, cancel);
            QFAIL("expected a divergence error");
        } catch (const Error& e) {
            const std::string m = e.what();
            QVERIFY2(m.find("diverged at step 13") != std::string::npos, m.c_str());
            QVERIFY2(m.find("step_000010.coalesce") != std::string::npos, m.c_str());
        }
        QVERIFY(!fs::exists(dir.checkpointPath(15)));
        Checkpoint c = loadCheckpoint(dir.latestCheckpointPath());
        QCOMPARE(c.meta["step"].get<int64_t>(), int64_t{10});
        for (const auto& [name, t] : c.tensors)
            if (t.is_floating_point()) QVERIFY2(torch::isfinite(t).all().item<bool>(), name.c_str());
    }

    void absurdLearningRateIsReportedAsDivergence() {
        torch::manual_seed(1);
        Generator g(smallToySpec());
        TrainerOptions o = quickOptions(200);
        o.lrCritic = o.lrGenerator = 1e30;
        MultiCriticTrainer trainer(g, datasetSource(fourGaussians(100, 8)), {}, o, torch::kCPU);
        ToyRecorder rec;
        CancelToken cancel;
        try {
            trainer.train(rec, cancel);
            QFAIL("expected a divergence error");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("diverged") != std::string::npos, e.what());
            QVERIFY2(std::string(e.what()).find("no checkpoint") != std::string::npos, e.what());
        }
    }

    void criticCanStartFromACheckpointWithFrozenBlocks() {
        // FreezeD: critic 0 starts from a previous run's critic0 and keeps its first block fixed.
        RunDirectory dir(coalesce::test::scratchDir("toy_freezed"), Json::object(), false);
        Dataset data = fourGaussians(100, 9);
        torch::manual_seed(1);
        Generator g(smallToySpec());
        MultiCriticTrainer first(g, datasetSource(data), {}, quickOptions(3), torch::kCPU);
        first.setRunDirectory(&dir);
        ToyRecorder rec;
        CancelToken cancel;
        first.train(rec, cancel);
        Checkpoint trained = loadCheckpoint(dir.latestCheckpointPath());

        torch::manual_seed(2);
        Generator g2(smallToySpec());
        std::vector<CriticSource> sources;
        sources.push_back({"data", std::make_unique<DatasetSource>(data), dir.latestCheckpointPath(), "critic0", 1});
        MultiCriticTrainer second(g2, std::move(sources), {}, quickOptions(3), torch::kCPU);
        auto params = second.critic(0)->named_parameters(true);
        for (const auto& item : params)
            QVERIFY2(torch::equal(item.value(), trained.tensors.at("critic0." + item.key())), item.key().c_str());
        second.train(rec, cancel);
        params = second.critic(0)->named_parameters(true);
        QVERIFY(torch::equal(params["net.0.weight"], trained.tensors.at("critic0.net.0.weight")));  // frozen block
        QVERIFY(torch::equal(params["net.0.bias"], trained.tensors.at("critic0.net.0.bias")));
        QVERIFY(!torch::equal(params["net.2.weight"], trained.tensors.at("critic0.net.2.weight")));  // trained

        std::vector<CriticSource> bad;
        bad.push_back({"data", std::make_unique<DatasetSource>(data), dir.latestCheckpointPath(), "critic0", 5});
        QVERIFY_THROWS_EXCEPTION(Error, MultiCriticTrainer(g2, std::move(bad), {}, quickOptions(3), torch::kCPU));
    }

    void criticWeightModes() {
        CriticWeightOptions typed;
        typed.lambdas = {2, 6};
        QCOMPARE(CriticWeights(typed, 2).lambdas(), (std::vector<double>{0.25, 0.75}));
        CriticWeightOptions radii;
        radii.radii = {1, 3};
        QCOMPARE(CriticWeights(radii, 2).lambdas(), (std::vector<double>{0.75, 0.25}));
        QCOMPARE(CriticWeights({}, 4).lambdas(), (std::vector<double>(4, 0.25)));

        CriticWeightOptions c;
        c.mode = WeightMode::Constrained;
        c.radii = {1.0, 1.0, std::nan("")};
        c.lambdas = {1, 1, 2};
        c.updateEvery = 5;
        c.stepSize = 0.1;
        CriticWeights w(c, 3);
        QVERIFY(!w.afterIteration(4, {3.0, 0.0, 9.0}));  // not an update step
        QVERIFY(w.afterIteration(5, {3.0, 0.0, 9.0}));
        // λ0 = 0.25 + 0.1·(3 − 1) = 0.45; λ1 = max(0, 0.25 + 0.1·(0 − 1)) = 0.15; λ2 (no radius) stays 0.5.
        QVERIFY(std::fabs(w.lambdas()[0] - 0.45) < 1e-12);
        QVERIFY(std::fabs(w.lambdas()[1] - 0.15) < 1e-12);
        QCOMPARE(w.lambdas()[2], 0.5);
        w.afterIteration(10, {3.0, -5.0, 9.0});
        QCOMPARE(w.lambdas()[1], 0.0);  // projected onto λ ≥ 0
        CriticWeights restored(c, 3);
        restored.restore(w.state());
        QCOMPARE(restored.lambdas(), w.lambdas());

        auto expectError = [](const CriticWeightOptions& o, size_t k, const char* field) {
            try {
                CriticWeights bad(o, k);
                QFAIL("expected an error");
            } catch (const Error& e) {
                QVERIFY2(std::string(e.what()).find(field) != std::string::npos, e.what());
            }
        };
        CriticWeightOptions bad;
        bad.lambdas = {1, -1};
        expectError(bad, 2, "lambda");
        bad.lambdas = {1, 2, 3};
        expectError(bad, 2, "lambda");
        bad = {};
        bad.mode = WeightMode::Constrained;
        expectError(bad, 2, "radius");
        bad = {};
        bad.radii = {1, 0};
        expectError(bad, 2, "radius");
        QVERIFY_THROWS_EXCEPTION(Error, parseWeightMode("adaptive"));
    }

    void frozenImageSamplesAreEightBitLevels() {
        ArchSpec spec = ArchSpec::preset("dcgan32", "small", 1);
        spec.generatorWidths = {8, 4, 4};
        torch::manual_seed(4);
        Generator g(ArchSpec::fromJson(spec.toJson()));
        FrozenSampleSource source(g, 6, "tiny");
        QCOMPARE(*source.finiteSize(), int64_t{6});
        source.start(3, 1, torch::kCPU);
        torch::Tensor batch = source.next();
        QCOMPARE(batch.sizes().vec(), (std::vector<int64_t>{3, 1, 32, 32}));
        torch::Tensor levels = (batch + 1) * 127.5;
        QVERIFY(torch::allclose(levels, levels.round(), 0, 1e-3));
    }
};

COALESCE_TEST_APPLESS_MAIN(TestWganToy)
#include "test_wgan_toy.moc"
