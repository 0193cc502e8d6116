#include "app/radius_estimator.h"

#include <torch/torch.h>

#include "core/error.h"
#include "io/model_files.h"
#include "train/radius_estimation.h"

namespace {
struct LogCollector : coalesce::JobObserver {
    QStringList lines;
    void onLog(coalesce::LogLevel, const std::string& message) override { lines << QString::fromStdString(message); }
};
}  // namespace

RadiusEstimation estimateRadiiFromLocalData(const QStringList& generatorFiles, const QStringList& sourceNames,
                                            const QString& localSpec, int count, qint64 seed, const QString& space) {
    RadiusEstimation out;
    try {
        std::vector<coalesce::Generator> generators;
        std::vector<std::string> names;
        for (int k = 0; k < generatorFiles.size(); ++k) {
            generators.push_back(coalesce::loadGenerator(generatorFiles[k].toStdString()));
            names.push_back((k < sourceNames.size() && !sourceNames[k].isEmpty() ? sourceNames[k] : generatorFiles[k]).toStdString());
        }
        coalesce::RadiusEstimationOptions options;
        options.data = localSpec.toStdString();
        options.k = count;
        options.kSeed = static_cast<uint64_t>(std::max<qint64>(seed, 0));
        options.space = space.toStdString();
        LogCollector log;
        coalesce::CancelToken cancel;
        coalesce::CoverageCheck coverage;
        const auto estimates = coalesce::estimateRadiiForSources(generators, names, options, log, cancel, &coverage);
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
