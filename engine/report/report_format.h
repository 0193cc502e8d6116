// How numbers and metric names read in an experiment report ("143.2 ± 5.0", "FID"). Torch-free.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace coalesce::report {

// "eval/fid" → "FID", "eval/sliced_w1" → "sliced W1"; unknown names lose the "eval/" prefix only.
std::string metricDisplayName(const std::string& metric);

// About four significant digits: 143.2, 50.33, 0.002500; scientific beyond 1e6 or below 1e-6.
std::string formatValue(double value);

// A {mean, std, count} object (seed_statistics.h) as "mean ± std" with the std at the mean's precision,
// "mean ± —" for a single seed and "n/a" without values. decimals >= 0 fixes the decimals instead
// (iterations: 0).
std::string formatMeanStd(const nlohmann::json& stats, int decimals = -1);

// Cell text that must not break a markdown table.
std::string markdownCell(const std::string& text);

}  // namespace coalesce::report
