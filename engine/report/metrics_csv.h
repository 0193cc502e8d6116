// Reading a run directory's metrics.csv ("step,name,value", one row per metric event) into per-metric
// series, and the lookups an experiment report needs on them. Torch-free.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace coalesce::report {

struct MetricRow {
    std::int64_t step = 0;
    std::string name;
    double value = 0;
};

// One metric over a run: steps ascending, one value per step (a step logged twice, e.g. after a
// resume, keeps the later row).
struct MetricSeries {
    std::vector<std::int64_t> steps;
    std::vector<double> values;

    bool empty() const { return steps.empty(); }
    // The value at the last logged step; NaN for an empty series.
    double finalValue() const;
    // The value at `step`: exact where logged, linear between neighbours, NaN outside the logged range.
    double interpolateAt(double step) const;
    // The first logged step whose value is <= threshold (NaN values never qualify).
    std::optional<std::int64_t> firstStepAtOrBelow(double threshold) const;
};

struct RunMetrics {
    std::string path;                             // the metrics.csv read
    std::vector<MetricRow> rows;                  // every row, in file order
    std::map<std::string, MetricSeries> series;   // by metric name
    std::int64_t lastStep = 0;                    // the largest step of any row (0 if none)

    // The named series, or an empty one.
    const MetricSeries& get(const std::string& name) const;
};

// Parses a metrics.csv. Throws coalesce::Error naming the file (and line) when it is missing, lacks
// the header, or a row is malformed; "nan"/"inf" values are accepted (a diverged metric is data).
RunMetrics readMetricsCsv(const std::string& path);

}  // namespace coalesce::report
