// The numbers of an experiment report, computed from the loaded runs into the JSON that becomes
// summary.json (and from which summary.md is written, so both always agree). Torch-free.
//
// summary.json:
//   title, primary_metric, reference_method, protocol, table_metrics, plot_metrics
//   methods [names in the order runs were given], shots [n ascending]
//   runs [{method, shots, seed, status, run_dir, wall_seconds, final_step, final {metric: value}, grid}]
//   by_shots [{shots,
//     reference {method, final {mean, std, count}, per_seed [{seed, value}]}   (primary metric)
//     methods [{method, runs, finished, seeds [finished seeds], not_finished [{seed, status}],
//               final_step {min, max}, final {metric: {mean, std, count, values [per finished seed]}},
//               run_wall_seconds {mean, std, count},
//               reach null | {threshold_metric, seeds, reached, steps {mean, std, count},
//                             seconds {mean, std, count},
//                             per_seed [{seed, threshold, threshold_from, step, seconds}]}}]
//     paired null | {method, metric, comparisons [{method, difference {mean, std, count} (of method − paired,
//                    per seed both finished), half_width_95 (t-interval of the mean), paired_lower (seeds)}]}
//     plots [{metric, path}], grids [{method, seed, path, finished}], headline}]
// Statistics are over finished seeds; std is the sample std (n − 1); undefined values are null.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/experiment_report.h"
#include "report/metrics_csv.h"

namespace coalesce::report {

// A run as the report sees it: metrics are read for finished runs only.
struct LoadedRun {
    ExperimentRunRecord record;
    bool finished = false;
    std::optional<RunMetrics> metrics;
    std::string grid;  // the copied sample grid, relative to the report folder; empty if none
};

// Method names in the order they first appear; n values ascending.
std::vector<std::string> methodOrder(const std::vector<LoadedRun>& runs);
std::vector<std::int64_t> shotsOrder(const std::vector<LoadedRun>& runs);

// Everything in summary.json except by_shots[].plots and by_shots[].headline, which the writer adds.
nlohmann::json buildSummary(const std::vector<LoadedRun>& runs, const ExperimentReportOptions& options);

}  // namespace coalesce::report
