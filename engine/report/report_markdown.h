// summary.md and the per-n headline sentences, written from summary.json's contents (report_summary.h)
// so that the prose, the tables and the JSON can never disagree. Torch-free.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace coalesce::report {

// One factual sentence for one by_shots entry, e.g. "n=20: barycenter reaches edge_only's final FID
// (143.2) at iteration 50 ± 0 (3/3 seeds); transfer_gan at 150 ± 50 (3/3 seeds); final FID: barycenter
// 120.1 ± 3.2 vs edge_only 143.2 ± 5.0."
std::string headlineSentence(const nlohmann::json& summary, const nlohmann::json& shotsEntry);

// The whole summary.md: title, protocol, then per n the headline, the table, unfinished runs, plots
// and a row of sample grids. Paths are relative to the report folder.
std::string renderReportMarkdown(const nlohmann::json& summary);

}  // namespace coalesce::report
