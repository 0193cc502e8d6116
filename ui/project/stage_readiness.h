// What keeps a stage from starting, computed from the project model and the files it names — never
// read back from widgets — so the Stages dock, Start and the tests all see the same reasons.
// Torch-free (the model files are read by the engine's header reader, project/model_file_info.h).
#pragma once
#include <QHash>
#include <QJsonObject>
#include <QMap>
#include <QPair>
#include <QString>
#include <QStringList>

#include "project/model_file_info.h"
#include "project/project.h"

// Header inspections of generator files, re-read when a file changes on disk (mtime). Shared by the
// Sources dock (its cards) and the stage checks, so a file is inspected once.
class ModelFileCache {
public:
    ModelFileInfo inspect(const QString& path) const;

private:
    mutable QHash<QString, QPair<qint64, ModelFileInfo>> cache_;  // path -> (mtime, info)
};

// Why a local-data spec cannot be used, without loading anything ("" if it looks usable): the dataset
// kind is known, its files/folders exist, a folder holds image files.
QString localDataSpecProblem(const QString& spec);

// The engine's latest load of the project's local samples (the Local data preview): its error applies
// while the project's local-data settings are still the ones loaded.
struct LocalDataLoad {
    LocalDataSettings samples;
    QString error;  // "" = loaded fine (or not loaded yet)
};

// Per source id, why that source cannot be coalesced: an unusable file, or a sample space / latent size
// that differs from the first usable source's.
QMap<QString, QString> sourceFileProblems(const QVector<SourceModel>& sources, const ModelFileCache& files);
// What a source's file is, for its card and the checks above: the engine's description of a model file,
// or for a black box only what is visible without running it (exists, is a zip archive).
ModelFileInfo sourceFileInfo(const SourceModel& source, const ModelFileCache& files);

// Everything that keeps stage `kind` from starting (empty = ready): barycenter and experiment need two
// usable, compatible enabled sources; adapt and experiment need usable local data.
QStringList stageProblems(const QString& kind, const Project& project, const ModelFileCache& files, const LocalDataLoad& lastLoad);

// What to do next when a stage's config lacks its input generator(s) ("" when nothing is missing).
QString missingInputHint(const QString& kind, const QJsonObject& config);
