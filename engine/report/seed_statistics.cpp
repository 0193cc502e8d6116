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

double studentT95(int df) {
    static const double table[] = {12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
                                   2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
                                   2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423};
    if (df < 1) return std::nan("");
    if (df <= 30) return table[df - 1];
    const double z = 1.959964, n = df;
    return z + (z * z * z + z) / (4 * n) + (5 * std::pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * n * n);
}

PairedDifference pairSeeds(const std::map<std::uint64_t, double>& a, const std::map<std::uint64_t, double>& b) {
    std::vector<double> differences;
    PairedDifference paired;
    for (const auto& [seed, valueA] : a) {
        const auto it = b.find(seed);
        if (it == b.end() || !std::isfinite(valueA) || !std::isfinite(it->second)) continue;
        differences.push_back(it->second - valueA);
        paired.aLower += valueA < it->second;
    }
    paired.difference = summarizeSeeds(differences);
    if (paired.difference.hasStd())
        paired.halfWidth95 = studentT95(paired.difference.count - 1) * paired.difference.std / std::sqrt(paired.difference.count);
    return paired;
}

}  // namespace coalesce::report
