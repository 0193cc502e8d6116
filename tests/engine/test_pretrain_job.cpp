// Job "pretrain" end to end on a tiny synthetic IDX dataset (written here) and a toy mixture: the run
// directory is complete, resume continues exactly, cancel keeps a checkpoint, bad configs are rejected
// with errors naming the field.
#include "support/test_main.h"  // Qt Test, and the suite registration
#include <filesystem>
#include <fstream>
#include <torch/torch.h>

#include "core/error.h"
#include "io/checkpoint.h"
#include "jobs/job_factory.h"
#include "run/run_directory.h"
#include "train/memory_check.h"
#include "support/test_support.h"
#include "train/training_job.h"

using namespace coalesce;
namespace fs = std::filesystem;

using coalesce::test::readBytes;
using coalesce::test::contains;
using coalesce::test::writeBigEndian32;

namespace {

// 24 images 28×28 of two classes: class 0 a bright square, class 1 a bright bar, plus noise.
std::string writeTinyIdx(const std::string& dir) {
    const std::string images = dir + "/images-idx3-ubyte", labels = dir + "/labels-idx1-ubyte";
    std::ofstream im(images, std::ios::binary), lb(labels, std::ios::binary);
    const uint32_t n = 24;
    writeBigEndian32(im, 0x00000803);
    writeBigEndian32(im, n);
    writeBigEndian32(im, 28);
    writeBigEndian32(im, 28);
    writeBigEndian32(lb, 0x00000801);
    writeBigEndian32(lb, n);
    for (uint32_t i = 0; i < n; ++i) {
        const unsigned char cls = i % 2;
        lb.put(static_cast<char>(cls));
        for (int y = 0; y < 28; ++y)
            for (int x = 0; x < 28; ++x) {
                bool on = cls == 0 ? (x > 8 && x < 20 && y > 8 && y < 20) : (x > 12 && x < 16);
                unsigned char v = static_cast<unsigned char>((on ? 200 : 10) + (i * 7 + x * 3 + y) % 40);
                im.put(static_cast<char>(v));
            }
    }
    return "idx:" + images + ":" + labels;
}

Json tinyArch() {
    return Json{{"family", "dcgan32"}, {"channels", 1}, {"image_size", 32}, {"latent_dim", 16},
                {"generator_widths", {16, 8, 4}}, {"critic_widths", {4, 8, 8}}};
}

struct PretrainRecorder : JobObserver {
    CancelToken* cancel = nullptr;
    int64_t cancelAt = -1;
    std::vector<std::string> errors;
    void onProgress(int64_t done, int64_t, const std::string&) override {
        if (cancel && done == cancelAt) cancel->requestCancel();
    }
    void onLog(LogLevel level, const std::string& m) override {
        if (level == LogLevel::Error) errors.push_back(m);
    }
};

JobResult runRecorded(const Json& config, PretrainRecorder* recorder = nullptr, CancelToken* cancel = nullptr) {
    PretrainRecorder local;
    CancelToken localCancel;
    auto job = createJob(config);
    return job->run(recorder ? *recorder : local, cancel ? *cancel : localCancel);
}

int countOccurrences(const std::string& text, const std::string& needle) {
    int n = 0;
    for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
    return n;
}

bool sameTensors(const Checkpoint& a, const Checkpoint& b) {
    if (a.tensors.size() != b.tensors.size()) return false;
    for (const auto& [name, t] : a.tensors) {
        auto it = b.tensors.find(name);
        if (it == b.tensors.end() || !torch::equal(t, it->second)) return false;
    }
    return true;
}

}  // namespace

class TestPretrainJob : public QObject {
    Q_OBJECT
    std::string data_;

    Json baseConfig(const std::string& runDir, int64_t iterations = 6) const {
        return Json{{"kind", "pretrain"},   {"data", data_},        {"arch", tinyArch()},
                    {"iterations", iterations}, {"batch_size", 8}, {"n_critic", 2},
                    {"seed", 3},            {"sample_every", 3},    {"checkpoint_every", 3},
                    {"run_dir", runDir},    {"runtime", {{"threads", 1}, {"device", "cpu"}}}};
    }

private Q_SLOTS:
    void initTestCase() {
        torch::set_num_threads(1);
        data_ = writeTinyIdx(coalesce::test::scratchDir("pretrain_data"));
    }

    void isRegistered() {
        auto kinds = jobKinds();
        QVERIFY(std::find(kinds.begin(), kinds.end(), "pretrain") != kinds.end());
    }

    void writesACompleteRunDirectory() {
        const std::string dir = coalesce::test::scratchDir("pretrain_run") + "/run";
        JobResult r = runRecorded(baseConfig(dir));
        QVERIFY2(r.status == JobResult::Status::Finished, r.message.c_str());
        QCOMPARE(r.summary["steps"].get<int64_t>(), int64_t{6});

        Json config = Json::parse(readBytes(dir + "/config.json"));
        QCOMPARE(config["seed"].get<int>(), 3);
        QVERIFY(config.contains("provenance"));
        QVERIFY(!config["dataset"]["hash"].get<std::string>().empty());
        QCOMPARE(config["dataset"]["size"].get<int64_t>(), int64_t{24});
        QVERIFY(config["recorded"]["runtime"].get<std::string>().find("cpu") != std::string::npos);
        // The allocator the build linked into this executable (CMakeLists.txt: COALESCE_TCMALLOC) serves it.
        const std::string runtime = config["recorded"]["runtime"].get<std::string>();
        const std::string allocator = ", " + std::string(COALESCE_EXPECTED_ALLOCATOR);
        QVERIFY2(runtime.size() > allocator.size() && runtime.substr(runtime.size() - allocator.size()) == allocator,
                 (runtime + " does not end with '" + allocator + "'").c_str());

        const std::string metrics = readBytes(dir + "/metrics.csv");
        QVERIFY(metrics.rfind("step,name,value\n", 0) == 0);
        QCOMPARE(countOccurrences(metrics, ",loss_g,"), 6);
        QCOMPARE(countOccurrences(metrics, ",loss_d/0,"), 6);
        QCOMPARE(countOccurrences(metrics, ",w_hat/0,"), 6);
        QCOMPARE(countOccurrences(metrics, ",sliced_w1/data,"), 2);  // steps 3 and 6
        for (const char* png : {"step_000000.png", "step_000003.png", "step_000006.png"})
            QVERIFY2(fs::file_size(dir + "/samples/" + png) > 100, png);
        for (const char* c : {"step_000003.coalesce", "step_000006.coalesce", "latest.coalesce"})
            QVERIFY2(fs::exists(dir + "/checkpoints/" + c), c);
        QVERIFY(readBytes(dir + "/log.txt").find("pretrain") != std::string::npos);
        QCOMPARE(Json::parse(readBytes(dir + "/summary.json"))["status"].get<std::string>(), std::string("finished"));

        Checkpoint g = loadCheckpoint(dir + "/generator.coalesce");
        QVERIFY(g.arch == ArchSpec::fromJson(tinyArch()));
        QCOMPARE(g.meta["kind"].get<std::string>(), std::string("generator"));
        QVERIFY(hasModule(g, "generator"));
        QVERIFY(!hasModule(g, "critic0"));
        // The final generator equals the one in the last checkpoint.
        Checkpoint latest = loadCheckpoint(dir + "/checkpoints/latest.coalesce");
        for (const auto& [name, t] : g.tensors) QVERIFY2(torch::equal(t, latest.tensors.at(name)), name.c_str());
        // critic.coalesce: the last checkpoint's critic alone (what FreezeD starts from), no optimizer state.
        Checkpoint critic = loadCheckpoint(dir + "/critic.coalesce");
        QVERIFY(hasModule(critic, "critic0") && !hasModule(critic, "generator"));
        int criticTensors = 0;
        for (const auto& [name, t] : latest.tensors)
            if (name.rfind("critic0.", 0) == 0) {
                ++criticTensors;
                QVERIFY2(torch::equal(t, critic.tensors.at(name)), name.c_str());
            }
        QCOMPARE(int(critic.tensors.size()), criticTensors);
        QVERIFY_THROWS_EXCEPTION(Error, writeCriticFile(dir + "/generator.coalesce", dir + "/nothing.coalesce"));
    }

    void resumeContinuesExactly() {
        const std::string root = coalesce::test::scratchDir("pretrain_resume");
        QVERIFY(runRecorded(baseConfig(root + "/straight", 9)).status == JobResult::Status::Finished);
        QVERIFY(runRecorded(baseConfig(root + "/split", 6)).status == JobResult::Status::Finished);
        {
            // As if a killed segment had logged steps 7 and 8 after its last checkpoint (step 6).
            std::ofstream out(root + "/split/metrics.csv", std::ios::app);
            out << "7,loss_g,123\n8,loss_g,456\n8,eval/fid,789\n";
        }
        Json resume = baseConfig(root + "/split", 9);
        resume["resume"] = true;
        JobResult r = runRecorded(resume);
        QVERIFY2(r.status == JobResult::Status::Finished, r.message.c_str());
        QCOMPARE(r.summary["steps"].get<int64_t>(), int64_t{9});
        QVERIFY(sameTensors(loadCheckpoint(root + "/straight/generator.coalesce"),
                            loadCheckpoint(root + "/split/generator.coalesce")));
        const std::string metrics = readBytes(root + "/split/metrics.csv");
        QCOMPARE(countOccurrences(metrics, ",loss_g,"), 9);
        QCOMPARE(countOccurrences(metrics, "\n9,loss_g,"), 1);
        QCOMPARE(countOccurrences(metrics, "\n7,loss_g,"), 1);  // the interrupted segment's rows were dropped
        QVERIFY(metrics.find(",123\n") == std::string::npos && metrics.find("eval/fid") == std::string::npos);
        // Started with 6 iterations, resumed with 9: config.json holds what is in force and when it changed.
        Json recorded = Json::parse(readBytes(root + "/split/config.json"));
        QCOMPARE(recorded["resumed"].get<int>(), 1);
        QCOMPARE(recorded["iterations"].get<int64_t>(), int64_t{9});
        QCOMPARE(recorded["segments"].size(), size_t{1});
        QCOMPARE(recorded["segments"][0]["changed"]["iterations"]["from"].get<int64_t>(), int64_t{6});

        // Changing what was trained is refused, naming the field, and leaves the record as it was.
        resume["batch_size"] = 4;
        resume["iterations"] = 12;
        r = runRecorded(resume);
        QVERIFY(r.status == JobResult::Status::Failed);
        QVERIFY2(r.message.find("'batch_size'") != std::string::npos, r.message.c_str());
        QCOMPARE(Json::parse(readBytes(root + "/split/config.json"))["iterations"].get<int64_t>(), int64_t{9});
        QCOMPARE(Json::parse(readBytes(root + "/split/config.json"))["segments"].size(), size_t{1});
        // Fewer iterations than the run has done: a clear error, not a silent longer run.
        resume["batch_size"] = 8;
        resume["iterations"] = 4;
        r = runRecorded(resume);
        QVERIFY(r.status == JobResult::Status::Failed);
        QVERIFY2(r.message.find("already at step 9") != std::string::npos, r.message.c_str());
        // More iterations (a documented override): it trains on, and config.json says so.
        resume["iterations"] = 11;
        r = runRecorded(resume);
        QVERIFY2(r.status == JobResult::Status::Finished, r.message.c_str());
        QCOMPARE(r.summary["steps"].get<int64_t>(), int64_t{11});
        recorded = Json::parse(readBytes(root + "/split/config.json"));
        QCOMPARE(recorded["iterations"].get<int64_t>(), int64_t{11});
        QCOMPARE(recorded["segments"].size(), size_t{2});
        QCOMPARE(recorded["segments"][1]["changed"]["iterations"]["from"].get<int64_t>(), int64_t{9});
        QCOMPARE(recorded["segments"][1]["changed"]["iterations"]["to"].get<int64_t>(), int64_t{11});
        // A smaller learning rate (what the divergence message advises) is a documented override too.
        resume["iterations"] = 12;
        resume["lr"] = 5e-5;
        r = runRecorded(resume);
        QVERIFY2(r.status == JobResult::Status::Finished, r.message.c_str());
        recorded = Json::parse(readBytes(root + "/split/config.json"));
        QCOMPARE(recorded["lr"].get<double>(), 5e-5);
        QCOMPARE(recorded["segments"].size(), size_t{3});
        QCOMPARE(recorded["segments"][2]["changed"]["lr"]["to"].get<double>(), 5e-5);
        // The run's own config.json is a valid job config: it can be given back to `run`.
        Json again = recorded;
        again["iterations"] = 13;
        again["resume"] = true;
        r = runRecorded(again);
        QVERIFY2(r.status == JobResult::Status::Finished, r.message.c_str());
        QCOMPARE(r.summary["steps"].get<int64_t>(), int64_t{13});
        // A finished run directory is never overwritten by a fresh run.
        r = runRecorded(baseConfig(root + "/split", 3));
        QVERIFY(r.status == JobResult::Status::Failed);
        QVERIFY2(r.message.find("not empty") != std::string::npos, r.message.c_str());
    }

    void cancelKeepsACheckpoint() {
        const std::string dir = coalesce::test::scratchDir("pretrain_cancel") + "/run";
        PretrainRecorder rec;
        CancelToken cancel;
        rec.cancel = &cancel;
        rec.cancelAt = 2;
        JobResult r = runRecorded(baseConfig(dir, 50), &rec, &cancel);
        QVERIFY(r.status == JobResult::Status::Cancelled);
        QCOMPARE(loadCheckpoint(dir + "/checkpoints/latest.coalesce").meta["step"].get<int64_t>(), int64_t{2});
        QCOMPARE(Json::parse(readBytes(dir + "/summary.json"))["status"].get<std::string>(), std::string("cancelled"));
        QVERIFY(!fs::exists(dir + "/generator.coalesce"));
    }

    void runsStoppedBeforeTheirFirstCheckpointAreNoDeadEnd() {
        const std::string dir = coalesce::test::scratchDir("pretrain_dead_end") + "/run";
        Json bad = baseConfig(dir, 6);
        bad["data"] = "idx:" + dir + "-missing-images";
        JobResult r = runRecorded(bad);
        QVERIFY(r.status == JobResult::Status::Failed);
        QVERIFY(fs::exists(dir + "/config.json") && !fs::exists(dir + "/checkpoints/latest.coalesce"));
        // Files of the failed attempt (as if it had written some) do not survive the start-over.
        std::ofstream(dir + "/samples/step_000999.png") << "stale";
        std::ofstream(dir + "/checkpoints/step_000999.coalesce") << "stale";
        // Resuming it (with the data fixed) starts it over from step 0 instead of "no checkpoint".
        Json resume = baseConfig(dir, 6);
        resume["resume"] = true;
        r = runRecorded(resume);
        QVERIFY2(r.status == JobResult::Status::Finished, r.message.c_str());
        QCOMPARE(r.summary["steps"].get<int64_t>(), int64_t{6});
        QCOMPARE(countOccurrences(readBytes(dir + "/metrics.csv"), ",loss_g,"), 6);
        QVERIFY(readBytes(dir + "/log.txt").find("starting it over from step 0") != std::string::npos);
        QVERIFY(!fs::exists(dir + "/samples/step_000999.png"));
        QVERIFY(!fs::exists(dir + "/checkpoints/step_000999.coalesce"));
        // A finished run without a checkpoint to resume from stays immutable.
        fs::remove_all(dir + "/checkpoints");
        r = runRecorded(resume);
        QVERIFY(r.status == JobResult::Status::Failed);
        QVERIFY2(r.message.find("has finished") != std::string::npos, r.message.c_str());
    }

    void resumeCleansLeftoversAndOneWriterAtATime() {
        const std::string dir = coalesce::test::scratchDir("pretrain_lock") + "/run";
        CancelToken cancel;
        PretrainRecorder rec;
        rec.cancel = &cancel;
        rec.cancelAt = 3;
        QVERIFY(runRecorded(baseConfig(dir, 6), &rec, &cancel).status == JobResult::Status::Cancelled);
        Json resume = baseConfig(dir, 6);
        resume["resume"] = true;
        {
            // While another writer holds the folder, a second one is refused.
            RunDirectory other(dir, Json::object(), RunDirectory::Mode::Resume);
            const JobResult r = runRecorded(resume);
            QVERIFY(r.status == JobResult::Status::Failed);
            QVERIFY2(r.message.find("another process is writing") != std::string::npos, r.message.c_str());
        }
        // What a process killed in the middle of saving leaves behind: removed by the next writer.
        const std::string leftover = dir + "/checkpoints/step_000006.coalesce.tmp-Ab12Cd";
        std::ofstream(leftover) << "half a checkpoint";
        const JobResult r = runRecorded(resume);
        QVERIFY2(r.status == JobResult::Status::Finished, r.message.c_str());
        QVERIFY(!fs::exists(leftover));
    }

    void toyModeTrainsPoints() {
        const std::string dir = coalesce::test::scratchDir("pretrain_toy") + "/run";
        Json config{{"kind", "pretrain"}, {"data", "toy:gauss:1,1,0.1:200"}, {"arch", {{"family", "mlp2d"}}},
                    {"iterations", 5}, {"batch_size", 32}, {"sample_every", 5}, {"run_dir", dir},
                    {"runtime", {{"threads", 1}, {"device", "cpu"}}}};
        JobResult r = runRecorded(config);
        QVERIFY2(r.status == JobResult::Status::Finished, r.message.c_str());
        QVERIFY(fs::exists(dir + "/samples/step_000005.png"));
        QCOMPARE(loadCheckpoint(dir + "/generator.coalesce").arch.family, std::string("mlp2d"));
        config["arch"] = {{"family", "dcgan32"}};
        QVERIFY_THROWS_EXCEPTION(Error, createJob(config));
    }

    void hugeBatchesAreRefusedBeforeAllocating() {
        const ArchSpec spec = ArchSpec::fromJson(tinyArch());
        Generator g(spec);
        Critic c(spec);
        const MemoryEstimate e = estimateTrainingMemory(g, c);
        // Every layer's output counts: at least the 1×32×32 image G ends with, and more than one score.
        QVERIFY2(e.generatorActivations > 32 * 32, qPrintable(QString::number(e.generatorActivations)));
        QVERIFY2(e.criticActivations > 1, qPrintable(QString::number(e.criticActivations)));
        QCOMPARE(e.bytesPerSample(), 4.0 * (2.0 * double(e.generatorActivations) + 6.0 * double(e.criticActivations)));
        requireBatchFitsInMemory(g, c, 8, torch::kCPU);  // fits
        try {
            requireBatchFitsInMemory(g, c, int64_t{1} << 50, torch::kCPU);
            QVERIFY(availableMemoryBytes() <= 0);  // only an unknown amount of memory lets it pass
        } catch (const Error& error) {
            const std::string m = error.what();
            QVERIFY2(m.find("batch_size 1125899906842624") != std::string::npos && m.find("use a batch of at most") != std::string::npos,
                     m.c_str());
        }
        QVERIFY(g->is_training() && c->is_training());  // the estimate leaves the modules as they were
    }

    void rejectsAbsurdParameters() {
        const Json good = baseConfig("unused");
        auto expectError = [&](const std::string& key, const Json& value, const std::string& needle) {
            Json c = good;
            if (value.is_null()) c.erase(key);
            else c[key] = value;
            try {
                createJob(c);
                QFAIL(qPrintable(QString::fromStdString("no error for " + key + " = " + value.dump())));
            } catch (const Error& e) {
                QVERIFY2(std::string(e.what()).find(needle) != std::string::npos, e.what());
            }
        };
        expectError("iterations", 0, "iterations");
        expectError("iterations", -5, "iterations");
        expectError("iterations", 2.5, "iterations");
        expectError("batch_size", 0, "batch_size");
        expectError("lr", 0.0, "lr");
        expectError("lr", -1e-4, "lr");
        expectError("lr", std::nan(""), "lr");
        expectError("lr", "fast", "lr");
        expectError("lr_d", std::numeric_limits<double>::infinity(), "lr_d");
        expectError("gp", "wrong", "gp");
        expectError("n_critic", 0, "n_critic");
        expectError("betas", Json::array({0.5}), "betas");
        expectError("sample_every", -1, "sample_every");
        expectError("iteration", 10, "iteration");  // misspelt
        expectError("data", nullptr, "data");
        expectError("arch", Json{{"family", "dcgan32"}, {"channels", 2}}, "channels");
        expectError("arch", Json{{"family", "resnet"}}, "resnet");
        expectError("runtime", Json{{"threads", -1}}, "threads");
        expectError("resume", "yes", "resume");

        Json missing = good;
        missing["data"] = "idx:/nonexistent/images:/nonexistent/labels";
        missing["run_dir"] = coalesce::test::scratchDir("pretrain_missing") + "/run";
        JobResult r = runRecorded(missing);
        QVERIFY(r.status == JobResult::Status::Failed);
        QVERIFY2(r.message.find("/nonexistent/images") != std::string::npos, r.message.c_str());
    }
};

COALESCE_TEST_APPLESS_MAIN(TestPretrainJob)
#include "test_pretrain_job.moc"
