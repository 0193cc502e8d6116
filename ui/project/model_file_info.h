// What a generator file is, for the source cards, drag-and-drop validation and the "mismatched
// architectures" check before a barycenter run. Read by the engine's own loader
// (io/model_file_description.h, the same code as `coalesce-cli info`): every format the CLI reads is
// accepted, and a file is checked in full (checksum, truncation, shapes) when it is added, not at Start.
#pragma once
#include <QJsonObject>
#include <QString>

struct ModelFileInfo {
    enum class Format { Missing, Coalesce, PackedTernary, Safetensors, TorchArchive, NotAModel };
    Format format = Format::NotAModel;
    QString error;            // why the file cannot be used (empty when usable)
    QString architecture;     // one line, e.g. "dcgan32 1×32×32, z=100, G 256-64-32, D 32-64-128"
                              // (".ctern" files add the method: "… (ternary, twn)")
    QString compatibilityKey; // equal keys = same sample space and latent size (can be coalesced)
    bool isImageModel = true;
    QJsonObject arch;         // the architecture JSON
    QJsonObject meta;         // checkpoint metadata (step, job kind, config, ...)
    int generatorTensors = 0;
    qint64 fileSize = 0;
    bool usable() const { return error.isEmpty(); }
};

ModelFileInfo inspectModelFile(const QString& path);
// File-name filter for dialogs, and a cheap extension check for drag-and-drop.
QString modelFileDialogFilter();
bool looksLikeModelFile(const QString& path);
