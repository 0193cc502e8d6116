// Statistics over seeds, as the report shows them: mean and sample standard deviation (n − 1) of the
// finite values, and how many there were. Torch-free.
#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

namespace coalesce::report {

struct SeedStatistics {
    double mean = 0;
    double std = 0;       // sample std (n − 1); meaningful only when count >= 2
    int count = 0;        // finite values summarised (NaN/inf values are left out)

    bool hasMean() const { return count >= 1; }
    bool hasStd() const { return count >= 2; }
};

SeedStatistics summarizeSeeds(const std::vector<double>& values);

// {"mean": m|null, "std": s|null, "count": n}: null where the value is undefined (no value, one value).
nlohmann::json toJson(const SeedStatistics& stats);

// The two-sided 95% quantile of Student's t with `df` >= 1 degrees of freedom (tabulated to 30, then a
// Cornish-Fisher expansion, within 1e-3 of the exact value; tests/engine check it against scipy).
double studentT95(int df);

// Seed-by-seed differences b − a of two methods run on the same seeds (same local samples, same
// initial state where the method allows): what the spread over seeds hides when the seeds themselves
// differ a lot. Seeds where either value is missing or not finite are left out.
struct PairedDifference {
    SeedStatistics difference;  // of b − a
    double halfWidth95 = 0;     // of the 95% t-interval of the mean difference; meaningful for count >= 2
    int aLower = 0;             // seeds where a's value is lower than b's
};
PairedDifference pairSeeds(const std::map<std::uint64_t, double>& a, const std::map<std::uint64_t, double>& b);

}  // namespace coalesce::report
