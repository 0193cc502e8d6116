#include "project/model_file_info.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

#include "bridge/engine_json.h"
#include "core/error.h"
#include "io/model_file_description.h"
#include "models/arch_spec.h"

namespace {

QString describeArch(const QJsonObject& arch, QString* key, bool* isImage, QString* error) {
    try {
        const auto spec = coalesce::ArchSpec::fromJson(toEngineJson(arch));
        *isImage = spec.isImage();
        *key = spec.isImage() ? QStringLiteral("%1:%2x%3:z%4").arg(QString::fromStdString(spec.family)).arg(spec.channels).arg(spec.imageSize).arg(spec.latentDim)
                              : QStringLiteral("%1:R%2:z%3").arg(QString::fromStdString(spec.family)).arg(spec.dataDim).arg(spec.latentDim);
        return QString::fromStdString(spec.describe());
    } catch (const std::exception& e) {
        *error = QString::fromUtf8(e.what());
        return {};
    }
}

}  // namespace

QString modelFileDialogFilter() {
    return QObject::tr("Generator files (*.coalesce *.ctern *.safetensors *.pt *.pth);;All files (*)");
}

bool looksLikeModelFile(const QString& path) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    return suffix == "coalesce" || suffix == "ctern" || suffix == "safetensors" || suffix == "pt" || suffix == "pth";
}

static ModelFileInfo::Format formatFromEngineName(const std::string& name) {
    if (name == "coalesce-checkpoint") return ModelFileInfo::Format::Coalesce;
    if (name == "coalesce-ternary") return ModelFileInfo::Format::PackedTernary;
    if (name == "safetensors") return ModelFileInfo::Format::Safetensors;
    return ModelFileInfo::Format::TorchArchive;  // torchscript, torch-save, torch-save-legacy
}

static QJsonObject toQt(const nlohmann::json& j) {
    return j.is_object() ? QJsonDocument::fromJson(QByteArray::fromStdString(j.dump())).object() : QJsonObject();
}

ModelFileInfo inspectModelFile(const QString& path) {
    ModelFileInfo info;
    const QString name = QFileInfo(path).fileName();
    QFile file(path);
    if (!file.exists()) {
        info.format = ModelFileInfo::Format::Missing;
        info.error = QObject::tr("%1: file not found").arg(path);
        return info;
    }
    if (QFileInfo(path).isDir()) {
        info.error = QObject::tr("%1: is a folder, not a generator file").arg(name);
        return info;
    }
    if (!file.open(QIODevice::ReadOnly)) {
        info.error = QObject::tr("%1: cannot read (%2)").arg(name, file.errorString());
        return info;
    }
    info.fileSize = file.size();
    file.close();
    // The engine's own loader, as `coalesce-cli info` uses it: every format it reads, checked in full
    // (checksums, truncation, tensor shapes against the architecture).
    nlohmann::json d;
    try {
        d = coalesce::describeModelFile(path.toStdString());
    } catch (const std::exception& e) {
        QString why = QString::fromUtf8(e.what());
        const QString prefix = path + QStringLiteral(": ");
        if (why.startsWith(prefix)) why = why.mid(prefix.size());
        info.error = QObject::tr("%1: %2").arg(name, why);
        return info;
    }
    const std::string format = d.value("format", std::string());
    info.format = formatFromEngineName(format);
    info.arch = toQt(d.value("arch", nlohmann::json()));
    info.meta = toQt(d.value("meta", nlohmann::json::object()));
    // Native files name generator tensors "generator.*"; foreign files hold only the generator.
    if (d.contains("modules") && d["modules"].contains("generator"))
        info.generatorTensors = d["modules"]["generator"].value("tensors", 0);
    else if (d.contains("tensors"))
        info.generatorTensors = int(d["tensors"].size());
    if (format == "coalesce-ternary" && info.meta.value("meta").isObject()) {
        // A packed file keeps the run's metadata under "meta" beside its own (method, layers).
        QJsonObject flat = info.meta.value("meta").toObject();
        for (auto it = info.meta.begin(); it != info.meta.end(); ++it)
            if (it.key() != QLatin1String("meta")) flat.insert(it.key(), it.value());
        info.meta = flat;
    }
    if (d.contains("problem")) {
        info.error = QObject::tr("%1: %2").arg(name, QString::fromStdString(d["problem"].get<std::string>()));
        return info;
    }
    if (info.arch.isEmpty()) {
        info.error = QObject::tr("%1: no generator architecture could be read or inferred").arg(name);
        return info;
    }
    QString archError;
    info.architecture = describeArch(info.arch, &info.compatibilityKey, &info.isImageModel, &archError);
    if (!archError.isEmpty()) {
        info.error = QObject::tr("%1: %2").arg(name, archError);
        return info;
    }
    if (info.format == ModelFileInfo::Format::PackedTernary) {
        const QString method = info.meta.value("method").toString();
        info.architecture += method.isEmpty() ? QObject::tr(" (ternary)") : QObject::tr(" (ternary, %1)").arg(method);
    } else if (info.format != ModelFileInfo::Format::Coalesce) {
        info.architecture += QStringLiteral(" · %1").arg(QString::fromStdString(format));
    }
    if (info.generatorTensors == 0) info.error = QObject::tr("%1: holds no generator weights").arg(name);
    return info;
}
