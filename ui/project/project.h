// The project document: which pre-trained generators to coalesce (with their trust radii), the local
// data, and per-stage job settings. Saved as schema-versioned JSON with paths relative to the project
// file, atomically (QSaveFile). Edits go through a QUndoStack (project_commands.h); results (runs) are
// recorded but are not undoable, as in Tiled/Qt Creator.
#pragma once
#include <QDateTime>
#include <QJsonObject>
#include <QMap>
#include <QObject>
#include <QStringList>
#include <QVector>

class QUndoStack;

// The trust radii the workbench accepts (η slider and typed values are clamped to them).
constexpr double kMinRadius = 1e-3;
constexpr double kMaxRadius = 1e3;

struct SourceModel {
    QString id;           // stable within the project ("s1", "s2", ...): undo commands refer to it
    QString name;         // display name (file base name by default)
    QString path;         // absolute in memory, relative to the project directory in the file
    double radius = 1.0;  // trust radius η_k (> 0)
    bool enabled = true;
    // A TorchScript generator of any architecture, only sampled, run in the engine's worker process
    // (engine/train/black_box_source.h); never opened by the workbench itself.
    bool blackBox = false;
    int latentDim = 0;    // black box: its latent size (0 = the module's latent_dim attribute)
    bool operator==(const SourceModel& o) const {
        return id == o.id && name == o.name && path == o.path && radius == o.radius && enabled == o.enabled &&
               blackBox == o.blackBox && latentDim == o.latentDim;
    }
};

// The target's few local samples: an engine dataset spec (data/dataset.h), how many, which seed.
struct LocalDataSettings {
    QString spec;
    int count = 20;
    qint64 seed = 1;
    bool operator==(const LocalDataSettings& o) const { return spec == o.spec && count == o.count && seed == o.seed; }
    bool operator!=(const LocalDataSettings& o) const { return !(*this == o); }
};

// One job run launched from this project (a result: recorded, never undone).
struct RunRecord {
    QString kind;
    QString dir;     // absolute in memory
    QString label;
    QString status;  // running, finished, cancelled, failed
    QDateTime started;
};

enum class WeightMode { Fixed, Constrained };
enum class CombineMode { Joint, Recursive, Mixture };

class Project : public QObject {
    Q_OBJECT
public:
    static constexpr int kSchemaVersion = 1;
    static constexpr const char* kFormat = "coalesce-project";
    static constexpr const char* kSuffix = "coalesce-project";  // file name: <name>.coalesce-project

    explicit Project(QObject* parent = nullptr);
    ~Project() override;

    QUndoStack* undoStack() const { return undo_; }

    // --- reading
    QString filePath() const { return filePath_; }
    QString directory() const;  // the project file's folder; empty while untitled
    QString displayName() const;
    bool isModified() const;
    const QVector<SourceModel>& sources() const { return sources_; }
    int sourceIndex(const QString& id) const;
    const SourceModel* source(const QString& id) const;
    QVector<double> weights() const;  // λ_k ∝ 1/η_k over enabled sources (see weights.h)
    double weightOf(const QString& id) const;
    WeightMode weightMode() const { return weightMode_; }
    CombineMode combineMode() const { return combineMode_; }
    QStringList mergeOrder() const;  // recursive mode: custom order if set, else descending λ
    bool hasCustomMergeOrder() const { return !customOrder_.isEmpty(); }
    LocalDataSettings localData() const { return localData_; }
    QJsonObject stageConfig(const QString& kind) const { return stages_.value(kind).toObject(); }
    QJsonObject stageConfigs() const { return stages_; }
    const QVector<RunRecord>& runs() const { return runs_; }

    // --- edits through the undo stack (what the UI calls)
    void addSources(const QStringList& paths);  // one undo step for the whole drop
    // TorchScript files as black-box sources (one undo step); latentDim 0 = from each module.
    void addBlackBoxSources(const QStringList& paths, int latentDim);
    void removeSource(const QString& id);
    // mergeKey != 0: consecutive calls with the same key (one slider drag) merge into one undo step.
    void setRadius(const QString& id, double radius, int mergeKey = 0);
    // Several radii at once (e.g. estimated from the local data): one undo step named `label`.
    void setRadii(const QMap<QString, double>& radii, const QString& label);
    void setSourceEnabled(const QString& id, bool enabled);
    void renameSource(const QString& id, const QString& name);
    void setWeightMode(WeightMode mode);
    void setCombineMode(CombineMode mode);
    void moveInMergeOrder(const QString& id, int delta);  // -1 = earlier, +1 = later
    void resetMergeOrder();
    void setLocalData(const LocalDataSettings& data);
    void setStageConfig(const QString& kind, const QJsonObject& config);

    // --- results (not undoable; they mark the project modified)
    void addRun(const RunRecord& run);
    void setRunStatus(const QString& dir, const QString& status);
    void removeRun(const QString& dir);

    // --- files
    void clear();  // a new untitled project
    bool load(const QString& path, QString* error);
    bool save(const QString& path, QString* error);  // atomic; becomes the project's path
    QJsonObject toJson(const QString& baseDir) const;
    bool fromJson(const QJsonObject& json, const QString& baseDir, QString* error);

    // --- raw mutators for the undo commands: apply a change and emit its signal, nothing else
    void applyInsertSource(int index, const SourceModel& source);
    SourceModel applyRemoveSource(int index);
    void applyRadius(const QString& id, double radius);
    void applyEnabled(const QString& id, bool enabled);
    void applyName(const QString& id, const QString& name);
    void applyWeightMode(WeightMode mode);
    void applyCombineMode(CombineMode mode);
    void applyCustomOrder(const QStringList& order);
    void applyLocalData(const LocalDataSettings& data);
    void applyStageConfig(const QString& kind, const QJsonObject& config);
    QString newSourceId();

Q_SIGNALS:
    void sourcesChanged();                  // sources added, removed
    void sourceChanged(const QString& id);  // radius, name or enabled of one source
    void weightsChanged();                  // any λ may have changed
    void modesChanged();
    void mergeOrderChanged();
    void localDataChanged();
    void stageConfigChanged(const QString& kind);
    void runsChanged();
    void documentChanged();  // file path or modified state changed (window title)
    void reset();            // cleared or loaded: everything changed

private:
    void addSourceModels(const QStringList& paths, bool blackBox, int latentDim);
    void markResultsDirty();
    void resetContents();

    QUndoStack* undo_;
    QString filePath_;
    QVector<SourceModel> sources_;
    WeightMode weightMode_ = WeightMode::Fixed;
    CombineMode combineMode_ = CombineMode::Joint;
    QStringList customOrder_;
    LocalDataSettings localData_;
    QJsonObject stages_;
    QVector<RunRecord> runs_;
    bool resultsDirty_ = false;
    int nextSourceNumber_ = 1;
};

// A source's name when it is added: the file's base name, or its run folder's for the generic names
// runs write ("generator", "latest"), plus the classes its run trained on when config.json says.
QString defaultSourceName(const QString& path);

QString weightModeName(WeightMode mode);   // "fixed", "constrained" (as in the file)
QString combineModeName(CombineMode mode); // "joint", "recursive", "mixture"

// Dataset specs may hold paths ("folder:<dir>[:classes]", "idx:<images>:<labels>[:classes]"); these
// convert just the path parts between absolute and relative-to-base.
QString relativizeDataSpec(const QString& spec, const QString& baseDir);
QString resolveDataSpec(const QString& spec, const QString& baseDir);
