#include "app/model_export.h"

#include <QFile>
#include <QFileInfo>
#include <QObject>
#include <QSaveFile>

#include <torch/torch.h>

#include "io/model_files.h"

QString modelExportFilter() {
    return QObject::tr("Coalesce generator (*.coalesce);;safetensors + architecture JSON (*.safetensors);;"
                       "TorchScript (*.pt);;PyTorch state_dict (*.pth)");
}

ModelExportFormat modelExportFormatForFilter(const QString& selectedFilter, const QString& path) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (selectedFilter.contains("safetensors") || suffix == "safetensors") return ModelExportFormat::Safetensors;
    if (selectedFilter.contains("TorchScript") || suffix == "pt") return ModelExportFormat::TorchScript;
    if (selectedFilter.contains("state_dict") || suffix == "pth") return ModelExportFormat::StateDict;
    return ModelExportFormat::Native;
}

QString exportGenerator(const QString& generatorFile, const QString& target, ModelExportFormat format) {
    try {
        if (format == ModelExportFormat::Native) {
            QFile in(generatorFile);
            if (!in.open(QIODevice::ReadOnly)) return QObject::tr("%1: cannot read (%2)").arg(generatorFile, in.errorString());
            QSaveFile out(target);
            const QByteArray bytes = in.readAll();
            if (!out.open(QIODevice::WriteOnly) || out.write(bytes) != bytes.size() || !out.commit())
                return QObject::tr("%1: cannot write (%2)").arg(target, out.errorString());
            return {};
        }
        const coalesce::LoadedGenerator loaded = coalesce::loadGeneratorFile(generatorFile.toStdString());
        const std::string path = target.toStdString();
        switch (format) {
            case ModelExportFormat::Safetensors: coalesce::exportGeneratorSafetensors(loaded.generator, path, loaded.meta); break;
            case ModelExportFormat::TorchScript: coalesce::exportGeneratorTorchScript(loaded.generator, path, loaded.meta); break;
            case ModelExportFormat::StateDict: coalesce::exportGeneratorStateDict(loaded.generator, path); break;
            case ModelExportFormat::Native: break;
        }
        return {};
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
}
