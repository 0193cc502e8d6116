// The ternarisation part of an experiment report (METHOD.md stage 3): for each adapted generator that
// was ternarised with each quantiser, float vs ternary quality under the experiment's protocol, sparsity,
// scales per layer, real file sizes and same-z sample grids side by side. Reads the ternarize job's
// <run_dir>/generator.ctern.report.json and samples/{float,ternary}_step_000000.png. Torch-free.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace coalesce {

struct TernaryRunRecord {
    std::string label;      // the float generator's run, e.g. "barycenter n=20 seed 1"
    std::string quantizer;  // "learned" | "twn" | "ttq" (+ a variant suffix, e.g. "learned+ft")
    std::string runDir;     // the ternarize job's run directory
    std::string status;     // "finished" | "failed: ..." | "not run"
};

namespace report {

// One JSON row per record (finished ones with their numbers; grids copied into outDir/grids/ternary_*).
// Throws coalesce::Error naming the file when a finished run's report is missing or malformed.
nlohmann::json summarizeTernarization(const std::vector<TernaryRunRecord>& runs, const std::filesystem::path& outDir);

// One row per quantiser over its finished runs (seeds, n, methods): {"quantizer", "runs", "fid_ratio",
// "zero_fraction", "whole_file_ratio"}, each statistic as {"mean", "std", "count"} (report/seed_statistics.h).
nlohmann::json aggregateTernarization(const nlohmann::json& rows);

// The markdown section: the per-quantiser summary (when some quantiser has 2+ runs), a table (FID/KID/W1/diversity float → ternary, FID ratio, zeros, sizes), the
// per-layer sparsity and scales of each quantiser, and the side-by-side grids. Empty for no rows.
std::string renderTernaryMarkdown(const nlohmann::json& rows);

}  // namespace report
}  // namespace coalesce
