// The report of a whole experiment: many training runs, one per (method, n local samples, seed), each
// in its own run directory (metrics.csv, samples/step_XXXXXX.png). Reads them all and writes, into one
// folder, what a reader of a paper's results section wants: tables of final metrics (mean ± std over
// seeds), how fast each method reaches the reference method's final FID, curves, sample grids, and a
// machine-readable summary.json with the same numbers. Torch-free and Qt-free.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/ternary_report.h"

namespace coalesce {

struct ExperimentRunRecord {
    std::string method;      // "barycenter", "transfer_gan", "edge_only", "average", ...
    int64_t shots = 0;       // n local samples
    uint64_t seed = 0;
    std::string runDir;      // holds metrics.csv and samples/
    double wallSeconds = 0;  // whole run, including evaluation
    std::string status;      // "finished" | "failed: ..." | "cancelled"
};

struct ExperimentReportOptions {
    std::string title = "Coalesce experiment";
    std::string primaryMetric = "eval/fid";        // lower is better
    std::string referenceMethod = "edge_only";     // "iterations to reach <referenceMethod>'s final FID"
    // Every other method's final primary metric is compared with this one's seed by seed (the paired
    // table); empty: the first method in the runs' order.
    std::string pairedMethod;
    std::vector<std::string> plotMetrics = {"eval/fid", "eval/kid", "eval/w1", "eval/diversity"};
    std::vector<std::string> tableMetrics = {"eval/fid", "eval/kid", "eval/w1", "eval/precision", "eval/recall", "eval/diversity"};
    nlohmann::json protocol;                      // recorded verbatim in the report (evaluation protocol, budgets)
    std::vector<TernaryRunRecord> ternarization;  // ternarised adapted generators (report/ternary_report.h)
};

struct ExperimentReport {
    std::string markdownPath, summaryJsonPath;  // <outDir>/summary.md, <outDir>/summary.json
    std::vector<std::string> plots;             // <outDir>/plots/*.png written
    nlohmann::json summary;                     // the contents of summary.json
};

// The metric every evaluation logs with the training wall time so far (seconds, evaluation excluded).
inline constexpr const char* kWallSecondsMetric = "eval/wall_seconds";

// Writes into outDir (created if needed):
//   metrics_all.csv   method,shots,seed,step,name,value: every row of every finished run
//   plots/<metric with '/' → '_'>_n<shots>.png  one line per method, mean over seeds vs iteration with a
//                     ±std band (log y for FID/KID when all positive); a metric no run logged gets no plot
//   grids/<method>_n<shots>_seed<seed>.png     the run's last samples/step_XXXXXX.png, where there is one
//   summary.json, summary.md  (see report_summary.h for what they hold; "ternarization" rows and a
//                     markdown section when options.ternarization is not empty, report/ternary_report.h)
// Only runs with status "finished" enter the statistics; others are listed with their status. Throws
// coalesce::Error naming the file (and line) when a finished run's metrics.csv is missing or corrupt,
// and for duplicate (method, shots, seed) records. Files are replaced atomically.
ExperimentReport writeExperimentReport(const std::string& outDir, const std::vector<ExperimentRunRecord>& runs,
                                       const ExperimentReportOptions& options);

}  // namespace coalesce
