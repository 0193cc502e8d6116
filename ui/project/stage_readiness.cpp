#include "project/stage_readiness.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QObject>
#include <QRegularExpression>

#ifndef COALESCE_DATA_DIR
#define COALESCE_DATA_DIR "/usr/share/datasets"
#endif

namespace {
// "<path>[:classes]" -> "<path>".
QString pathPart(const QString& rest) {
    static const QRegularExpression classes(QStringLiteral("^(.*):([0-9]+(?:,[0-9]+)*)$"));
    const auto m = classes.match(rest);
    return m.hasMatch() ? m.captured(1) : rest;
}
}  // namespace

ModelFileInfo ModelFileCache::inspect(const QString& path) const {
    const qint64 mtime = QFileInfo(path).lastModified().toMSecsSinceEpoch();
    const auto it = cache_.constFind(path);
    if (it != cache_.constEnd() && it->first == mtime) return it->second;
    ModelFileInfo info = inspectModelFile(path);
    cache_.insert(path, {mtime, info});
    return info;
}

QString localDataSpecProblem(const QString& spec) {
    if (spec.trimmed().isEmpty()) return QObject::tr("no dataset chosen");
    const QString kind = spec.section(':', 0, 0);
    if (kind == "fashion-mnist" || kind == "mnist") {
        const QString split = spec.section(':', 1, 1);
        if (split != "train" && split != "test")
            return QObject::tr("%1: the split must be train or test (e.g. %1:train:8,9)").arg(kind);
        const QString dir = QStringLiteral(COALESCE_DATA_DIR "/") + kind;
        const QString file = dir + (split == "train" ? "/train-images-idx3-ubyte.gz" : "/t10k-images-idx3-ubyte.gz");
        if (!QFileInfo::exists(file) && !QFileInfo::exists(file.chopped(3)))
            return QObject::tr("%1 is not installed (%2 missing); install the dataset-%1 package").arg(kind, file);
        return {};
    }
    if (kind == "folder") {
        const QString dir = pathPart(spec.mid(7));
        if (!QFileInfo(dir).isDir()) return QObject::tr("folder %1 does not exist").arg(dir);
        // The engine reads PNG/JPG/BMP files in class sub-folders (data/image_folder.h); say so now
        // rather than at Start.
        QDirIterator images(dir, {"*.png", "*.PNG", "*.jpg", "*.JPG", "*.jpeg", "*.JPEG", "*.bmp", "*.BMP"}, QDir::Files,
                            QDirIterator::Subdirectories);
        if (!images.hasNext()) return QObject::tr("folder %1 holds no image files (PNG, JPG or BMP, one sub-folder per class)").arg(dir);
        return {};
    }
    if (kind == "idx") {
        const QString paths = pathPart(spec.mid(4));
        const QString images = paths.section(':', 0, 0), labels = paths.section(':', 1, 1);
        if (labels.isEmpty()) return QObject::tr("idx: expected idx:<images>:<labels>[:classes]");
        for (const QString& f : {images, labels})
            if (!QFileInfo::exists(f)) return QObject::tr("IDX file %1 does not exist").arg(f);
        return {};
    }
    if (kind == "toy") return spec.section(':', 1, 1).isEmpty() ? QObject::tr("toy: name a mixture, e.g. toy:ring8") : QString();
    return QObject::tr("unknown dataset kind “%1” (use fashion-mnist:, mnist:, folder:, idx: or toy:)").arg(kind);
}

ModelFileInfo sourceFileInfo(const SourceModel& source, const ModelFileCache& files) {
    if (!source.blackBox) return files.inspect(source.path);
    // Never opened here: running (even loading) a TorchScript module is the worker's job. Only what can
    // be seen without its code: the file exists and is a zip archive, as torch.jit.save writes.
    ModelFileInfo info;
    QFile f(source.path);
    info.fileSize = f.size();
    if (!f.exists()) {
        info.format = ModelFileInfo::Format::Missing;
        info.error = QObject::tr("%1: no such file").arg(source.path);
    } else if (!f.open(QIODevice::ReadOnly) || f.read(2) != "PK") {
        info.error = QObject::tr("%1: not a TorchScript archive (torch.jit.save writes a zip file)").arg(source.path);
    } else {
        info.format = ModelFileInfo::Format::TorchArchive;
        info.architecture = source.latentDim > 0
                                ? QObject::tr("TorchScript black box, z=%1 · sampled in a worker process").arg(source.latentDim)
                                : QObject::tr("TorchScript black box · sampled in a worker process");
    }
    return info;
}

QMap<QString, QString> sourceFileProblems(const QVector<SourceModel>& sources, const ModelFileCache& files) {
    // The first usable source sets the reference sample space; the others must match it (black boxes
    // are converted to it by the engine, so they need only be usable).
    QString referenceKey, referenceName;
    for (const SourceModel& s : sources) {
        const ModelFileInfo i = sourceFileInfo(s, files);
        if (i.usable() && !s.blackBox && referenceKey.isEmpty()) {
            referenceKey = i.compatibilityKey;
            referenceName = s.name;
        }
    }
    QMap<QString, QString> out;
    for (const SourceModel& s : sources) {
        const ModelFileInfo i = sourceFileInfo(s, files);
        if (!i.usable())
            out.insert(s.id, i.error);
        else if (!s.blackBox && i.compatibilityKey != referenceKey)
            out.insert(s.id, QObject::tr("Architecture does not match %1 (%2): sources must share the sample shape and latent size.")
                                 .arg(referenceName, referenceKey));
    }
    return out;
}

QStringList stageProblems(const QString& kind, const Project& project, const ModelFileCache& files, const LocalDataLoad& lastLoad) {
    QStringList problems;
    if (kind == "barycenter" || kind == "experiment") {
        const QMap<QString, QString> why = sourceFileProblems(project.sources(), files);
        int enabled = 0;
        for (const SourceModel& s : project.sources()) {
            if (!s.enabled) continue;
            ++enabled;
            if (why.contains(s.id)) problems << QStringLiteral("%1: %2").arg(s.name, why.value(s.id));
        }
        if (enabled < 2)
            problems.prepend(QObject::tr("a barycenter needs at least two enabled source generators (have %1)").arg(enabled));
        if (kind == "experiment")
            for (const SourceModel& s : project.sources())
                if (s.enabled && s.blackBox)
                    problems << QObject::tr("%1: the experiment's baselines need Coalesce generators; a black-box source "
                                            "runs in the Barycenter stage only (disable it here)").arg(s.name);
    }
    if (kind == "adapt" || kind == "experiment") {
        const LocalDataSettings local = project.localData();
        QString why = localDataSpecProblem(local.spec);
        if (why.isEmpty() && lastLoad.samples == local) why = lastLoad.error;
        if (!why.isEmpty()) problems << QObject::tr("local data: %1").arg(why);
    }
    return problems;
}

QString missingInputHint(const QString& kind, const QJsonObject& config) {
    if (kind == "adapt" && config.value("barycenter").toString().isEmpty())
        return QObject::tr("\nRun the Barycenter stage first, or set \"barycenter\" to a generator file in the stage settings.");
    if ((kind == "ternarize" || kind == "evaluate") && config.value("generator").toString().isEmpty())
        return QObject::tr("\nRun Pretrain, Barycenter or Adapt first (the newest finished one is used), or set \"generator\" to a file.");
    if (kind == "average" && config.value("generators").toArray().size() < 2)
        return QObject::tr("\nAdd at least two generators in the Sources dock.");
    return {};
}
