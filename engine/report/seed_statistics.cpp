#include "report/seed_statistics.h"

#include <cmath>

namespace coalesce::report {

SeedStatistics summarizeSeeds(const std::vector<double>& values) {
    SeedStatistics stats;
    double sum = 0;
    for (double v : values)
        if (std::isfinite(v)) sum += v, ++stats.count;
    if (stats.count == 0) return stats;
    stats.mean = sum / stats.count;
    if (stats.count >= 2) {
        double squares = 0;
        for (double v : values)
            if (std::isfinite(v)) squares += (v - stats.mean) * (v - stats.mean);
        stats.std = std::sqrt(squares / (stats.count - 1));
    }
    return stats;
}

nlohmann::json toJson(const SeedStatistics& stats) {
    return {{"mean", stats.hasMean() ? nlohmann::json(stats.mean) : nlohmann::json()},
            {"std", stats.hasStd() ? nlohmann::json(stats.std) : nlohmann::json()},
            {"count", stats.count}};
}

}  // namespace coalesce::report
