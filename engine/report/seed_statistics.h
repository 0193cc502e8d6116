// Statistics over seeds, as the report shows them: mean and sample standard deviation (n − 1) of the
// finite values, and how many there were. Torch-free.
#pragma once
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

}  // namespace coalesce::report
