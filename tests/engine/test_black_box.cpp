// Black-box sources: any TorchScript generator, run in the worker process (io/torchscript_worker.h,
// train/black_box_source.h), as a barycenter source. The generators are written by Python
// (tests/python/black_box.py): a 64×64 RGB DCGAN with its own names, and modules that hang, throw,
// lack a latent size or make points.
#include "support/test_main.h"  // Qt Test, and the suite registration
#include <QScopeGuard>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <signal.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/job.h"
#include "io/model_files.h"
#include "io/safetensors.h"
#include "io/torchscript_worker.h"
#include "jobs/job_factory.h"
#include "train/black_box_source.h"
#include "train/coalescence.h"
#include "train/sample_source.h"
#include "support/error_of.h"
#include "support/test_support.h"

using namespace coalesce;
using Json = nlohmann::json;
namespace fs = std::filesystem;

using coalesce::test::contains;
using coalesce::test::readSafetensorsTensors;
using coalesce::test::SilentObserver;

namespace {

using test::errorOf;

double secondsSince(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Why running the job `config` failed: the Error it threw or the message of a Failed result ("" if it finished).
std::string failureOf(const Json& config) {
    SilentObserver quiet;
    CancelToken cancel;
    JobResult result;
    const std::string thrown = errorOf([&] { result = createJob(config)->run(quiet, cancel); });
    if (!thrown.empty()) return thrown;
    return result.status == JobResult::Status::Finished ? "" : result.message;
}

}  // namespace

class TestBlackBox : public QObject {
    Q_OBJECT
    std::string dir_;

private Q_SLOTS:
    void initTestCase() {
        torch::set_num_threads(1);
        dir_ = test::scratchDir("black-box");
        std::string out;
        QVERIFY2(test::runPython("black_box.py", "write --out " + dir_, &out) == 0, out.c_str());
    }

    // The worker runs the module exactly as Python does; the conversion to the working shape follows
    // the documented rule, checked against Python's own gray weights and 2×2 area average.
    void workerOutputsAndConversionMatchPython() {
        const auto io = readSafetensorsTensors(dir_ + "/io.safetensors");
        TorchScriptWorker worker(dir_ + "/g64.pt", 0, 60);
        QCOMPARE(worker.latentDim(), int64_t{64});  // the module's latent_dim attribute
        QCOMPARE(worker.outputShape(), (std::vector<int64_t>{3, 64, 64}));
        const torch::Tensor native = worker.run(io.at("z"));
        const double diff = (native - io.at("native")).abs().max().item<double>();
        QVERIFY2(diff < 1e-5, qPrintable(QString::number(diff)));
        QVERIFY(io.at("native").abs().mean().item<double>() > 1e-2);  // not a degenerate output
        QVERIFY((toWorkingShape(native, {1, 32, 32}) - io.at("gray32")).abs().max().item<double>() < 1e-5);
        QVERIFY((toWorkingShape(native, {3, 32, 32}) - io.at("rgb32")).abs().max().item<double>() < 1e-5);
        // Gray → RGB replicates; 28×28 → 32×32 pads with −1 (the datasets' rule).
        auto gray28 = torch::rand({2, 1, 28, 28}) * 2 - 1;
        auto rgb32 = toWorkingShape(gray28, {3, 32, 32});
        QVERIFY(torch::equal(rgb32[1][0], rgb32[1][2]));
        QCOMPARE(rgb32[0][1][0][0].item<float>(), -1.0f);
        QVERIFY(torch::equal(rgb32.slice(2, 2, 30).slice(3, 2, 30)[0][0], gray28[0][0]));
        // A row window of a draw gives exactly those rows of the whole draw.
        BlackBoxGenerator box({dir_ + "/g64.pt", 0, 60});
        auto rngA = makeCpuGenerator(3), rngB = makeCpuGenerator(3);
        const auto all = box.draw(10, rngA, {3, 64, 64});
        const auto part = box.draw(10, rngB, {3, 64, 64}, 4, 7);
        QVERIFY(torch::allclose(part, all.slice(0, 4, 7), 0, 1e-6));
    }

    void badModulesGiveClearErrors() {
        std::string e = errorOf([&] { TorchScriptWorker(dir_ + "/no_latent.pt", 0, 60); });
        QVERIFY2(contains(e, "no_latent.pt") && contains(e, "latent_dim"), e.c_str());
        TorchScriptWorker given(dir_ + "/no_latent.pt", 16, 60);  // with the latent size given it runs
        QCOMPARE(given.outputShape(), (std::vector<int64_t>{1, 32, 32}));
        e = errorOf([&] { TorchScriptWorker(dir_ + "/points.pt", 0, 60); });
        QVERIFY2(contains(e, "points.pt") && contains(e, "B×C×H×W"), e.c_str());
        e = errorOf([&] { TorchScriptWorker(dir_ + "/io.safetensors", 8, 60); });
        QVERIFY2(contains(e, "not a TorchScript archive"), e.c_str());
        e = errorOf([&] { TorchScriptWorker(dir_ + "/missing.pt", 8, 60); });
        QVERIFY2(contains(e, "missing.pt: no such file"), e.c_str());

        TorchScriptWorker raises(dir_ + "/raises.pt", 0, 60);
        e = errorOf([&] { raises.run(torch::zeros({4, 8})); });
        QVERIFY2(contains(e, "raises.pt") && contains(e, "the module refuses this batch"), e.c_str());
        QCOMPARE(raises.run(torch::zeros({2, 8})).size(0), int64_t{2});  // the worker keeps serving
    }

    void aHangingModuleIsStoppedAtItsTimeLimit() {
        TorchScriptWorker hangs(dir_ + "/hangs.pt", 0, 2);
        const int pid = hangs.pid();
        const auto t0 = std::chrono::steady_clock::now();
        std::string e = errorOf([&] { hangs.run(torch::zeros({4, 8})); });
        const double took = secondsSince(t0);
        QVERIFY2(contains(e, "no answer within 2 s") && contains(e, "stopped"), e.c_str());
        QVERIFY2(took >= 1.9 && took < 6, qPrintable(QString::number(took)));
        QVERIFY(::kill(pid, 0) != 0);  // the worker process is gone
        e = errorOf([&] { hangs.run(torch::zeros({2, 8})); });
        QVERIFY2(contains(e, "no answer within 2 s"), e.c_str());  // later calls report the same
    }

    void aCrashedWorkerIsReported() {
        TorchScriptWorker worker(dir_ + "/g64.pt", 0, 60);
        ::kill(worker.pid(), SIGSEGV);
        const std::string e = errorOf([&] { worker.run(torch::zeros({2, 64})); });
        QVERIFY2(contains(e, "g64.pt") && (contains(e, "signal 11") || contains(e, "gone")), e.c_str());
    }

    // Reading a TorchScript file's weights (any .pt that `info` or a source load opens) compiles its code,
    // so it runs in one long-lived weights worker, started with posix_spawn (no fork of this
    // multi-threaded process); whatever the worker does is reported as a clear error naming the file,
    // and the next read starts a fresh worker.
    void torchScriptWeightsAreReadInTheWorker() {
        const std::string real = torchScriptWorkerProgram();
        const auto restore = qScopeGuard([] { qunsetenv("COALESCE_TORCHSCRIPT_WORKER"); });  // also if a check fails
        int scripts = 0;
        auto useWorker = [&](const std::string& script) {  // a new program each time: the worker is replaced
            const std::string program = dir_ + "/fake-worker-" + std::to_string(++scripts) + ".sh";
            std::ofstream(program) << "#!/bin/sh\n" << script << "\n";
            std::filesystem::permissions(program, std::filesystem::perms::owner_all);
            qputenv("COALESCE_TORCHSCRIPT_WORKER", QByteArray::fromStdString(program));
        };
        auto loadError = [&] {
            const std::string e = errorOf([&] { loadGenerator(dir_ + "/g64.pt"); });
            qunsetenv("COALESCE_TORCHSCRIPT_WORKER");
            return e;
        };
        // One worker serves every read: three reads, one start.
        const std::string starts = dir_ + "/worker-starts.txt";
        std::filesystem::remove(starts);
        useWorker("echo started >> '" + starts + "'; exec '" + real + "' \"$@\"");
        for (int i = 0; i < 3; ++i) QCOMPARE(loadGenerator(dir_ + "/g64.pt")->spec().latentDim, int64_t{64});
        qunsetenv("COALESCE_TORCHSCRIPT_WORKER");
        QCOMPARE(readFileBytes(starts), std::string("started\n"));

        useWorker("kill -SEGV $$");  // LibTorch crashing on a crafted archive
        std::string e = loadError();
        QVERIFY2(contains(e, "g64.pt") && contains(e, "LibTorch crashed") && contains(e, "signal 11"), e.c_str());
        const std::string answer = R"({"ok":false,"error":"g64.pt: the module is broken"})";
        const auto length = static_cast<uint32_t>(answer.size());  // the protocol's u32 length prefix
        std::ofstream(dir_ + "/answer.bin", std::ios::binary).write(reinterpret_cast<const char*>(&length), 4) << answer;
        useWorker("cat '" + dir_ + "/answer.bin'; exec cat >/dev/null");  // answers, then waits to be closed
        e = loadError();
        QVERIFY2(e == "g64.pt: the module is broken", e.c_str());
        useWorker("exit 0");  // a worker that quits without answering
        e = loadError();
        QVERIFY2(contains(e, "g64.pt") && contains(e, "reading the TorchScript archive failed") && contains(e, "exited with code 0"), e.c_str());
        QCOMPARE(loadGenerator(dir_ + "/g64.pt")->spec().latentDim, int64_t{64});  // a fresh real worker again
    }

    // A Python-made 64×64 RGB DCGAN of another architecture is a stage-1 source of a tiny barycenter
    // (with a second black box): G is a Coalesce dcgan32 gray net, the boxes' images are converted for it.
    void aBlackBoxIsABarycenterSource() {
        const std::string run = test::scratchDir("black-box-run") + "/run";
        Json config{{"kind", "barycenter"},
                    {"sources", Json::array({Json{{"black_box", dir_ + "/g64.pt"}, {"lambda", 0.5}},
                                             Json{{"data", "toy:gauss:0,0,1:1"}, {"lambda", 0.5}}})},
                    {"iterations", 3}, {"batch_size", 8}, {"n_critic", 1}, {"sample_every", 0}, {"checkpoint_every", 2},
                    {"eval_every", 0}, {"eval_samples", 16}, {"seed", 1}, {"init", "random"},
                    {"arch", {{"family", "dcgan32"}, {"preset", "small"}, {"channels", 1}}}, {"run_dir", run},
                    {"runtime", {{"threads", 1}, {"device", "cpu"}}}};
        // A toy data source makes points, not images: refused.
        QVERIFY2(!failureOf(config).empty(), "a points source next to an image generator must be refused");
        // With a second black box (gray 32×32, latent size given) the run goes through.
        fs::remove_all(run);
        config["sources"][1] = Json{{"black_box", dir_ + "/no_latent.pt"}, {"latent_dim", 16}, {"lambda", 0.5}};
        const std::string failure = failureOf(config);
        QVERIFY2(failure.empty() && fs::exists(run + "/generator.coalesce"), failure.c_str());
        Generator g = loadGenerator(run + "/generator.coalesce");
        QCOMPARE(g->spec().sampleShape(), (std::vector<int64_t>{1, 32, 32}));
        std::ifstream in(run + "/config.json");
        const std::string config_json{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        QVERIFY2(contains(config_json, "TorchScript black box g64.pt (3×64×64, z=64)"), config_json.c_str());

        // Recursive mode (K = 3: B_2 of the two heaviest, then B_3 with the third) takes black boxes too:
        // each stage samples its boxes in the worker, and stage 3 starts from B_2.
        const std::string recursive = test::scratchDir("black-box-recursive") + "/run";
        config["run_dir"] = recursive;
        config["mode"] = "recursive";
        config["iterations"] = 2;
        config["sources"] = Json::array({Json{{"black_box", dir_ + "/g64.pt"}, {"lambda", 0.5}},
                                         Json{{"black_box", dir_ + "/no_latent.pt"}, {"latent_dim", 16}, {"lambda", 0.3}},
                                         Json{{"black_box", dir_ + "/g64.pt"}, {"lambda", 0.2}}});
        const std::string recursiveFailure = failureOf(config);
        QVERIFY2(recursiveFailure.empty(), recursiveFailure.c_str());
        for (const char* stage : {"/stage_2/generator.coalesce", "/stage_3/generator.coalesce", "/generator.coalesce"})
            QVERIFY2(fs::exists(recursive + stage), stage);
        QCOMPARE(loadGenerator(recursive + "/generator.coalesce")->spec().sampleShape(), (std::vector<int64_t>{1, 32, 32}));
    }

    // A source that hangs while training makes the job stop with the clear error within its limit; the
    // last good checkpoint stays.
    void aHangingSourceStopsTheJobCleanly() {
        const std::string run = test::scratchDir("black-box-hang") + "/run";
        Json config{{"kind", "barycenter"},
                    {"sources", Json::array({Json{{"black_box", dir_ + "/hangs.pt"}, {"timeout_s", 2}, {"lambda", 0.5}},
                                             Json{{"black_box", dir_ + "/no_latent.pt"}, {"latent_dim", 16}, {"lambda", 0.5}}})},
                    {"iterations", 3}, {"batch_size", 8}, {"n_critic", 1}, {"sample_every", 0}, {"checkpoint_every", 1},
                    {"eval_every", 0}, {"eval_samples", 2}, {"seed", 1}, {"init", "random"},
                    {"arch", {{"family", "dcgan32"}, {"preset", "small"}, {"channels", 1}}}, {"run_dir", run},
                    {"runtime", {{"threads", 1}, {"device", "cpu"}}}};
        const auto t0 = std::chrono::steady_clock::now();
        const std::string e = failureOf(config);
        QVERIFY2(contains(e, "hangs.pt") && contains(e, "no answer within 2 s"), e.c_str());
        QVERIFY2(secondsSince(t0) < 30, qPrintable(QString::number(secondsSince(t0))));
    }

    // Radii from the local data work for black boxes too: each box is sampled at G's shape and measured
    // against the local samples (pixels here; the feature space needs a trained classifier).
    void radiiAutoMeasuresBlackBoxes() {
        if (!test::haveFashionMnist()) QSKIP("Fashion-MNIST (Debian's dataset-fashion-mnist) is not installed");
        const std::string run = test::scratchDir("black-box-auto") + "/run";
        Json config{{"kind", "barycenter"},
                    {"sources", Json::array({Json{{"black_box", dir_ + "/g64.pt"}},
                                             Json{{"black_box", dir_ + "/no_latent.pt"}, {"latent_dim", 16}}})},
                    {"radii", "auto"},
                    {"radius_estimation", {{"data", "fashion-mnist:train:8,9"}, {"k", 10}, {"space", "pixels"},
                                           {"source_samples", 20}, {"bootstrap", 5}}},
                    {"iterations", 1}, {"batch_size", 4}, {"n_critic", 1}, {"sample_every", 0}, {"checkpoint_every", 1},
                    {"eval_every", 0}, {"eval_samples", 4}, {"seed", 1}, {"init", "random"},
                    {"arch", {{"family", "dcgan32"}, {"preset", "small"}, {"channels", 1}}}, {"run_dir", run},
                    {"runtime", {{"threads", 1}, {"device", "cpu"}}}};
        const std::string failure = failureOf(config);
        QVERIFY2(failure.empty(), failure.c_str());
        std::ifstream in(run + "/summary.json");
        const Json summary = Json::parse(in);
        const Json& radii = summary.at("radii_estimated");
        QCOMPARE(radii.size(), size_t{2});
        for (const auto& r : radii) {
            const double eta = r.at("eta").get<double>();
            // Pixel W1 between 32×32 images in [−1, 1] lies in (0, 64].
            QVERIFY2(eta > 0 && eta <= 64, r.dump().c_str());
            QVERIFY2(r.at("low").get<double>() <= r.at("high").get<double>(), r.dump().c_str());  // a bootstrap interval
        }
        QVERIFY(radii[0].at("eta").get<double>() != radii[1].at("eta").get<double>());

        // The workbench's "η from local data" (estimateRadiiOfSources, before any training) loads and samples
        // the same sources as the job: the same η to the last bit, and the coverage check with it.
        SilentObserver quiet;
        CancelToken cancel;
        CoverageCheck coverage;
        const auto direct = estimateRadiiOfSources(readCoalescenceConfig(ConfigReader(config, "barycenter")), quiet, cancel, &coverage);
        QCOMPARE(direct.size(), size_t{2});
        for (size_t k = 0; k < direct.size(); ++k) QCOMPARE(direct[k].eta, radii[k].at("eta").get<double>());
        QVERIFY(!coverage.regime.empty());
    }

    void configsAreChecked() {
        auto error = [&](Json source) {
            Json config{{"kind", "barycenter"}, {"sources", Json::array({source, Json{{"data", "toy:ring8"}}})},
                        {"iterations", 1}, {"run_dir", test::scratchDir("black-box-cfg") + "/r"}};
            return errorOf([&] { createJob(config); });
        };
        QVERIFY(contains(error(Json{{"generator", "a.coalesce"}, {"latent_dim", 8}}), "black_box"));
        QVERIFY(contains(error(Json{{"black_box", "a.pt"}, {"timeout_s", 0}}), "timeout_s"));
        QVERIFY(contains(error(Json{{"black_box", "a.pt"}, {"samples", 100}}), "sampled online"));
        QVERIFY(contains(error(Json{{"black_box", "a.pt"}, {"generator", "b.coalesce"}}), "exactly one"));
    }
};

COALESCE_TEST_GUILESS_MAIN(TestBlackBox)
#include "test_black_box.moc"
