// The experiment runner (jobs/experiment_plan.h, "experiment" job): the plan made from a config (one run
// per method × n × seed, the same budget and protocol for every run, placeholders for the transfer
// source, errors naming the field), and a whole experiment in the 2-D toy mode end to end: sources
// pretrained, stage 1, average, every method, live evaluation at step 0 / every E / the end, the report;
// re-running keeps finished runs, a changed config is refused, a cancelled experiment says so.
#include "support/test_main.h"  // Qt Test, and the suite registration
#include <filesystem>
#include <fstream>
#include <thread>
#include <torch/torch.h>

#include "core/error.h"
#include "jobs/experiment_plan.h"
#include "jobs/job_factory.h"
#include "run/run_directory.h"
#include "support/test_support.h"

using namespace coalesce;
namespace fs = std::filesystem;

using coalesce::test::readBytes;
using coalesce::test::contains;

namespace {

Json toyExperiment(const std::string& dir) {
    return Json{{"kind", "experiment"},
                {"name", "toy"},
                {"run_dir", dir},
                {"arch", {{"family", "mlp2d"}, {"preset", "small"}}},
                {"sources", Json::array({{{"name", "left"}, {"data", "toy:gauss:-1,0,0.1:400"}},
                                         {{"name", "down"}, {"data", "toy:gauss:0,-1,0.1:400"}}})},
                {"source_training", {{"iterations", 6}, {"batch_size", 32}, {"sample_every", 0}, {"checkpoint_every", 0}}},
                {"barycenter", {{"iterations", 6}, {"batch_size", 32}, {"sample_every", 0}, {"checkpoint_every", 0}}},
                {"target", "toy:gauss:1,1,0.1:300"},
                {"shots", {4}},
                {"seeds", {1, 2}},
                {"methods", {"barycenter", "average", "transfer_gan", "freezed", "ensemble", "edge_only", "edge_only_all"}},
                {"adaptation", {{"iterations", 6}, {"batch_size", 32}, {"sample_every", 3}, {"checkpoint_every", 0}}},
                {"evaluation", {{"reference", "toy:gauss:1,1,0.1:300"}, {"real_samples", 100}, {"fake_samples", 100},
                                {"w1_samples", 100}, {"diversity_samples", 50}, {"kid_subsets", 2}}},
                {"evaluation_every", 3},
                // Post-training TWN, the paper's learned threshold fine-tuned on the run's local samples, and
                // TWN during the adaptation itself (the run's budget with a ternarised G).
                {"ternarization", {{"seeds", {1}},
                                   {"quantizers", Json::array({"twn", {{"name", "learned+ft"}, {"method", "learned"},
                                                                        {"iterations", 2}, {"batch_size", 16}, {"n_critic", 1},
                                                                        {"sample_every", 0}, {"checkpoint_every", 0}},
                                                               {{"name", "twn@adapt"}, {"mode", "adaptation"}, {"method", "twn"}}})}}},
                {"runtime", {{"threads", 1}, {"device", "cpu"}}}};
}

std::string planErrorOf(const Json& config) {
    try {
        planExperiment(config);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

// eval/<name> rows of a metrics.csv: step → present.
std::set<int64_t> evaluationSteps(const fs::path& metricsCsv, const std::string& name) {
    std::set<int64_t> steps;
    std::ifstream in(metricsCsv);
    std::string line;
    while (std::getline(in, line)) {
        const auto a = line.find(','), b = line.rfind(',');
        if (a == std::string::npos || a == b) continue;
        if (line.substr(a + 1, b - a - 1) == name) steps.insert(std::stoll(line.substr(0, a)));
    }
    return steps;
}

struct ExperimentRecorder : JobObserver {
    int64_t lastDone = -1, lastTotal = -1;
    bool monotone = true;
    std::vector<std::string> logs;
    void onProgress(std::int64_t done, std::int64_t total, const std::string&) override {
        monotone = monotone && done >= lastDone && (lastTotal < 0 || total == lastTotal);
        lastDone = done;
        lastTotal = total;
    }
    void onLog(LogLevel, const std::string& m) override { logs.push_back(m); }
};

}  // namespace

class TestExperiment : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // The bundled sample experiments (samples/*.json) must stay valid as the job options evolve: each
    // plans, and every job in the plan (stage 1, method runs, ternarisations) accepts its config.
    void bundledSampleExperimentsPlanAndTheirJobsAcceptTheirConfigs() {
        int experiments = 0;
        for (const auto& entry : fs::recursive_directory_iterator(fs::path(COALESCE_SOURCE_DIR) / "samples")) {
            if (entry.path().extension() != ".json" || entry.path().string().find("/models/") != std::string::npos) continue;
            std::ifstream in(entry.path());
            const Json config = Json::parse(in);
            if (config.value("kind", "") != "experiment") continue;
            ++experiments;
            const std::string name = entry.path().filename().string();
            ExperimentPlan plan;
            try {
                plan = planExperiment(config);
            } catch (const Error& e) {
                QFAIL((name + ": " + e.what()).c_str());
            }
            QVERIFY2(!plan.runs.empty(), name.c_str());
            // Shipped inputs exist (runs/... inputs are made by the sample scripts).
            for (const auto& src : plan.sources)
                if (src.generator.rfind("samples/", 0) == 0)
                    QVERIFY2(fs::exists(fs::path(COALESCE_SOURCE_DIR) / src.generator), (name + ": " + src.generator).c_str());
            std::vector<Json> jobs;
            for (const auto& run : plan.runs) jobs.push_back(run.job);
            for (const auto& stage1 : plan.stage1Jobs) jobs.push_back(stage1);
            for (const auto& t : plan.ternarizations) jobs.push_back(t.job);
            for (Json job : jobs) {
                // "@transfer_source" is resolved at run time; constructing a job does not open files, so
                // any file name stands in for it here.
                for (const char* key : {"init", "init_critic"})
                    if (job.contains(key) && job[key].is_string() && job[key].get<std::string>().rfind("@", 0) == 0)
                        job[key] = "x.coalesce";
                try {
                    createJob(job);
                } catch (const Error& e) {
                    QFAIL((name + ": " + job.value("run_dir", std::string("?")) + ": " + e.what()).c_str());
                }
            }
        }
        QVERIFY(experiments >= 2);  // fashion_fewshot, fashion_fewshot_paper, fashion_ternary
    }

    void planHasOneRunPerMethodShotAndSeed() {
        Json c = toyExperiment("runs/x");
        c["shots"] = {4, 8, 16};
        c["seeds"] = {1, 2, 3};
        ExperimentPlan plan = planExperiment(c);
        // 6 methods × 3 n × 3 seeds, plus the upper bound once per seed.
        QCOMPARE(plan.runs.size(), size_t(6 * 3 * 3 + 3));
        std::set<std::string> dirs;
        for (const auto& r : plan.runs) {
            QVERIFY2(dirs.insert(r.runDir).second, r.runDir.c_str());
            // The same budget and protocol for every method; local samples and the seed from the run.
            QCOMPARE(r.job["iterations"].get<int64_t>(), int64_t(6));
            QCOMPARE(r.job["evaluation"], c["evaluation"]);
            QCOMPARE(r.job["seed"].get<uint64_t>(), r.seed);
            const Json j = r.job;
            const std::string dump = j.dump();
            if (r.method == "edge_only_all") QVERIFY(!j.contains("k"));
            else if (r.method == "barycenter" || r.method == "average" || r.method == "edge_only")
                QCOMPARE(j["k"].get<int64_t>(), r.shots);
            else QVERIFY(dump.find("\"k\":" + std::to_string(r.shots)) != std::string::npos);
        }
        QCOMPARE(plan.sources.size(), size_t(2));
        QVERIFY(!plan.sources[0].pretrain.is_null());
        QCOMPARE(plan.sources[0].pretrain["iterations"].get<int>(), 6);
        QVERIFY(!plan.barycenter.is_null());
        QVERIFY(!plan.average.is_null());
        // Ternarisation of the barycenter runs (default "of") for seed 1 at every n, per quantiser;
        // only fine-tuning jobs get the run's local samples.
        QCOMPARE(plan.ternarizations.size(), size_t(3 * 3));
        for (const auto& t : plan.ternarizations) {
            QCOMPARE(t.job["kind"].get<std::string>(), std::string("ternarize"));
            QVERIFY(t.job["generator"].get<std::string>().find("runs/x/runs/barycenter/n") == 0);
            QCOMPARE(t.job["evaluation"], c["evaluation"]);
            QCOMPARE(t.job.contains("k"), t.quantizer == "learned+ft");
            QCOMPARE(t.adaptation.is_null(), t.quantizer != "twn@adapt");
            if (t.adaptation.is_null()) continue;
            // Adaptation mode: the barycenter run's own adapt job (budget, n, seed), with a ternarised G,
            // scored from its checkpoint against the float run.
            const auto run = std::find_if(plan.runs.begin(), plan.runs.end(),
                                          [&](const PlannedRun& r) { return r.runDir == t.sourceRunDir; });
            QVERIFY(run != plan.runs.end());
            Json expected = run->job;
            expected["ternarize"] = {{"method", "twn"}};
            expected["run_dir"] = t.runDir + "_adaptation";
            QCOMPARE(t.adaptation, expected);
            QCOMPARE(t.job["ternary_checkpoint"].get<std::string>(), t.runDir + "_adaptation/checkpoints/latest.coalesce");
            QCOMPARE(t.job["iterations"].get<int>(), 0);
        }
        Json bad = c;
        bad["ternarization"]["quantizers"] = {{{"name", "a"}, {"mode", "adaptation"}, {"iterations", 5}}};
        QVERIFY(planErrorOf(bad).find("does not apply in adaptation mode") != std::string::npos);
        bad["ternarization"]["quantizers"] = {{{"name", "a"}, {"mode", "adaptation"}}};
        bad["ternarization"]["of"] = {"transfer_gan"};
        QVERIFY2(planErrorOf(bad).find("needs an adapt run") != std::string::npos, planErrorOf(bad).c_str());
        bad["ternarization"]["quantizers"] = {{{"name", "a"}, {"mode", "during"}}};
        QVERIFY(planErrorOf(bad).find("post_training or adaptation") != std::string::npos);
        c["ternarization"]["of"] = {"freezed_typo"};
        QVERIFY(planErrorOf(c).find("freezed_typo") != std::string::npos);
        c["ternarization"] = {{"quantizers", {"twn"}}, {"seeds", {9}}};
        QVERIFY(planErrorOf(c).find("seed 9") != std::string::npos);
        c["ternarization"] = {{"quantizers", {"twn"}}, {"job", {{"generator", "x"}}}};
        QVERIFY(planErrorOf(c).find("generator") != std::string::npos);
    }
    // A top-level stage-1 "mode" (mixture here) applies to the barycenter's stage 1; sequential transfer's
    // first step has one source and nothing to combine, so the mode is left out of it.
    void sequentialTransferDropsTheCombinationMode() {
        Json c = toyExperiment("runs/x");
        c.erase("ternarization");
        c["methods"] = Json::array({"barycenter", "sequential"});
        c["barycenter"]["mode"] = "mixture";
        ExperimentPlan plan = planExperiment(c);
        for (const auto& r : plan.runs) {
            if (r.method == "sequential") QVERIFY2(!r.stage1.contains("mode"), r.stage1.dump().c_str());
            if (r.method == "barycenter") QCOMPARE(r.stage1["mode"].get<std::string>(), std::string("mixture"));
        }
    }

    // Sequential transfer (source a → source b → local), method variants with their own stage 1 / stage 2
    // fields, and radii "auto": stage 1 per (n, seed), estimated from that run's own local samples.
    void planHasSequentialTransferVariantsAndAutoRadii() {
        Json c = toyExperiment("runs/x");
        c.erase("ternarization");
        c["shots"] = {4, 8};
        c["methods"] = Json::array({"barycenter", "sequential", "transfer_gan",
                                    {{"name", "bary_auto"}, {"method", "barycenter"},
                                     {"barycenter", {{"radii", "auto"}, {"radius_estimation", {{"space", "pixels"}}}}},
                                     {"adaptation", {{"barycenter_schedule", "cosine"}, {"critic_init", "@stage1_checkpoint"}}}}});
        // A second variant with the same stage-1 fields shares bary_auto's stage 1.
        c["methods"].push_back({{"name", "bary_auto_linear"}, {"method", "barycenter"}, {"barycenter", c["methods"][3]["barycenter"]},
                                {"adaptation", {{"barycenter_schedule", "linear"}}}});
        ExperimentPlan plan = planExperiment(c);
        QCOMPARE(plan.runs.size(), size_t(5 * 2 * 2));
        for (const auto& r : plan.runs)
            if (r.method == "bary_auto_linear")
                QCOMPARE(r.stage1["run_dir"].get<std::string>(),
                         "runs/x/stage1/bary_auto/n" + std::to_string(r.shots) + "_seed" + std::to_string(r.seed));
        // Stage 1: the shared barycenter, sequential's first fine-tuning, and one auto-radii barycenter per (n, seed).
        QCOMPARE(plan.stage1Jobs.size(), size_t(1 + 1 + 4));
        for (const auto& r : plan.runs) {
            if (r.method == "sequential") {
                QCOMPARE(r.stage1["sources"].size(), size_t(1));
                QCOMPARE(r.stage1["sources"][0]["name"].get<std::string>(), std::string("down"));
                QCOMPARE(r.stage1["init"]["generator"], Json(plan.sources[0].generator));
                QCOMPARE(r.stage1["iterations"].get<int>(), 6);
                QCOMPARE(r.job["kind"].get<std::string>(), std::string("barycenter"));
                QCOMPARE(r.job["init"]["generator"].get<std::string>(), r.stage1["run_dir"].get<std::string>() + "/generator.coalesce");
                QCOMPARE(r.job["sources"][0]["k"].get<int64_t>(), r.shots);
            } else if (r.method == "bary_auto") {
                QCOMPARE(r.stage1["radii"].get<std::string>(), std::string("auto"));
                const Json e = r.stage1["radius_estimation"];
                QCOMPARE(e["data"], c["target"]);
                QCOMPARE(e["k"].get<int64_t>(), r.shots);
                QCOMPARE(e["k_seed"].get<uint64_t>(), r.seed);
                QCOMPARE(e["space"].get<std::string>(), std::string("pixels"));
                QVERIFY(!r.stage1["sources"][0].contains("radius"));
                const std::string stage1 = r.stage1["run_dir"].get<std::string>();
                QCOMPARE(stage1, "runs/x/stage1/bary_auto/n" + std::to_string(r.shots) + "_seed" + std::to_string(r.seed));
                QCOMPARE(r.job["barycenter"].get<std::string>(), stage1 + "/generator.coalesce");
                QCOMPARE(r.job["critic_init"].get<std::string>(), stage1 + "/checkpoints/latest.coalesce");
                QCOMPARE(r.job["barycenter_schedule"].get<std::string>(), std::string("cosine"));
                QCOMPARE(r.runDir, "runs/x/runs/bary_auto/n" + std::to_string(r.shots) + "_seed" + std::to_string(r.seed));
            } else if (r.method == "barycenter") {
                QCOMPARE(r.stage1["run_dir"].get<std::string>(), std::string("runs/x/barycenter"));
                QVERIFY(!r.job.contains("barycenter_schedule"));
            } else if (r.method != "bary_auto_linear") {
                QVERIFY(r.stage1.is_null());
            }
        }
        // Each job the plan makes is accepted by its job kind.
        for (const auto& job : plan.stage1Jobs) createJob(job);
        // Variant errors name the problem.
        Json bad = c;
        bad["methods"] = Json::array({{{"name", "x"}}});
        QVERIFY2(planErrorOf(bad).find("\"method\"") != std::string::npos, planErrorOf(bad).c_str());
        bad["methods"] = Json::array({{{"name", "x"}, {"method", "edge_only"}, {"barycenter", {{"iterations", 1}}}}});
        QVERIFY2(planErrorOf(bad).find("barycenter and sequential methods only") != std::string::npos, planErrorOf(bad).c_str());
        bad["methods"] = Json::array({{{"name", "x"}, {"method", "transfer_gan"}, {"adaptation", {{"critic_init", "@stage1_checkpoint"}}}}});
        QVERIFY2(planErrorOf(bad).find("@stage1_checkpoint") != std::string::npos, planErrorOf(bad).c_str());
        bad["methods"] = Json::array({"barycenter", {{"name", "barycenter"}, {"method", "average"}}});
        QVERIFY2(planErrorOf(bad).find("listed twice") != std::string::npos, planErrorOf(bad).c_str());
        bad["methods"] = Json::array({{{"name", "a b"}, {"method", "average"}}});
        QVERIFY2(planErrorOf(bad).find("word") != std::string::npos, planErrorOf(bad).c_str());
        bad = c;
        bad["methods"] = Json::array({{{"name", "x"}, {"method", "barycenter"},
                                       {"barycenter", {{"radii", "auto"}, {"radius_estimation", {{"k", 3}}}}}}});
        QVERIFY2(planErrorOf(bad).find("radius_estimation.k") != std::string::npos, planErrorOf(bad).c_str());
    }

    void planErrorsNameTheField() {
        Json c = toyExperiment("runs/x");
        c["methods"] = {"barycenter", "wishful"};
        QVERIFY(planErrorOf(c).find("wishful") != std::string::npos);
        c = toyExperiment("runs/x");
        c["shots"] = {0};
        QVERIFY(planErrorOf(c).find("shots") != std::string::npos);
        c = toyExperiment("runs/x");
        c.erase("evaluation");
        QVERIFY(planErrorOf(c).find("evaluation") != std::string::npos);
        c = toyExperiment("runs/x");
        c["adaptation"]["k"] = 5;  // the experiment sets k per run
        QVERIFY(planErrorOf(c).find("\"k\"") != std::string::npos);
        c = toyExperiment("runs/x");
        c["sources"] = Json::array({c["sources"][0]});
        QVERIFY(planErrorOf(c).find("two sources") != std::string::npos);
        c = toyExperiment("runs/x");
        c["transfer_source"] = "nobody";
        QVERIFY(planErrorOf(c).find("nobody") != std::string::npos);
        c = toyExperiment("runs/x");
        c["colour"] = "blue";
        QVERIFY(planErrorOf(c).find("colour") != std::string::npos);
    }
    void transferPlaceholdersAreResolved() {
        ExperimentPlan plan = planExperiment(toyExperiment("runs/x"));
        for (const auto& r : plan.runs) {
            if (r.method != "freezed") continue;
            const Json j = resolveTransferSource(r.job, "best.coalesce", "best/checkpoints/latest.coalesce");
            QCOMPARE(j["init"]["generator"].get<std::string>(), std::string("best.coalesce"));
            QCOMPARE(j["sources"][0]["critic"].get<std::string>(), std::string("best/checkpoints/latest.coalesce"));
            QVERIFY(j.dump().find('@') == std::string::npos);
            QVERIFY_THROWS_EXCEPTION(Error, resolveTransferSource(r.job, "best.coalesce", ""));
        }
    }
    void toyExperimentRunsEndToEndAndContinues() {
        const std::string dir = test::scratchDir("experiment_toy");
        const Json config = toyExperiment(dir);
        ExperimentRecorder rec;
        CancelToken cancel;
        JobResult result = createJob(config)->run(rec, cancel);
        QVERIFY2(result.status == JobResult::Status::Finished, result.message.c_str());
        QCOMPARE(result.summary["failed_runs"].get<int>(), 0);
        QVERIFY(rec.monotone);
        QCOMPARE(rec.lastDone, rec.lastTotal);

        // Every run evaluated at the start, every 3 iterations and at the end, under the one protocol.
        ExperimentPlan plan = planExperiment(config);
        for (const auto& r : plan.runs) {
            const auto steps = evaluationSteps(fs::path(r.runDir) / "metrics.csv", "eval/w1");
            QVERIFY2((steps == std::set<int64_t>{0, 3, 6}), r.runDir.c_str());
            QVERIFY(!evaluationSteps(fs::path(r.runDir) / "metrics.csv", "eval/wall_seconds").empty());
        }
        // The report: one entry per method at n = 4 with both seeds finished.
        const Json summary = Json::parse(readBytes(fs::path(dir) / "report" / "summary.json"));
        QCOMPARE(summary["by_shots"].size(), size_t(1));
        QCOMPARE(summary["by_shots"][0]["methods"].size(), size_t(7));
        for (const auto& m : summary["by_shots"][0]["methods"]) QCOMPARE(m["finished"].get<int>(), 2);
        QVERIFY(fs::exists(fs::path(dir) / "report" / "summary.md"));
        QVERIFY(fs::exists(fs::path(dir) / "plan.json"));
        QVERIFY(readBytes(fs::path(dir) / "report" / "summary.md").find("transfer_gan") != std::string::npos);
        // Ternarisation rows: float and ternary scored under the protocol, real sizes, per-layer sparsity.
        QCOMPARE(summary["ternarization"].size(), size_t(3));
        for (const auto& row : summary["ternarization"]) {
            QVERIFY2(row["status"].get<std::string>() == "finished", row.dump().c_str());
            QVERIFY(row["metrics"]["w1"]["float"].get<double>() > 0 && row["metrics"]["w1"]["ternary"].get<double>() > 0);
            QVERIFY(row["sizes"]["ternary_weight_ratio"].get<double>() > 10);
            QCOMPARE(row["layers"].size(), size_t(4));
        }
        QVERIFY(readBytes(fs::path(dir) / "report" / "summary.md").find("## Ternarization") != std::string::npos);
        // The adaptation-mode row scores the G trained ternarised (its own run) against the float run.
        const Json adaptRow = summary["ternarization"][2];
        QCOMPARE(adaptRow["quantizer"].get<std::string>(), std::string("twn@adapt"));
        const std::string adaptDir = adaptRow["run_dir"].get<std::string>() + "_adaptation";
        QCOMPARE(adaptRow["options"]["ternary_checkpoint"].get<std::string>(), adaptDir + "/checkpoints/latest.coalesce");
        QVERIFY(fs::exists(fs::path(adaptDir) / "generator.ctern"));
        QCOMPARE(adaptRow["metrics"]["w1"]["float"], summary["ternarization"][0]["metrics"]["w1"]["float"]);
        QVERIFY(adaptRow["metrics"]["w1"]["ternary"] != summary["ternarization"][0]["metrics"]["w1"]["ternary"]);

        // Again: nothing is retrained (finished runs are kept untouched).
        const auto stamp = fs::last_write_time(fs::path(plan.runs.back().runDir) / "metrics.csv");
        ExperimentRecorder again;
        result = createJob(config)->run(again, cancel);
        QVERIFY2(result.status == JobResult::Status::Finished, result.message.c_str());
        QVERIFY(fs::last_write_time(fs::path(plan.runs.back().runDir) / "metrics.csv") == stamp);

        // Report only: nothing runs; a run whose summary is gone is reported as not run.
        fs::remove(fs::path(plan.runs.back().runDir) / "summary.json");
        Json reportOnly = config;
        reportOnly["report_only"] = true;
        result = createJob(reportOnly)->run(again, cancel);
        QVERIFY2(result.status == JobResult::Status::Finished, result.message.c_str());
        QCOMPARE(result.summary["failed_runs"].get<int>(), 1);
        QVERIFY(!fs::exists(fs::path(plan.runs.back().runDir) / "summary.json"));
        QVERIFY(readBytes(fs::path(dir) / "report" / "summary.md").find("not run") != std::string::npos);

        // A changed budget in the same run_dir is refused, naming the field.
        Json changed = config;
        changed["adaptation"]["lr"] = 0.01;
        result = createJob(changed)->run(again, cancel);
        QVERIFY(result.status == JobResult::Status::Failed);
        QVERIFY2(result.message.find("lr") != std::string::npos, result.message.c_str());

        // So is another precision: the runtime may change (threads, device), its arithmetic may not.
        Json otherPrecision = config;
        otherPrecision["runtime"]["precision"] = "bf16";
        result = createJob(otherPrecision)->run(again, cancel);
        QVERIFY(result.status == JobResult::Status::Failed);
        QVERIFY2(result.message.find("was trained in fp32 and this experiment asks for bf16") != std::string::npos,
                 result.message.c_str());
    }
    // Two shards side by side (threads here, processes in practice) share the sources and stage 1 under a
    // file lock and split the runs; the report-only pass then sees every run finished.
    void shardsSplitTheRunsAndShareDependencies() {
        const std::string dir = test::scratchDir("experiment_shards");
        Json config = toyExperiment(dir);
        config.erase("ternarization");
        config["methods"] = {"barycenter", "sequential", "transfer_gan", "edge_only"};
        JobResult results[2];
        std::vector<std::thread> shards;
        for (int i = 0; i < 2; ++i)
            shards.emplace_back([&, i] {
                Json c = config;
                c["shard"] = std::to_string(i) + "/2";
                ExperimentRecorder rec;
                CancelToken cancel;
                results[i] = createJob(c)->run(rec, cancel);
            });
        for (auto& t : shards) t.join();
        for (const auto& r : results) QVERIFY2(r.status == JobResult::Status::Finished, r.message.c_str());
        QVERIFY(!fs::exists(fs::path(dir) / "report" / "summary.json"));  // a shard writes no report
        // Every stage 1 and source was made once: its log says it started from step 0 exactly once.
        for (const auto& stage1 : planExperiment(config).stage1Jobs) {
            const std::string log = readBytes(fs::path(stage1["run_dir"].get<std::string>()) / "log.txt");
            size_t starts = 0;
            for (size_t at = log.find("from step 0"); at != std::string::npos; at = log.find("from step 0", at + 1)) ++starts;
            QCOMPARE(starts, size_t(1));
        }
        Json report = config;
        report["report_only"] = true;
        ExperimentRecorder rec;
        CancelToken cancel;
        JobResult merged = createJob(report)->run(rec, cancel);
        QVERIFY2(merged.status == JobResult::Status::Finished, merged.message.c_str());
        QCOMPARE(merged.summary["failed_runs"].get<int>(), 0);
        QCOMPARE(merged.summary["runs"].get<int>(), 4 * 2);
        Json bad = config;
        bad["shard"] = "2/2";
        QVERIFY_THROWS_EXCEPTION(Error, createJob(bad));
        bad["shard"] = "one";
        QVERIFY_THROWS_EXCEPTION(Error, createJob(bad));
    }
    // A shard that never started (or was killed) leaves its runs to the others: shard 0 of 2, alone, runs
    // its own runs and then claims and runs the rest, so the report-only pass finds every run finished.
    void aLoneShardTakesTheRunsNobodyHolds() {
        const std::string dir = test::scratchDir("experiment_lone_shard");
        Json config = toyExperiment(dir);
        config.erase("ternarization");
        config["methods"] = {"barycenter", "edge_only"};
        Json shard = config;
        shard["shard"] = "0/2";
        ExperimentRecorder rec;
        CancelToken cancel;
        JobResult r = createJob(shard)->run(rec, cancel);
        QVERIFY2(r.status == JobResult::Status::Finished, r.message.c_str());
        for (const auto& planned : planExperiment(config).runs) {
            QVERIFY2(RunDirectory::isFinished(planned.runDir), planned.runDir.c_str());
            // Each run's claim is a lock file named after its folder (the same name on every machine).
            const std::string name = fs::path(planned.runDir).lexically_relative(dir).generic_string();
            std::string lock;
            for (char c : name) lock += c == '/' ? std::string("__") : std::string(1, c);
            QVERIFY2(fs::exists(fs::path(dir) / "locks" / (lock + ".lock")), lock.c_str());
        }
        Json report = config;
        report["report_only"] = true;
        JobResult merged = createJob(report)->run(rec, cancel);
        QVERIFY2(merged.status == JobResult::Status::Finished, merged.message.c_str());
        QCOMPARE(merged.summary["failed_runs"].get<int>(), 0);
        QCOMPARE(merged.summary["runs"].get<int>(), 2 * 2);
    }
    void cancelledExperimentSaysSo() {
        const std::string dir = test::scratchDir("experiment_cancel");
        CancelToken cancel;
        cancel.requestCancel();
        ExperimentRecorder rec;
        JobResult result = createJob(toyExperiment(dir))->run(rec, cancel);
        QVERIFY(result.status == JobResult::Status::Cancelled);
    }
};

COALESCE_TEST_APPLESS_MAIN(TestExperiment)
#include "test_experiment.moc"
