// The report's curves: for one metric at one n, one line per method — the mean over finished seeds
// at each evaluation step — with a ±std band. Torch-free.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "imageio/line_chart.h"
#include "report/report_summary.h"

namespace coalesce::report {

// "eval/fid", 20 → "eval_fid_n20.png" (any character unsafe in a file name becomes '_').
std::string plotFileName(const std::string& metric, std::int64_t shots);

// The chart, or nullopt when no finished run at this n logged the metric. Each method keeps its colour
// (its position in `methods`) in every chart. FID and KID get a log y axis when all means are positive.
std::optional<LineChart> metricChart(const std::vector<LoadedRun>& runs, const std::string& metric,
                                     std::int64_t shots, const std::vector<std::string>& methods);

// Method/metric names as file-name parts: letters, digits, '-', '.', '_' kept, the rest '_'.
std::string fileNamePart(const std::string& text);

}  // namespace coalesce::report
