#include "app/radius_estimator.h"

#include <QJsonDocument>
#include <QJsonObject>

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
        nlohmann::json config{{"radii", "auto"},
                              {"radius_estimation", {{"data", localSpec.toStdString()},
                                                     {"k", count},
                                                     {"k_seed", std::max<qint64>(seed, 0)},
                                                     {"space", space.toStdString()}}}};
        config["sources"] = nlohmann::json::array();
        for (const auto& entry : sources) {
            QJsonObject source = entry.toObject();
            source.remove("radius");  // estimated here
            config["sources"].push_back(
                nlohmann::json::parse(QJsonDocument(source).toJson(QJsonDocument::Compact).toStdString()));
        }
        const coalesce::CoalescenceConfig parsed =
            coalesce::readCoalescenceConfig(coalesce::ConfigReader(config, "η from local data"));
        LogCollector log;
        coalesce::CancelToken cancel;
        coalesce::CoverageCheck coverage;
        const auto estimates = coalesce::estimateRadiiOfSources(parsed, log, cancel, &coverage);
        out.regime = QString::fromStdString(coverage.regime);
        if (!coverage.regime.empty()) {
            out.blendEta = coverage.blendEta;
            out.nearestEta = coverage.nearestEta;
            out.nearest = static_cast<int>(coverage.nearest);
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
