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

// Packed ternary (".ctern", engine quant/packed_generator.h): "COALTERN", u32 version, u32 CRC-32,
// u64 header length, JSON header. The CRC covers the whole file, so it is left to the engine's loader
// (reading every weight here would defeat a cheap inspection).
constexpr char kTernaryMagic[] = "COALTERN";
constexpr qint64 kTernaryPreambleBytes = 24;
constexpr quint32 kTernaryVersion = 1;

void inspectPackedTernary(QFile& file, const QString& name, ModelFileInfo& info) {
    info.format = ModelFileInfo::Format::PackedTernary;
    const QByteArray preamble = file.read(kTernaryPreambleBytes - 8);  // the 8 magic bytes are already read
    if (preamble.size() < kTernaryPreambleBytes - 8) {
        info.error = QObject::tr("%1: truncated packed ternary file (%2 bytes; at least %3 expected)")
                         .arg(name).arg(info.fileSize).arg(kTernaryPreambleBytes);
        return;
    }
    const quint32 version = qFromLittleEndian<quint32>(preamble.constData());
    if (version != kTernaryVersion) {
        info.error = QObject::tr("%1: packed ternary format version %2 is not supported (expected %3)")
                         .arg(name).arg(version).arg(kTernaryVersion);
        return;
    }
    const quint64 headerLength = qFromLittleEndian<quint64>(preamble.constData() + 8);
    const qint64 available = info.fileSize - kTernaryPreambleBytes;
    if (headerLength > quint64(available)) {
        info.error = QObject::tr("%1: truncated packed ternary file (header claims %2 bytes, only %3 follow)")
                         .arg(name).arg(headerLength).arg(available);
        return;
    }
    if (headerLength < 2 || qint64(headerLength) > kMaxHeaderBytes) {
        info.error = QObject::tr("%1: corrupt packed ternary file (header length %2)").arg(name).arg(headerLength);
        return;
    }
    QJsonParseError parseError;
    const QJsonDocument header = QJsonDocument::fromJson(file.read(qint64(headerLength)), &parseError);
    if (parseError.error != QJsonParseError::NoError || !header.isObject()) {
        info.error = QObject::tr("%1: corrupt header (%2)").arg(name, parseError.errorString());
        return;
    }
    const QJsonObject h = header.object();
    if (h.value("format").toString() != QLatin1String("coalesce-ternary")) {
        info.error = QObject::tr("%1: header is not a coalesce-ternary header").arg(name);
        return;
    }
    // A cheap truncation check: the header records the size of the data section that follows it.
    const qint64 dataBytes = available - qint64(headerLength);
    if (h.value("data_bytes").toInteger(-1) != dataBytes) {
        info.error = QObject::tr("%1: truncated or corrupt packed ternary file (data section has %2 bytes, the header says %3)")
                         .arg(name).arg(dataBytes)
                         .arg(h.contains("data_bytes") ? h.value("data_bytes").toVariant().toString() : QObject::tr("nothing"));
        return;
    }
    const QString method = h.value("method").toString();
    if (method != QLatin1String("learned") && method != QLatin1String("twn") && method != QLatin1String("ttq")) {
        info.error = QObject::tr("%1: unknown ternary method \"%2\" (expected learned, twn or ttq)").arg(name, method);
        return;
    }
    // Unlike a .coalesce file, "arch" and "meta" are JSON objects here, not strings.
    info.arch = h.value("arch").toObject();
    info.meta = h.value("meta").toObject();
    info.generatorTensors = int(h.value("ternary").toArray().size() + h.value("tensors").toObject().size());
    QString archError;
    const QString description = describeArch(info.arch, &info.compatibilityKey, &info.isImageModel, &archError);
    if (!archError.isEmpty()) {
        info.error = QObject::tr("%1: %2").arg(name, archError);
        return;
    }
    // Same compatibility key as a float generator of that architecture: the engine loads a .ctern file
    // as the (dequantised) float generator, so it coalesces with them.
    info.architecture = QObject::tr("%1 (ternary, %2)").arg(description, method);
    if (info.generatorTensors == 0) info.error = QObject::tr("%1: holds no generator weights").arg(name);
}

}  // namespace

QString modelFileDialogFilter() {
    return QObject::tr("Generator files (*.coalesce *.ctern *.safetensors *.pt *.pth);;All files (*)");
}

bool looksLikeModelFile(const QString& path) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    return suffix == "coalesce" || suffix == "ctern" || suffix == "safetensors" || suffix == "pt" || suffix == "pth";
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
    if (head == QByteArray::fromRawData(kTernaryMagic, 8)) {
        inspectPackedTernary(file, name, info);
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
