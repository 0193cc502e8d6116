#include "report/report_plots.h"

#include <cmath>
#include <map>

#include "report/report_format.h"
#include "report/seed_statistics.h"

namespace coalesce::report {

std::string fileNamePart(const std::string& text) {
    std::string out;
    for (char c : text) {
        const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                          c == '.' || c == '_';
        out += safe ? c : '_';
    }
    return out.empty() ? "_" : out;
}

std::string plotFileName(const std::string& metric, std::int64_t shots) {
    return fileNamePart(metric) + "_n" + std::to_string(shots) + ".png";
}

namespace {

bool prefersLogAxis(const std::string& metric) {
    const std::string base = metric.substr(metric.rfind('/') + 1);  // npos + 1 == 0: whole name
    return base == "fid" || base == "kid";
}

// Mean and ±std over the seeds that logged the metric at each step (steps of all seeds merged, so a
// seed that stopped early simply stops contributing).
LineSeries methodSeries(const std::vector<const LoadedRun*>& seeds, const std::string& metric) {
    std::map<std::int64_t, std::vector<double>> byStep;
    for (const LoadedRun* run : seeds) {
        const MetricSeries& series = run->metrics->get(metric);
        for (size_t i = 0; i < series.steps.size(); ++i) byStep[series.steps[i]].push_back(series.values[i]);
    }
    LineSeries line;
    bool anySpread = false;
    for (const auto& [step, values] : byStep) {
        const SeedStatistics stats = summarizeSeeds(values);
        const double nan = std::nan("");
        const double mean = stats.hasMean() ? stats.mean : nan;
        const double spread = stats.hasStd() ? stats.std : 0;
        anySpread = anySpread || stats.hasStd();
        line.x.push_back(static_cast<double>(step));
        line.y.push_back(mean);
        line.yLow.push_back(stats.hasMean() ? mean - spread : nan);
        line.yHigh.push_back(stats.hasMean() ? mean + spread : nan);
    }
    if (!anySpread) line.yLow.clear(), line.yHigh.clear();  // one seed: no band, not a zero-width one
    return line;
}

}  // namespace

std::optional<LineChart> metricChart(const std::vector<LoadedRun>& runs, const std::string& metric,
                                     std::int64_t shots, const std::vector<std::string>& methods) {
    LineChart chart;
    const std::string name = metricDisplayName(metric);
    chart.title = name + " vs iteration, n = " + std::to_string(shots) + " (mean ± std over seeds)";
    chart.xLabel = "iteration";
    chart.yLabel = name;
    bool allPositive = true, anyData = false;
    for (size_t k = 0; k < methods.size(); ++k) {
        std::vector<const LoadedRun*> seeds;
        for (const auto& run : runs)
            if (run.finished && run.record.method == methods[k] && run.record.shots == shots &&
                !run.metrics->get(metric).empty())
                seeds.push_back(&run);
        if (seeds.empty()) continue;
        LineSeries line = methodSeries(seeds, metric);
        line.label = methods[k] + (seeds.size() > 1 ? " (" + std::to_string(seeds.size()) + " seeds)" : " (1 seed)");
        line.colour = chartPaletteColour(static_cast<int>(k));
        for (double y : line.y)
            if (std::isfinite(y)) anyData = true, allPositive = allPositive && y > 0;
        chart.series.push_back(std::move(line));
    }
    if (chart.series.empty() || !anyData) return std::nullopt;
    chart.logY = prefersLogAxis(metric) && allPositive;
    return chart;
}

}  // namespace coalesce::report
