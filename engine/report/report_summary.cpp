#include "report/report_summary.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "report/seed_statistics.h"

namespace coalesce::report {

using nlohmann::json;

namespace {

json numberOrNull(double value) { return std::isfinite(value) ? json(value) : json(); }

// The primary metric first, then the table metrics, without repeats.
std::vector<std::string> summaryMetrics(const ExperimentReportOptions& options) {
    std::vector<std::string> metrics{options.primaryMetric};
    for (const auto& m : options.tableMetrics)
        if (std::find(metrics.begin(), metrics.end(), m) == metrics.end()) metrics.push_back(m);
    return metrics;
}

json runJson(const LoadedRun& run, const ExperimentReportOptions& options) {
    json finals = json::object();
    if (run.metrics)
        for (const auto& m : summaryMetrics(options)) finals[m] = numberOrNull(run.metrics->get(m).finalValue());
    return {{"method", run.record.method},
            {"shots", run.record.shots},
            {"seed", run.record.seed},
            {"status", run.record.status},
            {"run_dir", run.record.runDir},
            {"wall_seconds", numberOrNull(run.record.wallSeconds)},
            {"final_step", run.metrics ? json(run.metrics->lastStep) : json()},
            {"final", finals},
            {"grid", run.grid.empty() ? json() : json(run.grid)}};
}

// The reference method's final primary-metric value per seed at one n (finite values only).
struct ReferenceFinals {
    std::map<std::uint64_t, double> bySeed;
    SeedStatistics stats;
};

ReferenceFinals referenceFinals(const std::vector<const LoadedRun*>& reference, const std::string& metric) {
    ReferenceFinals ref;
    std::vector<double> values;
    for (const LoadedRun* run : reference) {
        const double value = run->metrics->get(metric).finalValue();
        if (!std::isfinite(value)) continue;
        ref.bySeed[run->record.seed] = value;
        values.push_back(value);
    }
    ref.stats = summarizeSeeds(values);
    return ref;
}

// For each finished seed: the first evaluation at which the primary metric is at or below the
// reference's final value for the same seed (else the reference's mean), and the training wall time
// by then, interpolated from the wall-time metric logged at evaluations.
json reachJson(const std::vector<const LoadedRun*>& finished, const ReferenceFinals& ref,
               const ExperimentReportOptions& options) {
    json perSeed = json::array();
    std::vector<double> steps, seconds;
    for (const LoadedRun* run : finished) {
        const auto sameSeed = ref.bySeed.find(run->record.seed);
        const bool fromSameSeed = sameSeed != ref.bySeed.end();
        const double threshold = fromSameSeed ? sameSeed->second : ref.stats.mean;
        const auto step = run->metrics->get(options.primaryMetric).firstStepAtOrBelow(threshold);
        double wall = std::nan("");
        if (step) {
            wall = run->metrics->get(kWallSecondsMetric).interpolateAt(static_cast<double>(*step));
            steps.push_back(static_cast<double>(*step));
            seconds.push_back(wall);
        }
        perSeed.push_back({{"seed", run->record.seed},
                           {"threshold", threshold},
                           {"threshold_from", fromSameSeed ? "same seed" : "reference mean"},
                           {"step", step ? json(*step) : json()},
                           {"seconds", numberOrNull(wall)}});
    }
    return {{"threshold_metric", options.primaryMetric},
            {"seeds", finished.size()},
            {"reached", steps.size()},
            {"steps", toJson(summarizeSeeds(steps))},
            {"seconds", toJson(summarizeSeeds(seconds))},
            {"per_seed", perSeed}};
}

json methodJson(const std::string& method, const std::vector<const LoadedRun*>& runsHere,
                const ReferenceFinals& ref, const ExperimentReportOptions& options) {
    std::vector<const LoadedRun*> finished;
    json notFinished = json::array(), seeds = json::array();
    for (const LoadedRun* run : runsHere) {
        if (run->finished) {
            finished.push_back(run);
            seeds.push_back(run->record.seed);
        } else {
            notFinished.push_back({{"seed", run->record.seed}, {"status", run->record.status}});
        }
    }
    json entry = {{"method", method},
                  {"runs", runsHere.size()},
                  {"finished", finished.size()},
                  {"seeds", seeds},
                  {"not_finished", notFinished}};

    json finalStep;
    if (!finished.empty()) {
        std::int64_t lo = finished.front()->metrics->lastStep, hi = lo;
        for (const LoadedRun* run : finished) {
            lo = std::min(lo, run->metrics->lastStep);
            hi = std::max(hi, run->metrics->lastStep);
        }
        finalStep = {{"min", lo}, {"max", hi}};
    }
    entry["final_step"] = finalStep;

    json finals = json::object();
    for (const auto& metric : summaryMetrics(options)) {
        std::vector<double> values;
        json perSeed = json::array();
        for (const LoadedRun* run : finished) {
            values.push_back(run->metrics->get(metric).finalValue());
            perSeed.push_back(numberOrNull(values.back()));
        }
        finals[metric] = toJson(summarizeSeeds(values));
        finals[metric]["values"] = perSeed;
    }
    entry["final"] = finals;

    std::vector<double> wall;
    for (const LoadedRun* run : finished) wall.push_back(run->record.wallSeconds);
    entry["run_wall_seconds"] = toJson(summarizeSeeds(wall));
    entry["reach"] = ref.stats.count > 0 ? reachJson(finished, ref, options) : json();
    return entry;
}

// The primary metric's final value per finished seed.
std::map<std::uint64_t, double> finalsBySeed(const std::vector<const LoadedRun*>& runsHere, const std::string& metric) {
    std::map<std::uint64_t, double> values;
    for (const LoadedRun* run : runsHere)
        if (run->finished) values[run->record.seed] = run->metrics->get(metric).finalValue();
    return values;
}

// Every method against the paired one, seed by seed (report/seed_statistics.h: pairSeeds).
json pairedJson(const std::map<std::string, std::vector<const LoadedRun*>>& byMethod, const std::vector<std::string>& methods,
                const ExperimentReportOptions& options) {
    auto ranHere = [&byMethod](const std::string& method) { return byMethod.count(method) && !byMethod.at(method).empty(); };
    std::string paired = options.pairedMethod;
    if (!ranHere(paired)) paired = methods.empty() ? "" : methods.front();
    if (!ranHere(paired)) return json();
    const auto base = finalsBySeed(byMethod.at(paired), options.primaryMetric);
    json comparisons = json::array();
    for (const auto& method : methods) {
        if (method == paired || !ranHere(method)) continue;
        const PairedDifference d = pairSeeds(base, finalsBySeed(byMethod.at(method), options.primaryMetric));
        comparisons.push_back({{"method", method},
                               {"difference", toJson(d.difference)},
                               {"half_width_95", d.difference.hasStd() ? json(d.halfWidth95) : json()},
                               {"paired_lower", d.aLower}});
    }
    return {{"method", paired}, {"metric", options.primaryMetric}, {"comparisons", comparisons}};
}

json shotsJson(const std::vector<LoadedRun>& runs, std::int64_t shots, const std::vector<std::string>& methods,
               const ExperimentReportOptions& options) {
    std::map<std::string, std::vector<const LoadedRun*>> byMethod;
    for (const auto& run : runs)
        if (run.record.shots == shots) byMethod[run.record.method].push_back(&run);
    for (auto& [method, list] : byMethod)
        std::sort(list.begin(), list.end(),
                  [](const LoadedRun* a, const LoadedRun* b) { return a->record.seed < b->record.seed; });

    std::vector<const LoadedRun*> referenceFinished;
    for (const LoadedRun* run : byMethod[options.referenceMethod])
        if (run->finished) referenceFinished.push_back(run);
    const ReferenceFinals ref = referenceFinals(referenceFinished, options.primaryMetric);
    json refPerSeed = json::array();
    for (const auto& [seed, value] : ref.bySeed) refPerSeed.push_back({{"seed", seed}, {"value", value}});

    json methodEntries = json::array();
    for (const auto& method : methods)
        if (!byMethod[method].empty()) methodEntries.push_back(methodJson(method, byMethod[method], ref, options));

    json grids = json::array();
    for (const auto& method : methods)
        for (const LoadedRun* run : byMethod[method])
            if (!run->grid.empty())
                grids.push_back({{"method", method}, {"seed", run->record.seed}, {"path", run->grid},
                                 {"finished", run->finished}});

    return {{"shots", shots},
            {"reference", {{"method", options.referenceMethod},
                           {"final", toJson(ref.stats)},
                           {"per_seed", refPerSeed}}},
            {"methods", methodEntries},
            {"paired", pairedJson(byMethod, methods, options)},
            {"plots", json::array()},
            {"grids", grids},
            {"headline", ""}};
}

}  // namespace

std::vector<std::string> methodOrder(const std::vector<LoadedRun>& runs) {
    std::vector<std::string> methods;
    for (const auto& run : runs)
        if (std::find(methods.begin(), methods.end(), run.record.method) == methods.end())
            methods.push_back(run.record.method);
    return methods;
}

std::vector<std::int64_t> shotsOrder(const std::vector<LoadedRun>& runs) {
    std::set<std::int64_t> shots;
    for (const auto& run : runs) shots.insert(run.record.shots);
    return {shots.begin(), shots.end()};
}

json buildSummary(const std::vector<LoadedRun>& runs, const ExperimentReportOptions& options) {
    const auto methods = methodOrder(runs);
    const auto shots = shotsOrder(runs);
    json summary = {{"title", options.title},
                    {"primary_metric", options.primaryMetric},
                    {"reference_method", options.referenceMethod},
                    {"protocol", options.protocol.is_null() ? json::object() : options.protocol},
                    {"table_metrics", options.tableMetrics},
                    {"plot_metrics", options.plotMetrics},
                    {"methods", methods},
                    {"shots", shots}};
    json runList = json::array();
    for (const auto& run : runs) runList.push_back(runJson(run, options));
    summary["runs"] = runList;
    json byShots = json::array();
    for (std::int64_t n : shots) byShots.push_back(shotsJson(runs, n, methods, options));
    summary["by_shots"] = byShots;
    return summary;
}

}  // namespace coalesce::report
