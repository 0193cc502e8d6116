#include "report/report_markdown.h"

#include <sstream>
#include <vector>

#include "report/experiment_report.h"
#include "report/report_format.h"

namespace coalesce::report {

using nlohmann::json;

namespace {

std::string code(const std::string& text) { return "`" + text + "`"; }

int count(const json& value) { return value.is_number() ? value.get<int>() : 0; }

// In prose a single seed reads "600", not the table's "600 ± —".
std::string proseMeanStd(const json& stats, int decimals = -1) {
    std::string text = formatMeanStd(stats, decimals);
    const std::string noSpread = " ± —";
    if (text.size() > noSpread.size() && text.compare(text.size() - noSpread.size(), noSpread.size(), noSpread) == 0)
        text.erase(text.size() - noSpread.size());
    return text;
}

std::string seedsText(int reached, int seeds) { return std::to_string(reached) + "/" + std::to_string(seeds); }

// Method entries of one n other than the reference that finished at least one seed.
std::vector<const json*> comparedMethods(const json& summary, const json& shotsEntry) {
    std::vector<const json*> methods;
    for (const auto& m : shotsEntry["methods"])
        if (m["method"] != summary["reference_method"] && count(m["finished"]) > 0) methods.push_back(&m);
    return methods;
}

// Table cells for "iterations to reach" and "time to reach".
std::string reachCell(const json& reach, const char* statsKey, int decimals) {
    if (reach.is_null()) return "n/a";
    const int seeds = count(reach["seeds"]), reached = count(reach["reached"]);
    if (seeds == 0) return "n/a";
    if (reached == 0) return "not reached (0/" + std::to_string(seeds) + ")";
    const json& stats = reach[statsKey];
    if (count(stats["count"]) == 0) return "n/a";
    std::string text = formatMeanStd(stats, decimals);
    const int known = count(stats["count"]);  // seconds can be missing where the wall-time metric was not logged
    if (known < seeds) text += " (" + seedsText(known, seeds) + " reached)";
    return text;
}

std::string finalStepCell(const json& finalStep) {
    if (finalStep.is_null()) return "n/a";
    const auto lo = finalStep["min"].get<std::int64_t>(), hi = finalStep["max"].get<std::int64_t>();
    return lo == hi ? std::to_string(lo) : std::to_string(lo) + "–" + std::to_string(hi);
}

// Table metrics that at least one method logged at this n (a metric never evaluated gets no column).
std::vector<std::string> tableColumns(const json& summary, const json& shotsEntry) {
    std::vector<std::string> columns;
    for (const auto& metricJson : summary["table_metrics"]) {
        const std::string metric = metricJson.get<std::string>();
        for (const auto& m : shotsEntry["methods"])
            if (m["final"].contains(metric) && count(m["final"][metric]["count"]) > 0) {
                columns.push_back(metric);
                break;
            }
    }
    return columns;
}

void writeTable(std::ostringstream& md, const json& summary, const json& shotsEntry) {
    const std::string primary = metricDisplayName(summary["primary_metric"].get<std::string>());
    const std::string reference = summary["reference_method"].get<std::string>();
    const auto columns = tableColumns(summary, shotsEntry);
    md << "| method |";
    for (const auto& metric : columns) md << ' ' << markdownCell(metricDisplayName(metric)) << " |";
    md << " seeds finished | final iteration | iterations to reach " << markdownCell(reference) << "'s final "
       << primary << " | time to reach (s) | run time (s) |\n|:---|";
    for (size_t i = 0; i < columns.size() + 5; ++i) md << "---:|";
    md << '\n';
    for (const auto& m : shotsEntry["methods"]) {
        md << "| " << markdownCell(m["method"].get<std::string>()) << " |";
        for (const auto& metric : columns) md << ' ' << formatMeanStd(m["final"][metric]) << " |";
        md << ' ' << seedsText(count(m["finished"]), count(m["runs"])) << " | " << finalStepCell(m["final_step"])
           << " | " << reachCell(m["reach"], "steps", 0) << " | " << reachCell(m["reach"], "seconds", 1) << " | "
           << formatMeanStd(m["run_wall_seconds"], 1) << " |\n";
    }
}

void writeUnfinished(std::ostringstream& md, const json& shotsEntry) {
    std::vector<std::string> lines;
    for (const auto& m : shotsEntry["methods"])
        for (const auto& run : m["not_finished"])
            lines.push_back("- " + code(m["method"].get<std::string>()) + " seed " + std::to_string(run["seed"].get<std::uint64_t>()) +
                            ": " + run["status"].get<std::string>());
    if (lines.empty()) return;
    md << "\nRuns not finished (left out of the statistics):\n\n";
    for (const auto& line : lines) md << line << '\n';
}

// Each method against the paired one on the same seeds: the mean seed-by-seed difference with its 95%
// t-interval, and on how many seeds the paired method was lower.
void writePairedTable(std::ostringstream& md, const json& shotsEntry) {
    const json& paired = shotsEntry.value("paired", json());
    if (paired.is_null() || paired["comparisons"].empty()) return;
    const std::string method = paired["method"].get<std::string>();
    const std::string metric = metricDisplayName(paired["metric"].get<std::string>());
    md << "\nPaired with " << code(method) << " (same seeds, so the same local samples; difference = method − "
       << markdownCell(method) << " in final " << metric << ", positive where " << markdownCell(method)
       << " is lower; an interval that excludes 0 is a difference the seeds resolve):\n\n"
       << "| method | seeds | difference in " << metric << " | 95% interval of the mean | " << markdownCell(method)
       << " lower on |\n|:---|---:|---:|---:|---:|\n";
    for (const auto& c : paired["comparisons"]) {
        const json& d = c["difference"];
        const int seeds = count(d["count"]);
        std::string interval = "n/a";
        if (!c["half_width_95"].is_null()) {
            const double mean = d["mean"].get<double>(), half = c["half_width_95"].get<double>();
            interval = formatValue(mean - half) + " to " + formatValue(mean + half);
        }
        md << "| " << markdownCell(c["method"].get<std::string>()) << " | " << seeds << " | " << formatMeanStd(d) << " | "
           << interval << " | " << (seeds ? seedsText(count(c["paired_lower"]), seeds) : "n/a") << " |\n";
    }
}

// One grid per method: its first finished seed's, else any run's.
void writeGridRow(std::ostringstream& md, const json& summary, const json& shotsEntry) {
    std::vector<const json*> chosen;
    for (const auto& methodJson : summary["methods"]) {
        const json* pick = nullptr;
        for (const auto& grid : shotsEntry["grids"])
            if (grid["method"] == methodJson && (pick == nullptr || (grid["finished"] == true && (*pick)["finished"] != true)))
                pick = &grid;
        if (pick) chosen.push_back(pick);
    }
    if (chosen.empty()) return;
    const std::string n = std::to_string(shotsEntry["shots"].get<std::int64_t>());
    md << "\nLast sample grids (one seed per method):\n\n|";
    for (const json* grid : chosen) {
        md << ' ' << markdownCell((*grid)["method"].get<std::string>()) << " (seed "
           << (*grid)["seed"].get<std::uint64_t>() << ((*grid)["finished"] == true ? "" : ", not finished") << ") |";
    }
    md << "\n|";
    for (size_t i = 0; i < chosen.size(); ++i) md << ":---:|";
    md << "\n|";
    for (const json* grid : chosen)
        md << " ![" << markdownCell((*grid)["method"].get<std::string>()) << " n=" << n << " seed "
           << (*grid)["seed"].get<std::uint64_t>() << "](" << (*grid)["path"].get<std::string>() << ") |";
    md << '\n';
}

}  // namespace

std::string headlineSentence(const json& summary, const json& shotsEntry) {
    const std::string metric = metricDisplayName(summary["primary_metric"].get<std::string>());
    const std::string reference = summary["reference_method"].get<std::string>();
    const json& referenceFinal = shotsEntry["reference"]["final"];
    std::ostringstream s;
    s << "n=" << shotsEntry["shots"].get<std::int64_t>() << ": ";
    const auto compared = comparedMethods(summary, shotsEntry);

    if (count(referenceFinal["count"]) == 0) {
        s << "no finished " << reference << " run with a final " << metric << ", so no time-to-reach comparison";
    } else if (compared.empty()) {
        s << reference << "'s final " << metric << " is " << proseMeanStd(referenceFinal);
    } else {
        const std::string target = reference + "'s final " + metric + " (" +
                                   formatValue(referenceFinal["mean"].get<double>()) + ")";
        for (size_t i = 0; i < compared.size(); ++i) {
            const json& m = *compared[i];
            const json& reach = m["reach"];
            const int seeds = count(reach["seeds"]), reached = count(reach["reached"]);
            if (i > 0) s << "; ";
            s << m["method"].get<std::string>();
            if (reached == 0)
                s << " does not reach " << (i == 0 ? target : "it") << " (0/" << seeds << " seeds)";
            else
                s << (i == 0 ? " reaches " + target + " at iteration " : " at ")
                  << proseMeanStd(reach["steps"], 0) << " (" << seedsText(reached, seeds) << " seeds)";
        }
    }
    // Final values: the compared methods, then the reference.
    std::vector<std::string> finals;
    const std::string primaryKey = summary["primary_metric"].get<std::string>();
    for (const json* m : compared)
        finals.push_back(m->at("method").get<std::string>() + " " + proseMeanStd((*m)["final"][primaryKey]));
    if (!finals.empty() || count(referenceFinal["count"]) > 0) {
        s << "; final " << metric << ": ";
        for (size_t i = 0; i < finals.size(); ++i) s << (i ? ", " : "") << finals[i];
        if (count(referenceFinal["count"]) > 0)
            s << (finals.empty() ? "" : " vs ") << reference << " " << proseMeanStd(referenceFinal);
    }
    s << '.';
    return s.str();
}

std::string renderReportMarkdown(const json& summary) {
    std::ostringstream md;
    int runs = 0, finished = 0;
    for (const auto& run : summary["runs"]) {
        ++runs;
        finished += run["status"] == "finished";
    }
    std::string methods, shots;
    for (const auto& m : summary["methods"]) methods += (methods.empty() ? "" : ", ") + code(m.get<std::string>());
    for (const auto& n : summary["shots"]) shots += (shots.empty() ? "" : ", ") + std::to_string(n.get<std::int64_t>());
    const std::string primaryKey = summary["primary_metric"].get<std::string>();

    md << "# " << summary["title"].get<std::string>() << "\n\n"
       << runs << " runs (" << finished << " finished) of " << methods << " at n = " << shots << " local samples. "
       << "Primary metric: " << metricDisplayName(primaryKey) << " (" << code(primaryKey) << ", lower is better); "
       << "reference method: " << code(summary["reference_method"].get<std::string>()) << ".\n\n"
       << "Values are the last evaluation's, as mean ± sample std (n − 1) over finished seeds (\"—\": a single seed). "
       << "\"Iterations to reach\" is, per seed, the first evaluation at which the method's " << metricDisplayName(primaryKey)
       << " is at or below the reference's final value for the same seed (the reference's mean where that seed has no "
       << "reference run); \"time to reach\" is the training wall time by then (evaluation excluded), interpolated from "
       << code(kWallSecondsMetric) << "; \"run time\" is the whole run's, evaluation included. "
       << "All numbers are in `summary.json`, every metric row in `metrics_all.csv`.\n\n"
       << "## Protocol\n\n```json\n" << summary["protocol"].dump(2) << "\n```\n";
    if (summary.contains("plots_note")) md << "\n" << summary["plots_note"].get<std::string>() << "\n";

    for (const auto& entry : summary["by_shots"]) {
        md << "\n## n = " << entry["shots"].get<std::int64_t>() << "\n\n"
           << "**Headline.** " << entry["headline"].get<std::string>() << "\n\n";
        writeTable(md, summary, entry);
        writeUnfinished(md, entry);
        writePairedTable(md, entry);
        if (!entry["plots"].empty()) {
            md << '\n';
            for (const auto& plot : entry["plots"])
                md << "![" << metricDisplayName(plot["metric"].get<std::string>()) << " vs iteration, n = "
                   << entry["shots"].get<std::int64_t>() << "](" << plot["path"].get<std::string>() << ")\n";
        }
        writeGridRow(md, summary, entry);
    }
    return md.str();
}

}  // namespace coalesce::report
