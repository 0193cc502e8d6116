#include "app/radius_estimator.h"

#include <QJsonObject>

#include "bridge/engine_json.h"
#include "core/error.h"
#include "train/coalescence.h"

namespace {
struct LogCollector : coalesce::JobObserver {
    QStringList lines;
    void onLog(coalesce::LogLevel, const std::string& message) override { lines << QString::fromStdString(message); }
};
}  // namespace

RadiusEstimation estimateRadiiFromLocalData(const QJsonArray& sources, const QString& localSpec, int count, qint64 seed,
                                            const QString& space) {
    RadiusEstimation out;
    try {
        // A barycenter config with "radii": "auto", read and loaded by the engine exactly as the job does.
        QJsonArray unweighted;
        for (const auto& entry : sources) {
            QJsonObject source = entry.toObject();
            source.remove("radius");  // estimated here
            unweighted.append(source);
        }
        const QJsonObject config{{"radii", "auto"},
                                 {"sources", unweighted},
                                 {"radius_estimation", QJsonObject{{"data", localSpec},
                                                                   {"k", count},
                                                                   {"k_seed", std::max<qint64>(seed, 0)},
                                                                   {"space", space}}}};
        const coalesce::CoalescenceConfig parsed =
            coalesce::readCoalescenceConfig(coalesce::ConfigReader(toEngineJson(config), "η from local data"));
        LogCollector log;
        coalesce::CancelToken cancel;
        coalesce::CoverageCheck coverage;
        const auto estimates = coalesce::estimateRadiiOfSources(parsed, log, cancel, &coverage);
        out.regime = QString::fromStdString(coverage.regime);
        if (!coverage.regime.empty()) {
            out.blendEta = coverage.blendEta;
            out.nearestEta = coverage.nearestEta;
            out.nearest = static_cast<int>(coverage.nearest);
            out.suggestsMixture = coalesce::combineModeForRegime(coverage.regime) == coalesce::CombineMode::Mixture;
        }
        for (const auto& e : estimates) {
            out.eta << e.eta;
            out.stddev << e.stddev;
            out.low << e.low;
            out.high << e.high;
        }
        out.log = log.lines;
    } catch (const std::exception& e) {
        const std::string m = e.what();
        out.error = QString::fromStdString(m.substr(0, m.find('\n')));
    }
    return out;
}
