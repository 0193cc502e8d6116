#include "project/model_file_info.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QtEndian>

#include "core/error.h"
#include "models/arch_spec.h"

namespace {

// Safetensors: 8-byte little-endian header length, then that many bytes of JSON.
constexpr qint64 kMaxHeaderBytes = 64 * 1024 * 1024;

QString describeArch(const QJsonObject& arch, QString* key, bool* isImage, QString* error) {
    try {
        const auto spec = coalesce::ArchSpec::fromJson(
            nlohmann::json::parse(QJsonDocument(arch).toJson(QJsonDocument::Compact).toStdString()));
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
    return QObject::tr("Generator files (*.coalesce *.safetensors *.pt *.pth);;All files (*)");
}

bool looksLikeModelFile(const QString& path) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    return suffix == "coalesce" || suffix == "safetensors" || suffix == "pt" || suffix == "pth";
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
    const QByteArray head = file.read(8);
    if (head.size() < 8) {
        info.error = QObject::tr("%1: too short to be a generator file (%2 bytes)").arg(name).arg(head.size());
        return info;
    }
    if (head.startsWith("PK\x03\x04")) {
        // A zip archive: TorchScript or a Python torch.save file. Reading those needs the engine's
        // model-file loader; the UI can only say what it is.
        info.format = ModelFileInfo::Format::TorchArchive;
        info.architecture = QObject::tr("TorchScript / PyTorch archive");
        info.error = QObject::tr("%1: TorchScript/PyTorch archives are not supported by this build yet; "
                                 "convert it to a .coalesce file with coalesce-cli").arg(name);
        return info;
    }
    const quint64 headerLength = qFromLittleEndian<quint64>(head.constData());
    if (headerLength < 2 || qint64(headerLength) > kMaxHeaderBytes || qint64(headerLength) > info.fileSize - 8) {
        info.error = QObject::tr("%1: not a generator file (no safetensors/Coalesce header)").arg(name);
        return info;
    }
    const QByteArray headerBytes = file.read(qint64(headerLength));
    QJsonParseError parseError;
    const QJsonDocument header = QJsonDocument::fromJson(headerBytes, &parseError);
    if (parseError.error != QJsonParseError::NoError || !header.isObject()) {
        info.error = QObject::tr("%1: corrupt header (%2)").arg(name, parseError.errorString());
        return info;
    }
    const QJsonObject h = header.object();
    for (auto it = h.begin(); it != h.end(); ++it)
        if (it.key().startsWith(QLatin1String("generator."))) ++info.generatorTensors;
    const QJsonObject metadata = h.value("__metadata__").toObject();
    if (metadata.value("format").toString() != QLatin1String("coalesce-checkpoint")) {
        info.format = ModelFileInfo::Format::Safetensors;
        info.architecture = QObject::tr("safetensors weights (%1 tensors)").arg(h.size() - (h.contains("__metadata__") ? 1 : 0));
        info.error = QObject::tr("%1: plain safetensors without a Coalesce architecture; "
                                 "import it with coalesce-cli together with its architecture JSON").arg(name);
        return info;
    }
    info.format = ModelFileInfo::Format::Coalesce;
    info.arch = QJsonDocument::fromJson(metadata.value("arch").toString().toUtf8()).object();
    info.meta = QJsonDocument::fromJson(metadata.value("meta").toString().toUtf8()).object();
    QString archError;
    info.architecture = describeArch(info.arch, &info.compatibilityKey, &info.isImageModel, &archError);
    if (!archError.isEmpty()) {
        info.error = QObject::tr("%1: %2").arg(name, archError);
        return info;
    }
    if (info.generatorTensors == 0) info.error = QObject::tr("%1: holds no generator weights").arg(name);
    return info;
}
