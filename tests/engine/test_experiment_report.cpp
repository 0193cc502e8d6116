// Experiment reports over synthetic run directories whose metrics are known in closed form: mean ± std
// over seeds, iterations and wall time to reach the reference's final FID (per seed, with the reference
// mean for a seed the reference lacks, a seed that never reaches it, a failed run), the files written,
// errors for corrupt metrics; and the line-chart renderer on degenerate input.
#include "support/test_main.h"  // Qt Test, and the suite registration

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <sstream>

#include "core/error.h"
#include "imageio/chart_axes.h"
#include "imageio/image_io.h"
#include "imageio/line_chart.h"
#include "report/experiment_report.h"
#include "report/seed_statistics.h"
#include "report/metrics_csv.h"
#include "report/ternary_report.h"
#include "support/test_support.h"

using namespace coalesce;
using nlohmann::json;
namespace fs = std::filesystem;

using coalesce::test::readBytes;

namespace {

// Independent of the code under test: the sample standard deviation (n − 1).
double sampleStd(const std::vector<double>& v) {
    double mean = 0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(v.size());
    double squares = 0;
    for (double x : v) squares += (x - mean) * (x - mean);
    return std::sqrt(squares / static_cast<double>(v.size() - 1));
}
double meanOf(const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return sum / static_cast<double>(v.size());
}

// A run directory as the trainer writes it: training losses every 10 steps, FID and KID every 50,
// the training wall time (step² / 1000 · seed seconds, convex so interpolation is visible) every 100.
// Returns the number of metric rows written.
int writeSyntheticRun(const std::string& dir, std::uint64_t seed, const std::function<double(int)>& fid,
                      int lastStep = 1000) {
    fs::create_directories(fs::path(dir) / "samples");
    std::ofstream csv(fs::path(dir) / "metrics.csv");
    csv << "step,name,value\n";
    int rows = 0;
    for (int step = 0; step <= lastStep; step += 10) {
        csv << step << ",loss_g," << 1.0 / (step + 1) << "\n" << step << ",loss_d/0," << -0.5 << "\n";
        rows += 2;
        if (step % 50 == 0) {
            csv << step << ",eval/fid," << std::setprecision(12) << fid(step) << "\n";
            csv << step << ",eval/kid," << 0.001 * static_cast<double>(seed) + (lastStep - step) * 1e-5 << "\n";
            rows += 2;
        }
        if (step % 100 == 0) {
            csv << step << ",eval/wall_seconds," << step * step / 1000.0 * static_cast<double>(seed) << "\n";
            ++rows;
        }
    }
    return rows;
}

ImageU8 solidImage(int width, int height, int channels, std::uint8_t value) {
    ImageU8 image;
    image.width = width, image.height = height, image.channels = channels;
    image.pixels.assign(static_cast<size_t>(width) * height * channels, value);
    return image;
}

const json& shotsEntry(const json& summary, std::int64_t shots) {
    for (const auto& entry : summary["by_shots"])
        if (entry["shots"] == shots) return entry;
    throw std::runtime_error("no by_shots entry for n=" + std::to_string(shots));
}
const json& methodEntry(const json& entry, const std::string& method) {
    for (const auto& m : entry["methods"])
        if (m["method"] == method) return m;
    throw std::runtime_error("no methods entry for " + method);
}

int countLines(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) ++n;
    return n;
}

// Pixels within a small distance of an RGB colour (anti-aliasing blends the edges).
int pixelsNear(const ImageU8& image, int r, int g, int b) {
    int n = 0;
    for (size_t i = 0; i + 2 < image.pixels.size(); i += 3)
        n += std::abs(image.pixels[i] - r) + std::abs(image.pixels[i + 1] - g) + std::abs(image.pixels[i + 2] - b) < 40;
    return n;
}

// The experiment every report test uses (see the offsets below for the closed forms).
struct SyntheticExperiment {
    std::string root, out;
    std::vector<ExperimentRunRecord> runs;
    int finishedRows = 0;
};

// n=20: reference edge_only FID = 100 − step/20 + offB (seeds 1–3); barycenter FID = 110 − step/10 +
// offA (seeds 1–4; seed 4 has no reference seed) plus a failed seed 5; transfer_gan FID = 100 − step/20
// + offC (seeds 1–3, seed 3 never reaches) plus a cancelled seed 4. n=50: one seed each.
const double offB[] = {0, 2, -1};
const double offA[] = {0, 5, 1, 3};
const double offC[] = {-10, -10, 5};

SyntheticExperiment makeExperiment(const std::string& name) {
    SyntheticExperiment e;
    e.root = test::scratchDir(name);
    e.out = e.root + "/report";
    auto add = [&](const std::string& method, std::int64_t shots, std::uint64_t seed, const std::string& status,
                   const std::function<double(int)>& fid) {
        const std::string dir = e.root + "/" + method + "_n" + std::to_string(shots) + "_s" + std::to_string(seed);
        const int rows = fid ? writeSyntheticRun(dir, seed, fid) : 0;
        if (status == "finished") e.finishedRows += rows;
        e.runs.push_back({method, shots, seed, dir, 100.0 * static_cast<double>(seed), status});
    };
    for (std::uint64_t s = 1; s <= 4; ++s)
        add("barycenter", 20, s, "finished", [s](int step) { return 110 - step / 10.0 + offA[s - 1]; });
    add("barycenter", 20, 5, "failed: loss is NaN", nullptr);
    fs::create_directories(e.root + "/barycenter_n20_s5");
    std::ofstream(e.root + "/barycenter_n20_s5/metrics.csv") << "garbage, never read\n";
    for (std::uint64_t s = 1; s <= 3; ++s)
        add("transfer_gan", 20, s, "finished", [s](int step) { return 100 - step / 20.0 + offC[s - 1]; });
    add("transfer_gan", 20, 4, "cancelled", nullptr);
    for (std::uint64_t s = 1; s <= 3; ++s)
        add("edge_only", 20, s, "finished", [s](int step) { return 100 - step / 20.0 + offB[s - 1]; });
    add("barycenter", 50, 1, "finished", [](int step) { return 110 - step / 10.0; });
    add("edge_only", 50, 1, "finished", [](int step) { return 100 - step / 20.0; });

    // Sample grids of barycenter n=20 seed 1: the last "samples" grid is step 1000 (16×12); a grid of
    // another tag at a later step must not be taken.
    const std::string samples = e.runs[0].runDir + "/samples/";
    writeImage(samples + "step_000500.png", solidImage(8, 8, 1, 10));
    writeImage(samples + "step_001000.png", solidImage(16, 12, 3, 200));
    writeImage(samples + "real_step_002000.png", solidImage(4, 4, 1, 99));
    return e;
}

ExperimentReportOptions testOptions() {
    ExperimentReportOptions options;
    options.title = "Synthetic experiment";
    options.plotMetrics = {"eval/fid", "eval/kid", "eval/w1"};  // eval/w1 is never logged
    options.tableMetrics = {"eval/fid", "eval/kid", "eval/w1"};
    options.protocol = {{"eval_every", 50}, {"fid_samples", 1000}};
    return options;
}

}  // namespace

class TestExperimentReport : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // The per-quantiser summary of ternarisation rows: mean and sample std over finished runs only, in the
    // order quantisers first appear; the markdown shows it when a quantiser has two or more runs.
    void ternarizationIsSummarisedPerQuantizer() {
        auto row = [](const char* quantizer, const char* status, double ratio, double zeros, double fileRatio) {
            nlohmann::json r{{"run", "barycenter n=20 seed 1"}, {"quantizer", quantizer}, {"status", status}};
            if (std::string(status) == "finished")
                r.update({{"fid_ratio", ratio}, {"zero_fraction", zeros}, {"sizes", {{"whole_file_ratio", fileRatio}}},
                          {"metrics", nlohmann::json::object()}, {"layers", nlohmann::json::array()},
                          {"float_layers", nlohmann::json::array()}, {"grids", {{"float", ""}, {"ternary", ""}}}});
            return r;
        };
        const nlohmann::json rows = nlohmann::json::array(
            {row("twn", "finished", 1.0, 0.3, 15.0), row("ttq", "finished", 1.5, 0.1, 15.2),
             row("twn", "finished", 1.2, 0.5, 15.0), row("twn", "failed: x", 0, 0, 0)});
        const nlohmann::json a = report::aggregateTernarization(rows);
        QCOMPARE(a.size(), size_t(2));
        QCOMPARE(a[0]["quantizer"].get<std::string>(), std::string("twn"));
        QCOMPARE(a[0]["runs"].get<int>(), 2);
        QVERIFY(std::abs(a[0]["fid_ratio"]["mean"].get<double>() - 1.1) < 1e-12);
        QVERIFY(std::abs(a[0]["fid_ratio"]["std"].get<double>() - std::sqrt(0.02)) < 1e-12);  // (0.1² + 0.1²) / 1
        QVERIFY2(std::abs(a[0]["zero_fraction"]["mean"].get<double>() - 0.4) < 1e-12, a.dump().c_str());
        QCOMPARE(a[1]["runs"].get<int>(), 1);
        QVERIFY(a[1]["fid_ratio"]["std"].is_null());
        const std::string md = report::renderTernaryMarkdown(rows);
        QVERIFY2(md.find("| twn | 2 | 1.100 ± 0.1414 | 40.00 ± 14.14 | 15.00 ± 0.000× |") != std::string::npos, md.c_str());
        // A single run per quantiser: no summary table.
        const std::string single = report::renderTernaryMarkdown(nlohmann::json::array({rows[0], rows[1]}));
        QVERIFY(single.find("Per quantiser") == std::string::npos);
    }

    void metricSeriesLookups() {
        const std::string dir = test::scratchDir("metric-series");
        std::ofstream(dir + "/metrics.csv") << "step,name,value\n0,eval/fid,10\n100,eval/fid,4\n50,eval/fid,7\n"
                                               "100,eval/fid,3\n200,eval/fid,nan\n300,eval/fid,2\n";
        const auto metrics = report::readMetricsCsv(dir + "/metrics.csv");
        const auto& fid = metrics.get("eval/fid");
        QCOMPARE(fid.steps, (std::vector<std::int64_t>{0, 50, 100, 200, 300}));  // sorted, repeated step once
        QCOMPARE(fid.values[2], 3.0);                                           // the later row wins
        QCOMPARE(fid.interpolateAt(25), 8.5);
        QCOMPARE(fid.interpolateAt(100), 3.0);
        QVERIFY(std::isnan(fid.interpolateAt(301)));
        QVERIFY(std::isnan(fid.interpolateAt(-1)));
        QCOMPARE(*fid.firstStepAtOrBelow(7), std::int64_t(50));
        QCOMPARE(*fid.firstStepAtOrBelow(2.5), std::int64_t(300));  // the NaN at 200 never qualifies
        QVERIFY(!fid.firstStepAtOrBelow(1).has_value());
        QCOMPARE(fid.finalValue(), 2.0);
        QCOMPARE(metrics.lastStep, std::int64_t(300));
        QVERIFY(metrics.get("eval/kid").empty());
    }

    void summaryNumbersMatchHandComputedValues() {
        auto e = makeExperiment("report-numbers");
        const auto report = writeExperimentReport(e.out, e.runs, testOptions());
        const json summary = json::parse(readBytes(report.summaryJsonPath));
        QVERIFY(summary == report.summary);  // the file holds what was returned
        const json& n20 = shotsEntry(summary, 20);

        // Final FID of barycenter: 110 − 100 + offA = 10 + offA over seeds 1–4; failed seed 5 left out.
        const json& bary = methodEntry(n20, "barycenter");
        const std::vector<double> baryFinal = {10 + offA[0], 10 + offA[1], 10 + offA[2], 10 + offA[3]};
        QCOMPARE(bary["final"]["eval/fid"]["count"].get<int>(), 4);
        QVERIFY(std::fabs(bary["final"]["eval/fid"]["mean"].get<double>() - meanOf(baryFinal)) < 1e-9);
        QVERIFY(std::fabs(bary["final"]["eval/fid"]["std"].get<double>() - sampleStd(baryFinal)) < 1e-9);
        // KID at the last step is 0.001 · seed.
        QVERIFY(std::fabs(bary["final"]["eval/kid"]["mean"].get<double>() - 0.0025) < 1e-12);
        QVERIFY(std::fabs(bary["final"]["eval/kid"]["std"].get<double>() - sampleStd({0.001, 0.002, 0.003, 0.004})) < 1e-12);
        QCOMPARE(bary["final"]["eval/w1"]["count"].get<int>(), 0);
        QVERIFY(bary["final"]["eval/w1"]["mean"].is_null());
        QCOMPARE(bary["runs"].get<int>(), 5);
        QCOMPARE(bary["finished"].get<int>(), 4);
        QCOMPARE(bary["not_finished"][0]["seed"].get<int>(), 5);
        QCOMPARE(bary["not_finished"][0]["status"].get<std::string>(), std::string("failed: loss is NaN"));
        QCOMPARE(bary["final_step"]["max"].get<int>(), 1000);
        QVERIFY(std::fabs(bary["run_wall_seconds"]["mean"].get<double>() - 250) < 1e-9);  // 100·seed, seeds 1–4

        // Reference: 50 + offB.
        const std::vector<double> refFinal = {50 + offB[0], 50 + offB[1], 50 + offB[2]};
        QVERIFY(std::fabs(n20["reference"]["final"]["mean"].get<double>() - meanOf(refFinal)) < 1e-9);
        QVERIFY(std::fabs(n20["reference"]["final"]["std"].get<double>() - sampleStd(refFinal)) < 1e-9);
    }

    // Every method against the first (the experiment's own) on the same seeds: the mean difference, its
    // 95% t-interval and the seeds where the first is lower, by hand from the closed forms above.
    void pairedDifferencesAgainstTheFirstMethod() {
        auto e = makeExperiment("report-paired");
        const auto report = writeExperimentReport(e.out, e.runs, testOptions());
        const json& paired = shotsEntry(report.summary, 20)["paired"];
        QCOMPARE(paired["method"].get<std::string>(), std::string("barycenter"));
        // transfer_gan − barycenter on seeds 1–3: (50 + offC) − (10 + offA) = 30, 25, 44.
        const json& tg = paired["comparisons"][0];
        QCOMPARE(tg["method"].get<std::string>(), std::string("transfer_gan"));
        QCOMPARE(tg["difference"]["count"].get<int>(), 3);
        QVERIFY(std::fabs(tg["difference"]["mean"].get<double>() - 33) < 1e-9);
        QVERIFY(std::fabs(tg["difference"]["std"].get<double>() - std::sqrt(97.0)) < 1e-9);
        QVERIFY(std::fabs(tg["half_width_95"].get<double>() - 4.3027 * std::sqrt(97.0) / std::sqrt(3.0)) < 1e-3);
        QCOMPARE(tg["paired_lower"].get<int>(), 3);
        // edge_only − barycenter: (50 + offB) − (10 + offA) = 40, 37, 38.
        const json& edge = paired["comparisons"][1];
        QVERIFY(std::fabs(edge["difference"]["mean"].get<double>() - 115.0 / 3) < 1e-9);
        // n = 50: one seed each, no interval.
        const json& one = shotsEntry(report.summary, 50)["paired"]["comparisons"][0];
        QCOMPARE(one["difference"]["count"].get<int>(), 1);
        QVERIFY(one["half_width_95"].is_null());
        const std::string md = readBytes(report.markdownPath);
        QVERIFY2(md.find("Paired with `barycenter`") != std::string::npos && md.find("| transfer_gan | 3 | 33") != std::string::npos,
                 md.c_str());
        // Another paired method by option.
        auto options = testOptions();
        options.pairedMethod = "edge_only";
        const auto other = writeExperimentReport(e.root + "/report2", e.runs, options);
        QCOMPARE(shotsEntry(other.summary, 20)["paired"]["method"].get<std::string>(), std::string("edge_only"));
    }

    // The t quantile behind the paired intervals, against scipy's.
    void studentQuantilesMatchScipy() {
        std::string args, out;
        for (int df : {1, 2, 3, 4, 5, 9, 10, 19, 29, 30, 31, 40, 60, 120, 1000}) args += " " + std::to_string(df);
        QCOMPARE(test::runPython("student_t.py", args, &out), 0);
        for (const auto& pair : json::parse(out)) {
            const int df = pair[0].get<int>();
            const double exact = pair[1].get<double>();
            QVERIFY2(std::fabs(report::studentT95(df) - exact) < 1e-3, qPrintable(QString("df %1: %2 vs %3").arg(df).arg(report::studentT95(df)).arg(exact)));
        }
    }

    void iterationsAndTimeToReachTheReference() {
        auto e = makeExperiment("report-reach");
        const json summary = writeExperimentReport(e.out, e.runs, testOptions()).summary;
        const json& n20 = shotsEntry(summary, 20);

        // barycenter seed s reaches 50 + offB[s] at the first multiple of 50 with 110 − t/10 + offA ≤ it:
        // seed 1: t ≥ 600; seed 2: t ≥ 630 → 650; seed 3: t ≥ 620 → 650; seed 4 (no reference seed 4,
        // so the reference mean 50.33): t ≥ 626.7 → 650.
        const json& reach = methodEntry(n20, "barycenter")["reach"];
        QCOMPARE(reach["seeds"].get<int>(), 4);
        QCOMPARE(reach["reached"].get<int>(), 4);
        std::vector<double> steps;
        for (const auto& s : reach["per_seed"]) steps.push_back(s["step"].get<double>());
        QCOMPARE(steps, (std::vector<double>{600, 650, 650, 650}));
        QVERIFY(std::fabs(reach["steps"]["mean"].get<double>() - 637.5) < 1e-9);
        QVERIFY(std::fabs(reach["steps"]["std"].get<double>() - sampleStd(steps)) < 1e-9);
        QCOMPARE(reach["per_seed"][0]["threshold_from"].get<std::string>(), std::string("same seed"));
        QCOMPARE(reach["per_seed"][3]["threshold_from"].get<std::string>(), std::string("reference mean"));
        QVERIFY(std::fabs(reach["per_seed"][3]["threshold"].get<double>() - (50 + (offB[0] + offB[1] + offB[2]) / 3)) < 1e-9);

        // Wall time is logged every 100 steps as t²/1000 · seed: step 600 is logged (360 s for seed 1),
        // step 650 is interpolated linearly between 600 and 700: (360 + 490) / 2 · seed.
        const std::vector<double> seconds = {360, 425 * 2, 425 * 3, 425 * 4};
        for (int i = 0; i < 4; ++i)
            QVERIFY2(std::fabs(reach["per_seed"][i]["seconds"].get<double>() - seconds[i]) < 1e-9,
                     reach["per_seed"][i].dump().c_str());
        QVERIFY(std::fabs(reach["seconds"]["mean"].get<double>() - meanOf(seconds)) < 1e-9);
        QVERIFY(std::fabs(reach["seconds"]["std"].get<double>() - sampleStd(seconds)) < 1e-9);

        // transfer_gan: 100 − t/20 + offC ≤ 50 + offB: seeds 1, 2 at 800, seed 3 never (final 55 > 49).
        const json& transfer = methodEntry(n20, "transfer_gan");
        QCOMPARE(transfer["reach"]["reached"].get<int>(), 2);
        QCOMPARE(transfer["reach"]["seeds"].get<int>(), 3);  // the cancelled seed 4 is not counted
        QVERIFY(transfer["reach"]["per_seed"][2]["step"].is_null());
        QVERIFY(transfer["reach"]["per_seed"][2]["seconds"].is_null());
        QCOMPARE(transfer["reach"]["steps"]["mean"].get<double>(), 800.0);
        QCOMPARE(transfer["reach"]["steps"]["std"].get<double>(), 0.0);
        QCOMPARE(transfer["not_finished"][0]["status"].get<std::string>(), std::string("cancelled"));

        // The reference reaches its own (strictly decreasing) final value only at the last step.
        QCOMPARE(methodEntry(n20, "edge_only")["reach"]["steps"]["mean"].get<double>(), 1000.0);

        // n=50: one seed each, so no std anywhere.
        const json& n50 = shotsEntry(summary, 50);
        const json& bary50 = methodEntry(n50, "barycenter");
        QCOMPARE(bary50["reach"]["per_seed"][0]["step"].get<int>(), 600);
        QVERIFY(bary50["reach"]["steps"]["std"].is_null());
        QVERIFY(bary50["final"]["eval/fid"]["std"].is_null());
        QCOMPARE(bary50["final"]["eval/fid"]["mean"].get<double>(), 10.0);
    }

    void filesAreWritten() {
        if (!imageIoAvailable()) QSKIP("built without OpenCV");
        auto e = makeExperiment("report-files");
        const auto report = writeExperimentReport(e.out, e.runs, testOptions());

        // Plots: FID and KID at both n; W1 was never logged, so no plot for it.
        QCOMPARE(report.plots.size(), size_t(4));
        for (const char* name : {"eval_fid_n20.png", "eval_kid_n20.png", "eval_fid_n50.png", "eval_kid_n50.png"}) {
            const ImageU8 plot = readImage(e.out + "/plots/" + name);
            QCOMPARE(plot.width, 900);
            QCOMPARE(plot.height, 560);
        }
        QVERIFY(!fs::exists(e.out + "/plots/eval_w1_n20.png"));

        // The last "samples" grid (16×12), not the other tag's later one nor the earlier step.
        const ImageU8 grid = readImage(e.out + "/grids/barycenter_n20_seed1.png");
        QCOMPARE(grid.width, 16);
        QCOMPARE(grid.height, 12);
        QVERIFY(!fs::exists(e.out + "/grids/barycenter_n20_seed2.png"));  // that run has no samples
        QCOMPARE(report.summary["runs"][0]["grid"].get<std::string>(), std::string("grids/barycenter_n20_seed1.png"));
        QVERIFY(report.summary["runs"][1]["grid"].is_null());

        // Every row of every finished run, none of the failed one.
        QCOMPARE(countLines(e.out + "/metrics_all.csv"), 1 + e.finishedRows);
        const std::string all = readBytes(e.out + "/metrics_all.csv");
        QVERIFY(all.rfind("method,shots,seed,step,name,value\n", 0) == 0);
        QVERIFY(all.find("\nbarycenter,20,1,650,eval/fid,") != std::string::npos);
        QVERIFY(all.find("\nbarycenter,20,5,") == std::string::npos);

        // The markdown: protocol, table cells, unfinished runs, plots, grids and the headline.
        const std::string md = readBytes(report.markdownPath);
        QVERIFY(md.rfind("# Synthetic experiment\n", 0) == 0);
        QVERIFY(md.find("\"fid_samples\": 1000") != std::string::npos);
        QVERIFY(md.find("2/3 reached") != std::string::npos);
        QVERIFY(md.find("not reached") == std::string::npos);  // every method reaches on some seed
        QVERIFY(md.find("`barycenter` seed 5: failed: loss is NaN") != std::string::npos);
        QVERIFY(md.find("| barycenter | 12.25 ± 2.22 | 0.002500 ± 0.001291 | 4/5 | 1000 |") != std::string::npos);
        QVERIFY(md.find("± —") != std::string::npos);  // n=50: single seeds
        QVERIFY(md.find("](plots/eval_fid_n20.png)") != std::string::npos);
        QVERIFY(md.find("](grids/barycenter_n20_seed1.png)") != std::string::npos);
        QVERIFY(md.find("| W1 |") == std::string::npos);  // never logged: no column
        const std::string headline = shotsEntry(report.summary, 20)["headline"].get<std::string>();
        QVERIFY2(headline.find("n=20: barycenter reaches edge_only's final FID (50.33) at iteration 638 ± 25 (4/4 seeds)") == 0,
                 headline.c_str());
        QVERIFY2(headline.find("transfer_gan at 800 ± 0 (2/3 seeds)") != std::string::npos, headline.c_str());
        QVERIFY2(headline.find("vs edge_only 50.33 ± 1.53.") != std::string::npos, headline.c_str());
        QVERIFY(md.find(headline) != std::string::npos);
        QCOMPARE(shotsEntry(report.summary, 50)["headline"].get<std::string>(),
                 std::string("n=50: barycenter reaches edge_only's final FID (50.00) at iteration 600 (1/1 seeds); "
                             "final FID: barycenter 10.00 vs edge_only 50.00."));
    }

    void withoutReferenceRunsThereIsNoReachComparison() {
        auto e = makeExperiment("report-no-reference");
        std::vector<ExperimentRunRecord> runs;
        for (const auto& run : e.runs)
            if (run.method != "edge_only" || run.shots != 20) runs.push_back(run);
        const json summary = writeExperimentReport(e.out, runs, testOptions()).summary;
        const json& n20 = shotsEntry(summary, 20);
        QVERIFY(methodEntry(n20, "barycenter")["reach"].is_null());
        QCOMPARE(n20["reference"]["final"]["count"].get<int>(), 0);
        const std::string headline = n20["headline"].get<std::string>();
        QVERIFY2(headline.find("no finished edge_only run") != std::string::npos, headline.c_str());
        QVERIFY(!methodEntry(shotsEntry(summary, 50), "barycenter")["reach"].is_null());  // n=50 still has one
    }

    void corruptOrMissingMetricsNameTheFile() {
        auto e = makeExperiment("report-corrupt");
        const std::string path = e.runs[1].runDir + "/metrics.csv";  // barycenter n=20 seed 2, finished
        auto expectError = [&](const std::string& expectedPart) {
            try {
                writeExperimentReport(e.out, e.runs, testOptions());
                QFAIL("expected an error");
            } catch (const Error& error) {
                const std::string message = error.what();
                QVERIFY2(message.find(path) != std::string::npos, message.c_str());
                QVERIFY2(message.find(expectedPart) != std::string::npos, message.c_str());
            }
        };
        std::ofstream(path) << "step,name,value\n0,eval/fid,100\n50,eval/fid,abc\n";
        expectError(":3: bad value 'abc'");
        std::ofstream(path) << "step,value\n0,1\n";
        expectError(":1: expected the header");
        std::ofstream(path) << "step,name,value\nx,eval/fid,3\n";
        expectError(":2: bad step");
        fs::remove(path);
        expectError("no such file");
        // The same problem in a run that did not finish is only reported.
        e.runs[1].status = "failed: out of memory";
        const auto report = writeExperimentReport(e.out, e.runs, testOptions());
        QCOMPARE(methodEntry(shotsEntry(report.summary, 20), "barycenter")["finished"].get<int>(), 3);
    }

    void duplicateRunsAreRejected() {
        auto e = makeExperiment("report-duplicate");
        e.runs.push_back(e.runs[0]);
        QVERIFY_THROWS_EXCEPTION(Error, writeExperimentReport(e.out, e.runs, testOptions()));
    }

    void niceTicks() {
        const auto x = chart::linearTicks(0, 1000, 6, false);
        QCOMPARE(x.values, (std::vector<double>{0, 200, 400, 600, 800, 1000}));
        const auto y = chart::linearTicks(0.013, 0.087, 5, true);
        QVERIFY(y.lo <= 0.013 && y.hi >= 0.087);
        QVERIFY(std::fabs(y.step - 0.02) < 1e-12);
        QCOMPARE(chart::formatTick(y.values[1], y.step), std::string("0.02"));
        const auto decades = chart::logTicks(1, 1e6, 4);
        QVERIFY(decades.values.size() >= 3 && decades.values.size() <= 4);
        QCOMPARE(decades.values.front(), 1.0);
        const auto narrow = chart::logTicks(100, 150, 5);  // under a decade: linear nice values
        QVERIFY(narrow.values.size() >= 3);
        for (double v : narrow.values) QVERIFY(v >= 100 && v <= 150);
        QCOMPARE(chart::niceNumber(0.7, false), 1.0);
        QCOMPARE(chart::niceNumber(340, true), 500.0);
    }

    void lineChartSurvivesDegenerateInput() {
        if (!imageIoAvailable()) QSKIP("built without OpenCV");
        const double nan = std::nan("");
        const ChartColour magenta{200, 0, 200};
        auto chartWith = [&](std::vector<double> x, std::vector<double> y, bool logY) {
            LineChart chart;
            chart.title = "degenerate ± case";
            chart.xLabel = "iteration";
            chart.yLabel = "FID";
            chart.logY = logY;
            chart.width = 420;
            chart.height = 300;
            LineSeries s;  // no label: no legend, so the colour counts below see only the data
            s.colour = magenta;
            s.x = std::move(x);
            s.y = std::move(y);
            chart.series.push_back(s);
            return chart;
        };
        auto checkSize = [](const ImageU8& image, int w, int h) {
            QCOMPARE(image.width, w);
            QCOMPARE(image.height, h);
            QCOMPARE(image.channels, 3);
            QCOMPARE(image.pixels.size(), size_t(w) * h * 3);
        };
        // One point: drawn as a marker.
        auto image = renderLineChart(chartWith({5}, {3}, false));
        checkSize(image, 420, 300);
        QVERIFY(pixelsNear(image, 200, 0, 200) >= 20);
        // All equal: a flat line across the plot.
        image = renderLineChart(chartWith({0, 100, 200}, {7, 7, 7}, false));
        checkSize(image, 420, 300);
        QVERIFY(pixelsNear(image, 200, 0, 200) >= 400);
        // Only NaNs: an empty frame.
        image = renderLineChart(chartWith({0, 1, 2}, {nan, nan, nan}, false));
        checkSize(image, 420, 300);
        QCOMPARE(pixelsNear(image, 200, 0, 200), 0);
        // Log y with non-positive values, a NaN and a band reaching below zero.
        auto logChart = chartWith({0, 1, 2, 3, 4}, {-1, 0, 5, nan, 50}, true);
        logChart.series[0].yLow = {-2, -1, -3, nan, 40};
        logChart.series[0].yHigh = {1, 2, 8, nan, 60};
        checkSize(renderLineChart(logChart), 420, 300);
        // Absurd magnitudes and infinities are skipped like NaN.
        checkSize(renderLineChart(chartWith({0, 1, 2, 3}, {1e300, -1e300, INFINITY, 2}, false)), 420, 300);
        // No series at all, default size.
        LineChart empty;
        checkSize(renderLineChart(empty), empty.width, empty.height);
        // Inconsistent input is an error, not a crash.
        QVERIFY_THROWS_EXCEPTION(Error, renderLineChart(chartWith({0, 1}, {1}, false)));
        auto badBand = chartWith({0, 1}, {1, 2}, false);
        badBand.series[0].yLow = {0};
        QVERIFY_THROWS_EXCEPTION(Error, renderLineChart(badBand));
        auto tiny = chartWith({0}, {0}, false);
        tiny.width = 50;
        QVERIFY_THROWS_EXCEPTION(Error, renderLineChart(tiny));
    }
};

COALESCE_TEST_APPLESS_MAIN(TestExperimentReport)
#include "test_experiment_report.moc"
