#include "runs/ternary_layers.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace {

bool readJsonObject(const QString& path, QJsonObject* out, QString* error) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QObject::tr("%1: cannot open (%2)").arg(path, file.errorString());
        return false;
    }
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &parseError);
    if (!doc.isObject()) {
        *error = QObject::tr("%1: not a JSON object (%2)").arg(path, parseError.errorString());
        return false;
    }
    *out = doc.object();
    return true;
}

QString reportPathOf(const QString& runDir) {
    QJsonObject summary;
    QString ignored;
    if (readJsonObject(runDir + "/summary.json", &summary, &ignored)) {
        // The engine writes the path as given to it: absolute, or relative to where the job ran.
        const QString named = summary.value("report").toString();
        for (const QString& candidate : {named, QDir(runDir).filePath(QFileInfo(named).fileName())})
            if (!named.isEmpty() && QFileInfo(candidate).isFile()) return candidate;
    }
    const QStringList found = QDir(runDir).entryList({QStringLiteral("*.report.json")}, QDir::Files, QDir::Name);
    return found.size() == 1 ? QDir(runDir).filePath(found.first()) : QString();
}

}  // namespace

bool readTernaryLayers(const QString& runDir, TernaryLayers* out, QString* error) {
    QString problem;
    const QString path = reportPathOf(runDir);
    if (path.isEmpty()) {
        *error = QObject::tr("%1: no ternarization report (*.report.json) in this run").arg(runDir);
        return false;
    }
    QJsonObject report;
    if (!readJsonObject(path, &report, &problem)) {
        *error = problem;
        return false;
    }
    if (!report.value("layers").isArray()) {
        *error = QObject::tr("%1: not a ternarization report (no \"layers\")").arg(path);
        return false;
    }
    TernaryLayers result;
    result.reportPath = path;
    result.method = report.value("method").toString();
    for (const QJsonValue& v : report.value("layers").toArray()) {
        const QJsonObject l = v.toObject();
        TernaryLayerRow row;
        row.name = l.value("name").toString();
        row.kind = l.value("kind").toString();
        QStringList dims;
        for (const QJsonValue& d : l.value("shape").toArray()) dims << QString::number(d.toInteger());
        row.shape = dims.join(QStringLiteral("×"));
        row.weights = l.value("weights").toInteger();
        row.zeroFraction = l.value("zero_fraction").toDouble();
        row.positiveFraction = l.value("positive_fraction").toDouble();
        row.negativeFraction = l.value("negative_fraction").toDouble();
        row.scalePos = l.value("scale_pos").toDouble();
        row.scaleNeg = l.value("scale_neg").toDouble();
        row.threshold = l.value("threshold").toDouble();
        row.thresholdOverMaxAbs = l.value("threshold_over_max_abs").toDouble();
        result.layers.push_back(row);
    }
    for (const QJsonValue& v : report.value("float_layers").toArray()) result.floatLayers << v.toString();
    *out = result;
    return true;
}
