#include "report/report_format.h"

#include <cmath>
#include <cstdio>
#include <map>

namespace coalesce::report {

std::string metricDisplayName(const std::string& metric) {
    static const std::map<std::string, std::string> names = {
        {"eval/fid", "FID"},          {"eval/kid", "KID"},
        {"eval/kid_se", "KID s.e."},  {"eval/w1", "W1"},
        {"eval/w1_features", "W1 (features)"}, {"eval/sliced_w1", "sliced W1"},
        {"eval/precision", "precision"},       {"eval/recall", "recall"},
        {"eval/diversity", "diversity"},       {"eval/wall_seconds", "training time (s)"}};
    const auto it = names.find(metric);
    if (it != names.end()) return it->second;
    return metric.rfind("eval/", 0) == 0 ? metric.substr(5) : metric;
}

namespace {

bool scientific(double value) {
    const double magnitude = std::fabs(value);
    return magnitude != 0 && (magnitude >= 1e6 || magnitude < 1e-6);
}

// Decimals that give `value` four significant digits (at least 0, at most 6).
int decimalsFor(double value) {
    if (value == 0 || !std::isfinite(value)) return 3;
    const int digitsBeforePoint = static_cast<int>(std::floor(std::log10(std::fabs(value)))) + 1;
    return std::max(0, std::min(6, 4 - digitsBeforePoint));
}

std::string fixed(double value, int decimals) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    std::string text = buffer;
    if (text.rfind("-0", 0) == 0 && text.find_first_not_of("-0.") == std::string::npos) text.erase(0, 1);
    return text;
}

}  // namespace

std::string formatValue(double value) {
    if (!std::isfinite(value)) return "n/a";
    if (scientific(value)) {
        char buffer[64];
        std::snprintf(buffer, sizeof buffer, "%.3e", value);
        return buffer;
    }
    return fixed(value, decimalsFor(value));
}

std::string formatMeanStd(const nlohmann::json& stats, int decimals) {
    if (!stats.is_object() || !stats.contains("mean") || !stats["mean"].is_number()) return "n/a";
    const double mean = stats["mean"].get<double>();
    const bool hasStd = stats.contains("std") && stats["std"].is_number();
    if (decimals < 0 && scientific(mean)) {
        char buffer[96];
        if (hasStd) std::snprintf(buffer, sizeof buffer, "%.3e ± %.2e", mean, stats["std"].get<double>());
        else std::snprintf(buffer, sizeof buffer, "%.3e ± —", mean);
        return buffer;
    }
    const int places = decimals >= 0 ? decimals : decimalsFor(mean);
    return fixed(mean, places) + " ± " + (hasStd ? fixed(stats["std"].get<double>(), places) : "—");
}

std::string markdownCell(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '|') out += "\\|";
        else if (c == '\n') out += ' ';
        else out += c;
    }
    return out;
}

}  // namespace coalesce::report
