#include "report/ternary_report.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/json_text.h"
#include "report/report_format.h"
#include "report/report_plots.h"
#include "report/seed_statistics.h"
#include "run/run_directory.h"

namespace fs = std::filesystem;

namespace coalesce::report {

namespace {

nlohmann::json readReport(const fs::path& path) {
    std::ifstream in(path);
    if (!in) throw Error(path.string() + ": missing (the ternarize run finished without its report)");
    nlohmann::json j = parseJsonOrDiscarded(in);
    if (!j.is_object() || !j.contains("sizes") || !j.contains("layers"))
        throw Error(path.string() + ": not a ternarize report (no sizes/layers)");
    return j;
}

// Copies samples/<tag>_step_000000.png of a ternarize run; returns the path relative to the report.
std::string copyGrid(const TernaryRunRecord& run, const std::string& tag, const fs::path& outDir) {
    const fs::path source = fs::path(run.runDir) / "samples" / (tag + "_step_000000.png");
    if (!fs::exists(source)) return "";
    const std::string relative = "grids/ternary_" + fileNamePart(run.label) + "_" + fileNamePart(run.quantizer) + "_" + tag + ".png";
    std::ifstream in(source, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    writeFileAtomically((outDir / relative).string(), bytes.str());
    return relative;
}

double valueOr(const nlohmann::json& j, const char* a, const char* b, double fallback) {
    if (!j.contains(a) || !j[a].is_object() || !j[a].contains(b) || !j[a][b].is_number()) return fallback;
    return j[a][b].get<double>();
}

}  // namespace

nlohmann::json summarizeTernarization(const std::vector<TernaryRunRecord>& runs, const fs::path& outDir) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& run : runs) {
        nlohmann::json row{{"run", run.label}, {"quantizer", run.quantizer}, {"status", run.status}, {"run_dir", run.runDir}};
        if (run.status == "finished") {
            const nlohmann::json r = readReport(fs::path(run.runDir) / "generator.ctern.report.json");
            const nlohmann::json& evaluation = r.value("evaluation", nlohmann::json::object());
            nlohmann::json metrics = nlohmann::json::object();
            if (evaluation.is_object())
                for (const char* m : {"fid", "kid", "w1", "diversity", "precision", "recall"}) {
                    const double f = valueOr(evaluation, "float", m, NAN), t = valueOr(evaluation, "ternary", m, NAN);
                    if (!std::isnan(f) || !std::isnan(t)) metrics[m] = {{"float", f}, {"ternary", t}};
                }
            row["metrics"] = metrics;
            if (metrics.contains("fid") && metrics["fid"]["float"].get<double>() > 0)
                row["fid_ratio"] = metrics["fid"]["ternary"].get<double>() / metrics["fid"]["float"].get<double>();
            row["zero_fraction"] = r.value("zero_fraction", 0.0);
            row["sizes"] = r["sizes"];
            row["options"] = r.value("options", nlohmann::json::object());
            nlohmann::json layers = nlohmann::json::array();
            for (const auto& layer : r["layers"])
                layers.push_back({{"name", layer.value("name", "")}, {"zero_fraction", layer.value("zero_fraction", 0.0)},
                                  {"scale_pos", layer.value("scale_pos", 0.0)}, {"scale_neg", layer.value("scale_neg", 0.0)},
                                  {"threshold_over_max_abs", layer.value("threshold_over_max_abs", 0.0)}});
            row["layers"] = layers;
            row["float_layers"] = r.value("float_layers", nlohmann::json::array());
            row["grids"] = {{"float", copyGrid(run, "float", outDir)}, {"ternary", copyGrid(run, "ternary", outDir)}};
        }
        rows.push_back(row);
    }
    return rows;
}

nlohmann::json aggregateTernarization(const nlohmann::json& rows) {
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::string> order;  // quantisers in the order they first appear
    for (const auto& row : rows)
        if (std::find(order.begin(), order.end(), row["quantizer"].get<std::string>()) == order.end())
            order.push_back(row["quantizer"].get<std::string>());
    for (const auto& quantizer : order) {
        const double missing = std::numeric_limits<double>::quiet_NaN();  // not NAN: json::value would return float
        std::vector<double> ratios, zeros, fileRatios;
        for (const auto& row : rows) {
            if (row["quantizer"] != quantizer || row["status"] != "finished") continue;
            ratios.push_back(row.contains("fid_ratio") ? row["fid_ratio"].get<double>() : missing);
            zeros.push_back(row.value("zero_fraction", missing));
            fileRatios.push_back(row.contains("sizes") ? row["sizes"].value("whole_file_ratio", missing) : missing);
        }
        out.push_back({{"quantizer", quantizer},
                       {"runs", ratios.size()},
                       {"fid_ratio", toJson(summarizeSeeds(ratios))},
                       {"zero_fraction", toJson(summarizeSeeds(zeros))},
                       {"whole_file_ratio", toJson(summarizeSeeds(fileRatios))}});
    }
    return out;
}

std::string renderTernaryMarkdown(const nlohmann::json& rows) {
    if (!rows.is_array() || rows.empty()) return "";
    std::ostringstream md;
    auto meanStd = [](const nlohmann::json& stats, double scale) -> std::string {
        if (stats["mean"].is_null()) return "n/a";
        std::string text = formatValue(scale * stats["mean"].get<double>());
        if (!stats["std"].is_null()) text += " ± " + formatValue(scale * stats["std"].get<double>());
        return text;
    };
    auto pair = [](const nlohmann::json& row, const char* metric) -> std::string {
        if (!row.contains("metrics") || !row["metrics"].contains(metric)) return "n/a";
        return formatValue(row["metrics"][metric]["float"].get<double>()) + " → " +
               formatValue(row["metrics"][metric]["ternary"].get<double>());
    };
    md << "\n## Ternarization (2-bit generators)\n\n"
       << "Each adapted generator below was ternarised with each quantiser (fine-tuning settings in `options`),\n"
       << "then the float and the ternary generator were scored under the experiment's protocol.\n"
       << "FID ratio = ternary FID / float FID (goal: ≤ 1.15 at ≥ 14× smaller weights).\n\n";
    const nlohmann::json aggregated = aggregateTernarization(rows);
    const bool repeated = std::any_of(aggregated.begin(), aggregated.end(),
                                      [](const nlohmann::json& a) { return a["runs"].get<int>() >= 2; });
    if (repeated) {
        md << "Per quantiser, mean ± std over its finished runs:\n\n"
           << "| quantiser | runs | FID ratio | zeros % | file ratio |\n| --- | --- | --- | --- | --- |\n";
        for (const auto& a : aggregated)
            md << "| " << markdownCell(a["quantizer"].get<std::string>()) << " | " << a["runs"].get<int>() << " | "
               << meanStd(a["fid_ratio"], 1) << " | " << meanStd(a["zero_fraction"], 100) << " | "
               << meanStd(a["whole_file_ratio"], 1) << "× |\n";
        md << "\n";
    }
    md << "| run | quantiser | FID float → ternary | FID ratio | KID | W1 | diversity | zeros | file ratio | weight ratio |\n"
       << "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
    for (const auto& row : rows) {
        md << "| " << markdownCell(row["run"].get<std::string>()) << " | " << markdownCell(row["quantizer"].get<std::string>()) << " | ";
        if (row["status"] != "finished") {
            md << markdownCell(row["status"].get<std::string>()) << " | | | | | | | |\n";
            continue;
        }
        md << pair(row, "fid") << " | " << (row.contains("fid_ratio") ? formatValue(row["fid_ratio"].get<double>()) : "n/a")
           << " | " << pair(row, "kid") << " | " << pair(row, "w1") << " | " << pair(row, "diversity") << " | "
           << formatValue(100 * row["zero_fraction"].get<double>()) << " % | "
           << formatValue(row["sizes"].value("whole_file_ratio", 0.0)) << "× | "
           << formatValue(row["sizes"].value("ternary_weight_ratio", 0.0)) << "× |\n";
    }
    md << "\nPer layer: zeros % / scale s₊ (s₋ where it differs) / Δc ÷ max|W|.\n\n";
    for (const auto& row : rows) {
        if (row["status"] != "finished") continue;
        md << "- " << row["run"].get<std::string>() << ", " << row["quantizer"].get<std::string>() << ": ";
        bool first = true;
        for (const auto& layer : row["layers"]) {
            md << (first ? "" : "; ") << layer["name"].get<std::string>() << " "
               << formatValue(100 * layer["zero_fraction"].get<double>()) << " % / "
               << formatValue(layer["scale_pos"].get<double>());
            if (std::abs(layer["scale_pos"].get<double>() - layer["scale_neg"].get<double>()) > 1e-9)
                md << " (" << formatValue(layer["scale_neg"].get<double>()) << ")";
            md << " / " << formatValue(layer["threshold_over_max_abs"].get<double>());
            first = false;
        }
        if (!row["float_layers"].empty()) md << "; float layers: " << row["float_layers"].dump();
        md << "\n";
    }
    md << "\nSame z, float (left) and ternary (right):\n\n";
    for (const auto& row : rows) {
        if (row["status"] != "finished" || row["grids"]["float"] == "" || row["grids"]["ternary"] == "") continue;
        md << "**" << row["run"].get<std::string>() << ", " << row["quantizer"].get<std::string>() << "**\n\n"
           << "![float](" << row["grids"]["float"].get<std::string>() << ") ![ternary]("
           << row["grids"]["ternary"].get<std::string>() << ")\n\n";
    }
    return md.str();
}

}  // namespace coalesce::report
