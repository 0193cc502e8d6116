// The UI's direct engine calls (the two torch translation units of ui/app): sampling a 2-D generator
// for the Toy view, data previews, and generator exports. Ground truth: the engine's own Generator
// evaluated directly on the same latent batch, and files read back with the engine's loader.
#include "support/test_main.h"  // Qt Test, and the suite registration

#include <ATen/CPUGeneratorImpl.h>

#include "app/engine_samples.h"
#include "app/model_export.h"
#include "app/point_sampler.h"
#include "io/model_files.h"
#include "models/networks.h"
#include "runs/run_store.h"
#include "train/training_job.h"
#include "ui_test_helpers.h"

namespace {

coalesce::Generator makeToyGenerator(const QString& path) {
    torch::manual_seed(3);
    coalesce::Generator g(coalesce::ArchSpec::preset("mlp2d", "small"));
    g->eval();
    coalesce::writeGeneratorFile(path.toStdString(), g, coalesce::Json{{"step", 42}});
    return g;
}

torch::Tensor outputs(coalesce::Generator& g, int n, uint64_t seed) {
    torch::NoGradGuard noGrad;
    g->eval();
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    return g->forward(g->sampleLatent(n, gen));
}

}  // namespace

class TestEngineAccess : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(1); }

    void samplesA2dGeneratorForTheToyView() {
        const QString dir = uitest::scratch("engine_access_sample");
        coalesce::Generator g = makeToyGenerator(dir + "/g.coalesce");
        const EngineSamples s = sampleGeneratorPoints(dir + "/g.coalesce", 200, 7);
        QVERIFY2(s.error.isEmpty(), qPrintable(s.error));
        QCOMPARE(s.points.size(), 200);
        const torch::Tensor expected = outputs(g, 200, 7);
        for (int i = 0; i < 200; ++i) {
            QVERIFY(std::abs(s.points[i].x() - expected[i][0].item<double>()) < 1e-5);
            QVERIFY(std::abs(s.points[i].y() - expected[i][1].item<double>()) < 1e-5);
        }
        // Same seed, same points (successive checkpoints are comparable); another seed differs.
        QCOMPARE(sampleGeneratorPoints(dir + "/g.coalesce", 200, 7).points, s.points);
        QVERIFY(sampleGeneratorPoints(dir + "/g.coalesce", 200, 8).points != s.points);
        // Bad input: a clear message, no throw.
        uitest::writeFile(dir + "/junk.coalesce", "junk");
        const EngineSamples bad = sampleGeneratorPoints(dir + "/junk.coalesce", 10, 1);
        QVERIFY(!bad.error.isEmpty());
        QVERIFY2(bad.error.contains("junk.coalesce"), qPrintable(bad.error));
    }

    // The Toy view's sampler: a 2-D run's checkpoints become points (with its reference sets), an image
    // run's are ignored; checkpoints that arrive while the run's kind is still being checked (on a
    // worker thread) are kept, in order.
    void pointSamplerSamplesOnlyTwoDimensionalRuns() {
        const QString dir = uitest::scratch("engine_access_points");
        makeToyGenerator(dir + "/toy.coalesce");
        QVERIFY(uitest::writeFile(dir + "/image.coalesce", uitest::generatorFileBytes()));
        RunStore store;
        PointSampler sampler(&store);
        const int image = store.addRun("image", "pretrain", dir + "/image-run", "running");
        const int toy = store.addRun("toy", "pretrain", dir + "/toy-run", "running");
        sampler.onCheckpoint(image, 10, dir + "/image.coalesce");
        sampler.onCheckpoint(toy, 10, dir + "/toy.coalesce");
        sampler.onCheckpoint(toy, 20, dir + "/toy.coalesce");
        QVERIFY(!sampler.idle());
        QTRY_VERIFY_WITH_TIMEOUT(sampler.idle(), 30000);
        QCOMPARE(store.run(toy)->generatedPoints.keys(), (QList<qint64>{10, 20}));
        QCOMPARE(store.run(toy)->generatedPoints.value(20).size(), PointSampler::kPoints);
        QVERIFY(store.run(image)->generatedPoints.isEmpty());
        // Known kinds are not checked again: a later image checkpoint leaves the sampler idle at once.
        sampler.onCheckpoint(image, 30, dir + "/image.coalesce");
        QVERIFY(sampler.idle());
        QVERIFY(store.run(image)->generatedPoints.isEmpty());
    }

    void dataPreviews() {
        const EngineSamples toy = previewLocalData("toy:ring8", 50, 1);
        QVERIFY2(toy.error.isEmpty(), qPrintable(toy.error));
        QCOMPARE(toy.points.size(), 50);
        QVERIFY(!toy.grid.isNull());  // a small rendered scatter for the dock
        for (const QPointF& p : toy.points) QVERIFY(std::abs(std::hypot(p.x(), p.y()) - 2.0) < 0.2);  // ring of radius 2
        QCOMPARE(previewLocalData("toy:ring8", 50, 1).points, toy.points);  // the seed picks the samples
        QVERIFY(previewLocalData("toy:ring8", 50, 2).points != toy.points);
        QCOMPARE(loadDataPoints("toy:ring8", 300).points.size(), 300);

        const EngineSamples unknown = previewLocalData("nosuchkind:x", 5, 1);
        QVERIFY(!unknown.error.isEmpty());
        const EngineSamples tooMany = previewLocalData("toy:ring8:100", 500, 1);
        QVERIFY2(tooMany.error.contains("500"), qPrintable(tooMany.error));

        if (!coalesce::test::haveFashionMnist()) QSKIP("Fashion-MNIST not installed");
        const EngineSamples images = previewLocalData("fashion-mnist:train:8,9", 20, 1);
        QVERIFY2(images.error.isEmpty(), qPrintable(images.error));
        QVERIFY(!images.grid.isNull());
        QVERIFY(images.points.isEmpty());
        QVERIFY(images.description.contains("20"));
    }

    void exportsReadBackIdentically() {
        const QString dir = uitest::scratch("engine_access_export");
        coalesce::Generator g = makeToyGenerator(dir + "/g.coalesce");
        const torch::Tensor expected = outputs(g, 64, 11);
        const QList<QPair<QString, ModelExportFormat>> targets{
            {dir + "/out.coalesce", ModelExportFormat::Native},
            {dir + "/out.safetensors", ModelExportFormat::Safetensors},
            {dir + "/out.pt", ModelExportFormat::TorchScript},
            {dir + "/out.pth", ModelExportFormat::StateDict}};
        for (const auto& [path, format] : targets) {
            const QString error = exportGenerator(dir + "/g.coalesce", path, format);
            QVERIFY2(error.isEmpty(), qPrintable(path + ": " + error));
            coalesce::Generator back = coalesce::loadGenerator(path.toStdString(), g->spec());
            QVERIFY2(torch::allclose(outputs(back, 64, 11), expected, 1e-5, 1e-6), qPrintable(path));
        }
        QCOMPARE(modelExportFormatForFilter("", "x.safetensors"), ModelExportFormat::Safetensors);
        QCOMPARE(modelExportFormatForFilter("TorchScript (*.pt)", "x"), ModelExportFormat::TorchScript);
        QVERIFY(!exportGenerator(dir + "/missing.coalesce", dir + "/x.safetensors", ModelExportFormat::Safetensors).isEmpty());
    }
};

COALESCE_TEST_MAIN(TestEngineAccess)
#include "test_engine_access.moc"
