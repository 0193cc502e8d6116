// Job configs for the pipeline stages, built from the project. A stage's config is
//     defaults(kind)  ∪  what the user edited (Project::stageConfig)  ∪  keys derived from the project
// where derived keys (the sources with their radii, the local data, ...) always follow the project.
// Key names follow the engine's job configs (jobs/*.cpp headers); unknown kinds get {"kind": ...}.
#pragma once
#include <QJsonObject>
#include <QSet>
#include <QString>
#include <QStringList>
#include <QVector>

class Project;

struct StageInfo {
    QString kind;
    QString title;
    QString description;
};

// The method's stages in pipeline order (whether or not the engine registers them yet).
QVector<StageInfo> pipelineStages();
QJsonObject stageDefaults(const QString& kind, const Project& project);
// LibTorch threads a stage defaults to: all cores but one for the GUI (1 on a 2-core machine).
int defaultThreads();
// Keys that follow the project: barycenter sources/radii/modes, adapt's local data and barycenter file
// (the newest finished barycenter run), ternarize/evaluate's generator (newest finished adapt,
// barycenter or pretrain run).
QJsonObject derivedStageKeys(const QString& kind, const Project& project);
// One source as a job config lists it: {"generator" | "black_box": path, "radius", "name"[, "latent_dim"]}.
struct SourceModel;
QJsonObject sourceConfigEntry(const SourceModel& source);
// Derived keys the user may set instead (input generators: a file picked in the form or typed in the
// JSON); once set in the stage config they no longer follow the project.
QSet<QString> pickableStageKeys(const QString& kind);
QSet<QString> overriddenStageKeys(const QString& kind, const Project& project);
// derivedStageKeys minus the overridden ones: what the project sets in the shown config right now.
QJsonObject followedStageKeys(const QString& kind, const Project& project);
// The generator file of the newest finished run of the first kind in `kinds` that has one; "" if none.
QString latestGenerator(const Project& project, const QStringList& kinds);
// What the stage editor shows and what runs (without run_dir/resume, which are set at start).
QJsonObject effectiveStageConfig(const QString& kind, const Project& project);
// The part worth saving in the project: the config minus derived (but not picked) and per-run keys.
QJsonObject userStagePart(const QString& kind, const QJsonObject& config, const Project& project);
// runs/<kind>-YYYYmmdd-HHMMSS under the project folder (or the user data folder while untitled);
// a suffix keeps it unique.
// Where the project's runs go: "<project folder>/runs", or the application's data folder while the
// project is untitled.
QString runsFolder(const Project& project);
QString newRunDirectory(const QString& kind, const Project& project);
