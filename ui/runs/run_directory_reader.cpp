#include "runs/run_directory_reader.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include "runs/run_store.h"

bool isRunDirectory(const QString& dir) {
    const QDir d(dir);
    return QFileInfo(dir).isDir() && (d.exists("config.json") || d.exists("metrics.csv"));
}

QString recordedRunStatus(const QString& dir) {
    QFile file(dir + "/summary.json");
    if (!file.open(QIODevice::ReadOnly)) return QStringLiteral("unfinished");
    const QJsonObject summary = QJsonDocument::fromJson(file.readAll()).object();
    // Training jobs record {"status": ...}; one-shot jobs write their result only when they finish.
    return summary.value("status").toString(QStringLiteral("finished"));
}

int loadRunDirectory(const QString& dir, RunStore& store, RunDirectoryContents* contents, QString* error) {
    RunDirectoryContents c;
    const QDir d(dir);
    if (!QFileInfo(dir).isDir()) {
        if (error) *error = QObject::tr("%1: not a folder").arg(dir);
        return -1;
    }
    if (!isRunDirectory(dir)) {
        if (error) *error = QObject::tr("%1: not a run directory (no config.json or metrics.csv)").arg(dir);
        return -1;
    }

    QJsonObject config;
    if (QFile f(d.filePath("config.json")); f.open(QIODevice::ReadOnly)) config = QJsonDocument::fromJson(f.readAll()).object();
    c.kind = config.value("kind").toString(QStringLiteral("run"));
    c.status = d.exists("summary.json") ? QStringLiteral("finished") : QStringLiteral("incomplete");

    // Parse metrics first so a broken file fails before a run is added.
    QMap<QString, QPair<QVector<double>, QVector<double>>> series;
    QStringList order;
    if (QFile f(d.filePath("metrics.csv")); f.exists()) {
        if (!f.open(QIODevice::ReadOnly | QIODevice::Text)) {
            if (error) *error = QObject::tr("%1: cannot read (%2)").arg(f.fileName(), f.errorString());
            return -1;
        }
        bool header = true;
        while (!f.atEnd()) {
            const QByteArray line = f.readLine().trimmed();
            if (line.isEmpty()) continue;
            if (header) {
                header = false;
                if (line.startsWith("step,")) continue;
            }
            const QList<QByteArray> parts = line.split(',');
            bool okStep = false, okValue = false;
            if (parts.size() != 3) {
                ++c.skippedRows;
                continue;
            }
            const double step = parts[0].toDouble(&okStep);
            const double value = parts[2].toDouble(&okValue);  // "nan"/"inf" parse as such
            if (!okStep || !okValue) {
                ++c.skippedRows;
                continue;
            }
            const QString name = QString::fromUtf8(parts[1]);
            auto it = series.find(name);
            if (it == series.end()) {
                it = series.insert(name, {});
                order << name;
            }
            it->first << step;
            it->second << value;
            ++c.metricRows;
        }
    }

    QString label = QFileInfo(dir).fileName();
    const int id = store.addRun(label, c.kind, QFileInfo(dir).absoluteFilePath(), c.status);
    for (const QString& name : order) store.addMetricPoints(id, name, series[name].first, series[name].second);

    static const QRegularExpression sampleName(QStringLiteral("^(?:(.+)_)?step_(\\d+)\\.png$"));
    const QDir samples(d.filePath("samples"));
    for (const QString& file : samples.entryList({"*.png"}, QDir::Files, QDir::Name)) {
        const auto m = sampleName.match(file);
        if (!m.hasMatch()) continue;
        const QImage image(samples.filePath(file));
        if (image.isNull()) continue;
        const QString tag = m.captured(1).isEmpty() ? QStringLiteral("samples") : m.captured(1);
        store.addImage(id, tag, m.captured(2).toLongLong(), image);
        ++c.images;
    }
    // Packed run folders (the shipped sources of samples/models/) keep no samples/ history, only the
    // final grid: shown as the run's "samples" at its last step, so such a run can be compared and browsed.
    if (c.images == 0 && d.exists("final_grid.png")) {
        const QImage image(d.filePath("final_grid.png"));
        if (!image.isNull()) {
            qint64 step = 0;
            if (QFile f(d.filePath("summary.json")); f.open(QIODevice::ReadOnly))
                step = QJsonDocument::fromJson(f.readAll()).object().value("steps").toVariant().toLongLong();
            store.addImage(id, QStringLiteral("samples"), step, image);
            ++c.images;
        }
    }
    static const QRegularExpression checkpointName(QStringLiteral("^step_(\\d+)\\.coalesce$"));
    const QDir checkpoints(d.filePath("checkpoints"));
    if (RunData* run = store.run(id)) {
        for (const QString& file : checkpoints.entryList({"*.coalesce"}, QDir::Files, QDir::Name)) {
            const auto m = checkpointName.match(file);
            if (m.hasMatch()) run->checkpoints.push_back({m.captured(1).toLongLong(), checkpoints.filePath(file)});
        }
        c.checkpoints = run->checkpoints.size();
    }
    if (contents) *contents = c;
    return id;
}
