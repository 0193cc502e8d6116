// Exporting a run's generator to files other programs read (engine io/model_files.h): safetensors
// (+ sidecar architecture JSON), TorchScript, a PyTorch state_dict, or a copy of the native file.
// Torch-free header; exportGenerator is slow-ish and meant for a worker thread.
#pragma once
#include <QString>

enum class ModelExportFormat { Native, Safetensors, TorchScript, StateDict };

QString modelExportFilter();  // file-dialog filter, one entry per format, in enum order
ModelExportFormat modelExportFormatForFilter(const QString& selectedFilter, const QString& path);
// Returns "" on success, else a user-facing reason. Never throws.
QString exportGenerator(const QString& generatorFile, const QString& target, ModelExportFormat format);
