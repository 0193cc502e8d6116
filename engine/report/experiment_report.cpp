// writeExperimentReport: loads the runs, copies their last sample grids, and writes metrics_all.csv,
// the plots, summary.json and summary.md. The numbers come from report_summary, the prose from
// report_markdown, the curves from report_plots.
#include "report/experiment_report.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "core/error.h"
#include "imageio/image_io.h"
#include "imageio/line_chart.h"
#include "report/report_markdown.h"
#include "report/report_plots.h"
#include "report/report_summary.h"
#include "run/run_directory.h"

namespace fs = std::filesystem;

namespace coalesce {

namespace {

using report::LoadedRun;

std::string describe(const ExperimentRunRecord& run) {
    return run.method + " n=" + std::to_string(run.shots) + " seed " + std::to_string(run.seed);
}

void rejectDuplicates(const std::vector<ExperimentRunRecord>& runs) {
    std::set<std::tuple<std::string, std::int64_t, std::uint64_t>> seen;
    for (const auto& run : runs)
        if (!seen.emplace(run.method, run.shots, run.seed).second)
            throw Error("experiment report: two runs for " + describe(run) + " (" + run.runDir +
                        "); pass one record per method, n and seed");
}

// Finished runs get their metrics read; a broken metrics.csv of a finished run is an error, while a
// failed or cancelled run is only reported with its status.
std::vector<LoadedRun> loadRuns(const std::vector<ExperimentRunRecord>& runs) {
    std::vector<LoadedRun> loaded;
    for (const auto& record : runs) {
        LoadedRun run;
        run.record = record;
        run.finished = record.status == "finished";
        if (run.finished) {
            try {
                run.metrics = report::readMetricsCsv((fs::path(record.runDir) / "metrics.csv").string());
            } catch (const Error& e) {
                throw Error(std::string(e.what()) + " (run " + describe(record) + ")");
            }
        }
        loaded.push_back(std::move(run));
    }
    return loaded;
}

// The samples grid with the highest step: samples/step_XXXXXX.png (other tags are "<tag>_step_...").
std::string lastSamplesGrid(const std::string& runDir) {
    const fs::path samples = fs::path(runDir) / "samples";
    std::error_code ec;
    if (runDir.empty() || !fs::is_directory(samples, ec)) return "";
    static const std::regex gridName(R"(step_(\d{1,18})\.png)");  // 18 digits: fits a long long
    std::string best;
    long long bestStep = -1;
    for (const auto& entry : fs::directory_iterator(samples, ec)) {
        std::smatch match;
        const std::string name = entry.path().filename().string();
        if (!std::regex_match(name, match, gridName)) continue;
        const long long step = std::stoll(match[1].str());
        if (step > bestStep) bestStep = step, best = entry.path().string();
    }
    return best;
}

std::string readWholeFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open for reading");
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

void copySampleGrids(std::vector<LoadedRun>& runs, const fs::path& outDir) {
    for (auto& run : runs) {
        const std::string source = lastSamplesGrid(run.record.runDir);
        if (source.empty()) continue;
        const std::string relative = "grids/" + report::fileNamePart(run.record.method) + "_n" +
                                     std::to_string(run.record.shots) + "_seed" + std::to_string(run.record.seed) + ".png";
        writeFileAtomically((outDir / relative).string(), readWholeFile(source));
        run.grid = relative;
    }
}

// RFC 4180 quoting, for method names that contain a comma or a quote.
std::string csvField(const std::string& text) {
    if (text.find_first_of(",\"\n") == std::string::npos) return text;
    std::string quoted = "\"";
    for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
}

void writeMetricsAll(const std::vector<LoadedRun>& runs, const fs::path& path) {
    std::string csv = "method,shots,seed,step,name,value\n";
    char value[64];
    for (const auto& run : runs) {
        if (!run.metrics) continue;
        const std::string prefix = csvField(run.record.method) + "," + std::to_string(run.record.shots) + "," +
                                   std::to_string(run.record.seed) + ",";
        for (const auto& row : run.metrics->rows) {
            std::snprintf(value, sizeof value, "%.10g", row.value);
            csv += prefix + std::to_string(row.step) + "," + csvField(row.name) + "," + value + "\n";
        }
    }
    writeFileAtomically(path.string(), csv);
}

// One PNG per (plot metric, n) that has data; records them in the summary and returns their paths.
std::vector<std::string> writePlots(const std::vector<LoadedRun>& runs, const ExperimentReportOptions& options,
                                    const fs::path& outDir, nlohmann::json& summary) {
    std::vector<std::string> written;
    if (!imageIoAvailable()) {
        summary["plots_note"] = "No plots: this build of Coalesce has no image support (built without OpenCV).";
        return written;
    }
    const auto methods = report::methodOrder(runs);
    for (auto& entry : summary["by_shots"]) {
        const auto shots = entry["shots"].get<std::int64_t>();
        for (const auto& metric : options.plotMetrics) {
            const auto chart = report::metricChart(runs, metric, shots, methods);
            if (!chart) continue;
            const std::string relative = "plots/" + report::plotFileName(metric, shots);
            writeImage((outDir / relative).string(), renderLineChart(*chart));
            entry["plots"].push_back({{"metric", metric}, {"path", relative}});
            written.push_back((outDir / relative).string());
        }
    }
    return written;
}

}  // namespace

ExperimentReport writeExperimentReport(const std::string& outDir, const std::vector<ExperimentRunRecord>& runs,
                                       const ExperimentReportOptions& options) {
    if (outDir.empty()) throw Error("experiment report: no output folder given");
    rejectDuplicates(runs);
    const fs::path out(outDir);
    fs::create_directories(out);

    std::vector<LoadedRun> loaded = loadRuns(runs);
    copySampleGrids(loaded, out);
    writeMetricsAll(loaded, out / "metrics_all.csv");

    ExperimentReport result;
    result.summary = report::buildSummary(loaded, options);
    result.plots = writePlots(loaded, options, out, result.summary);
    for (auto& entry : result.summary["by_shots"]) entry["headline"] = report::headlineSentence(result.summary, entry);
    const nlohmann::json ternary = report::summarizeTernarization(options.ternarization, out);
    if (!ternary.empty()) {
        result.summary["ternarization"] = ternary;
        result.summary["ternarization_by_quantizer"] = report::aggregateTernarization(ternary);
    }

    result.summaryJsonPath = (out / "summary.json").string();
    result.markdownPath = (out / "summary.md").string();
    writeFileAtomically(result.summaryJsonPath, result.summary.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    writeFileAtomically(result.markdownPath,
                        report::renderReportMarkdown(result.summary) + report::renderTernaryMarkdown(ternary));
    return result;
}

}  // namespace coalesce
