#include "report/metrics_csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/error.h"

namespace coalesce::report {

double MetricSeries::finalValue() const {
    return values.empty() ? std::numeric_limits<double>::quiet_NaN() : values.back();
}

double MetricSeries::interpolateAt(double step) const {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (steps.empty() || step < static_cast<double>(steps.front()) || step > static_cast<double>(steps.back()))
        return nan;
    // First logged step >= step; step lies in [steps[i-1], steps[i]].
    const auto it = std::lower_bound(steps.begin(), steps.end(), step,
                                     [](std::int64_t s, double v) { return static_cast<double>(s) < v; });
    const size_t i = static_cast<size_t>(it - steps.begin());
    if (static_cast<double>(steps[i]) == step || i == 0) return values[i];
    const double s0 = static_cast<double>(steps[i - 1]), s1 = static_cast<double>(steps[i]);
    return values[i - 1] + (values[i] - values[i - 1]) * (step - s0) / (s1 - s0);
}

std::optional<std::int64_t> MetricSeries::firstStepAtOrBelow(double threshold) const {
    for (size_t i = 0; i < steps.size(); ++i)
        if (values[i] <= threshold) return steps[i];  // false for NaN
    return std::nullopt;
}

const MetricSeries& RunMetrics::get(const std::string& name) const {
    static const MetricSeries none;
    const auto it = series.find(name);
    return it == series.end() ? none : it->second;
}

namespace {

[[noreturn]] void fail(const std::string& path, size_t line, const std::string& what) {
    throw Error(path + ":" + std::to_string(line) + ": " + what);
}

// "step,name,value": the step before the first comma, the value after the last, the name between
// (so a name with a comma in it would still parse).
MetricRow parseRow(const std::string& text, const std::string& path, size_t line) {
    const size_t first = text.find(','), last = text.rfind(',');
    if (first == std::string::npos || first == last)
        fail(path, line, "expected 'step,name,value', got '" + text + "'");
    MetricRow row;
    const char* stepBegin = text.data();
    const char* stepEnd = text.data() + first;
    const auto [end, error] = std::from_chars(stepBegin, stepEnd, row.step);
    if (error != std::errc() || end != stepEnd || row.step < 0)
        fail(path, line, "bad step '" + text.substr(0, first) + "' (expected a non-negative integer)");
    row.name = text.substr(first + 1, last - first - 1);
    if (row.name.empty()) fail(path, line, "empty metric name");
    const std::string valueText = text.substr(last + 1);
    char* valueEnd = nullptr;
    row.value = std::strtod(valueText.c_str(), &valueEnd);
    if (valueText.empty() || valueEnd != valueText.c_str() + valueText.size())
        fail(path, line, "bad value '" + valueText + "' for " + row.name + " (expected a number)");
    return row;
}

}  // namespace

RunMetrics readMetricsCsv(const std::string& path) {
    if (!std::filesystem::exists(path)) throw Error(path + ": no such file (expected the run's metrics)");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open for reading");
    RunMetrics metrics;
    metrics.path = path;
    std::string text;
    size_t line = 0;
    while (std::getline(in, text)) {
        ++line;
        if (!text.empty() && text.back() == '\r') text.pop_back();  // written on Windows
        if (line == 1) {
            if (text != "step,name,value")
                fail(path, line, "expected the header 'step,name,value', got '" + text.substr(0, 80) + "'");
            continue;
        }
        if (text.empty()) continue;
        metrics.rows.push_back(parseRow(text, path, line));
    }
    if (line == 0) throw Error(path + ": empty file (expected the header 'step,name,value')");

    // Per-metric series: a stable sort by step keeps file order among equal steps, so the later row of
    // a repeated step wins below.
    std::map<std::string, std::vector<std::pair<std::int64_t, double>>> byName;
    for (const auto& row : metrics.rows) {
        byName[row.name].emplace_back(row.step, row.value);
        metrics.lastStep = std::max(metrics.lastStep, row.step);
    }
    for (auto& [name, points] : byName) {
        std::stable_sort(points.begin(), points.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        MetricSeries& series = metrics.series[name];
        for (const auto& [step, value] : points) {
            if (!series.steps.empty() && series.steps.back() == step) {
                series.values.back() = value;
                continue;
            }
            series.steps.push_back(step);
            series.values.push_back(value);
        }
    }
    return metrics;
}

}  // namespace coalesce::report
