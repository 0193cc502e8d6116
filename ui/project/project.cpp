#include "project/project.h"

#include <algorithm>
#include <cmath>

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSaveFile>
#include <QUndoStack>

#include "project/project_commands.h"
#include "train/weight_rule.h"

namespace {

QString weightModeKey(WeightMode m) { return m == WeightMode::Fixed ? "fixed" : "constrained"; }
QString combineModeKey(CombineMode m) {
    return m == CombineMode::Joint ? "joint" : m == CombineMode::Recursive ? "recursive" : "mixture";
}

QString toStored(const QString& absolute, const QString& baseDir) {
    if (absolute.isEmpty() || baseDir.isEmpty()) return absolute;
    return QDir(baseDir).relativeFilePath(absolute);
}

QString fromStored(const QString& stored, const QString& baseDir) {
    if (stored.isEmpty() || baseDir.isEmpty() || QDir::isAbsolutePath(stored)) return QDir::cleanPath(stored);
    return QDir::cleanPath(QDir(baseDir).absoluteFilePath(stored));
}

int lineOfOffset(const QByteArray& text, int offset) {
    return int(text.left(offset).count('\n')) + 1;
}

// Converts the path parts of a dataset spec with `convert`; other specs pass through.
template <typename F>
QString mapDataSpecPaths(const QString& spec, F convert) {
    static const QRegularExpression classesSuffix(QStringLiteral("^(.*):([0-9]+(?:,[0-9]+)*)$"));
    auto splitClasses = [](const QString& rest, QString* path, QString* classes) {
        const auto m = classesSuffix.match(rest);
        if (m.hasMatch()) {
            *path = m.captured(1);
            *classes = m.captured(2);
        } else {
            *path = rest;
            classes->clear();
        }
    };
    QString path, classes;
    if (spec.startsWith(QLatin1String("folder:"))) {
        splitClasses(spec.mid(7), &path, &classes);
        return "folder:" + convert(path) + (classes.isEmpty() ? QString() : ":" + classes);
    }
    if (spec.startsWith(QLatin1String("idx:"))) {
        splitClasses(spec.mid(4), &path, &classes);
        const int colon = path.indexOf(':');
        if (colon < 0) return spec;
        return "idx:" + convert(path.left(colon)) + ":" + convert(path.mid(colon + 1)) +
               (classes.isEmpty() ? QString() : ":" + classes);
    }
    return spec;
}

}  // namespace

QString weightModeName(WeightMode mode) { return weightModeKey(mode); }
QString combineModeName(CombineMode mode) { return combineModeKey(mode); }

QString relativizeDataSpec(const QString& spec, const QString& baseDir) {
    return mapDataSpecPaths(spec, [&](const QString& p) { return toStored(p, baseDir); });
}

QString resolveDataSpec(const QString& spec, const QString& baseDir) {
    return mapDataSpecPaths(spec, [&](const QString& p) { return fromStored(p, baseDir); });
}

Project::Project(QObject* parent) : QObject(parent), undo_(new QUndoStack(this)) {
    connect(undo_, &QUndoStack::cleanChanged, this, &Project::documentChanged);
    resetContents();
}

Project::~Project() = default;

QString Project::directory() const {
    return filePath_.isEmpty() ? QString() : QFileInfo(filePath_).absolutePath();
}

QString Project::displayName() const {
    return filePath_.isEmpty() ? tr("Untitled") : QFileInfo(filePath_).completeBaseName();
}

bool Project::isModified() const { return !undo_->isClean() || resultsDirty_; }

int Project::sourceIndex(const QString& id) const {
    for (int i = 0; i < sources_.size(); ++i)
        if (sources_[i].id == id) return i;
    return -1;
}

const SourceModel* Project::source(const QString& id) const {
    const int i = sourceIndex(id);
    return i < 0 ? nullptr : &sources_[i];
}

QVector<double> Project::weights() const {
    // The engine's rule (train/weight_rule.h): the dock shows exactly the λ a run will use.
    std::vector<double> radii;
    std::vector<bool> enabled;
    for (const auto& s : sources_) {
        radii.push_back(s.radius);
        enabled.push_back(s.enabled);
    }
    const std::vector<double> w = coalesce::lambdasFromRadii(radii, 1.0, enabled);
    return QVector<double>(w.begin(), w.end());
}

double Project::weightOf(const QString& id) const {
    const int i = sourceIndex(id);
    return i < 0 ? 0.0 : weights().at(i);
}

QStringList Project::mergeOrder() const {
    QStringList order;
    if (!customOrder_.isEmpty()) {
        // Custom order first (ids that still exist), then any source added since, in list order.
        for (const auto& id : customOrder_)
            if (sourceIndex(id) >= 0) order << id;
        for (const auto& s : sources_)
            if (!order.contains(s.id)) order << s.id;
        return order;
    }
    const QVector<double> w = weights();
    for (size_t i : coalesce::mergeOrder(std::vector<double>(w.begin(), w.end()))) order << sources_[int(i)].id;
    return order;
}

// ---------------------------------------------------------------- edits through the undo stack

QString defaultSourceName(const QString& path) {
    const QFileInfo file(path);
    QString name = file.completeBaseName();
    QDir folder = file.dir();
    // A checkpoint inside a run: "<run> step_000400".
    if (folder.dirName() == QLatin1String("checkpoints") && folder.cdUp()) name = folder.dirName() + QLatin1Char(' ') + name;
    // File names that every run writes say nothing: the run folder does.
    static const QStringList generic = {"generator", "latest", "model", "g", "netg", "checkpoint", "final"};
    if (generic.contains(name.toLower()) && !folder.dirName().isEmpty()) name = folder.dirName();
    // The classes the run was trained on, when its config.json says and the name does not.
    QFile config(folder.filePath(QStringLiteral("config.json")));
    if (config.open(QIODevice::ReadOnly)) {
        const QString data = QJsonDocument::fromJson(config.readAll()).object().value("data").toString();
        const QStringList parts = data.split(QLatin1Char(':'));
        const QString classes = parts.size() >= 3 && !data.startsWith(QLatin1String("folder:")) && !data.startsWith(QLatin1String("idx:"))
                                    ? parts.last() : QString();
        if (!classes.isEmpty() && !name.contains(QString(classes).remove(QLatin1Char(','))) && !name.contains(classes))
            name += QStringLiteral(" (classes %1)").arg(classes);
    }
    return name;
}

void Project::addSources(const QStringList& paths) { addSourceModels(paths, false, 0); }

void Project::addBlackBoxSources(const QStringList& paths, int latentDim) { addSourceModels(paths, true, latentDim); }

void Project::addSourceModels(const QStringList& paths, bool blackBox, int latentDim) {
    QVector<SourceModel> added;
    QStringList taken;
    for (const SourceModel& s : sources_) taken << s.name;
    for (const QString& p : paths) {
        SourceModel s;
        s.id = newSourceId();
        s.path = QDir::cleanPath(QFileInfo(p).absoluteFilePath());
        // Unique: names label curves and undo steps, and the experiment refuses a name used twice.
        const QString base = defaultSourceName(s.path);
        s.name = base;
        for (int i = 2; taken.contains(s.name); ++i) s.name = QStringLiteral("%1 (%2)").arg(base).arg(i);
        taken << s.name;
        s.radius = 1.0;
        s.blackBox = blackBox;
        s.latentDim = blackBox ? latentDim : 0;
        added << s;
    }
    if (!added.isEmpty()) undo_->push(new InsertSourcesCommand(this, added));
}

void Project::removeSource(const QString& id) {
    if (sourceIndex(id) >= 0) undo_->push(new RemoveSourceCommand(this, id));
}

void Project::setRadius(const QString& id, double radius, int mergeKey) {
    const SourceModel* s = source(id);
    if (!s) return;
    radius = qBound(kMinRadius, radius, kMaxRadius);
    if (radius == s->radius) return;
    undo_->push(new SetRadiusCommand(this, id, radius, mergeKey));
}

void Project::setRadii(const QMap<QString, double>& radii, const QString& label) {
    undo_->beginMacro(label);
    for (auto it = radii.cbegin(); it != radii.cend(); ++it) setRadius(it.key(), it.value());
    undo_->endMacro();
}

void Project::setSourceEnabled(const QString& id, bool enabled) {
    const SourceModel* s = source(id);
    if (!s || s->enabled == enabled) return;
    undo_->push(new SetValueCommand<bool>(enabled ? tr("Enable %1").arg(s->name) : tr("Disable %1").arg(s->name),
                                          s->enabled, enabled, [this, id](const bool& v) { applyEnabled(id, v); }));
}

void Project::renameSource(const QString& id, const QString& name) {
    const SourceModel* s = source(id);
    if (!s || s->name == name.trimmed() || name.trimmed().isEmpty()) return;
    for (const SourceModel& other : sources_)
        if (other.id != id && other.name == name.trimmed()) return;  // names stay unique
    undo_->push(new SetValueCommand<QString>(tr("Rename %1").arg(s->name), s->name, name.trimmed(),
                                             [this, id](const QString& v) { applyName(id, v); }));
}

void Project::setWeightMode(WeightMode mode) {
    if (mode == weightMode_) return;
    undo_->push(new SetValueCommand<WeightMode>(tr("Weighting: %1").arg(weightModeName(mode)), weightMode_, mode,
                                                [this](const WeightMode& v) { applyWeightMode(v); }));
}

void Project::setCombineMode(CombineMode mode) {
    if (mode == combineMode_) return;
    undo_->push(new SetValueCommand<CombineMode>(tr("Combination: %1").arg(combineModeName(mode)), combineMode_, mode,
                                                 [this](const CombineMode& v) { applyCombineMode(v); }));
}

void Project::moveInMergeOrder(const QString& id, int delta) {
    QStringList order = mergeOrder();
    const int from = order.indexOf(id);
    const int to = from + delta;
    if (from < 0 || to < 0 || to >= order.size()) return;
    order.move(from, to);
    undo_->push(new SetValueCommand<QStringList>(tr("Reorder merge"), customOrder_, order,
                                                 [this](const QStringList& v) { applyCustomOrder(v); }));
}

void Project::resetMergeOrder() {
    if (customOrder_.isEmpty()) return;
    undo_->push(new SetValueCommand<QStringList>(tr("Merge order by weight"), customOrder_, QStringList(),
                                                 [this](const QStringList& v) { applyCustomOrder(v); }));
}

void Project::setLocalData(const LocalDataSettings& data) {
    if (data == localData_) return;
    undo_->push(new SetValueCommand<LocalDataSettings>(tr("Local data"), localData_, data,
                                                       [this](const LocalDataSettings& v) { applyLocalData(v); }));
}

void Project::setStageConfig(const QString& kind, const QJsonObject& config) {
    if (stageConfig(kind) == config) return;
    undo_->push(new SetValueCommand<QJsonObject>(tr("%1 settings").arg(kind), stageConfig(kind), config,
                                                 [this, kind](const QJsonObject& v) { applyStageConfig(kind, v); }));
}

// ---------------------------------------------------------------- results

void Project::addRun(const RunRecord& run) {
    runs_ << run;
    markResultsDirty();
    Q_EMIT runsChanged();
}

void Project::setRunStatus(const QString& dir, const QString& status) {
    for (auto& r : runs_)
        if (r.dir == dir && r.status != status) {
            r.status = status;
            markResultsDirty();
            Q_EMIT runsChanged();
        }
}

void Project::removeRun(const QString& dir) {
    const auto n = runs_.size();
    runs_.erase(std::remove_if(runs_.begin(), runs_.end(), [&](const RunRecord& r) { return r.dir == dir; }), runs_.end());
    if (runs_.size() != n) {
        markResultsDirty();
        Q_EMIT runsChanged();
    }
}

void Project::markResultsDirty() {
    const bool was = isModified();
    resultsDirty_ = true;
    if (!was) Q_EMIT documentChanged();
}

// ---------------------------------------------------------------- raw mutators (undo commands)

QString Project::newSourceId() {
    QString id;
    do {
        id = QStringLiteral("s%1").arg(nextSourceNumber_++);
    } while (sourceIndex(id) >= 0);
    return id;
}

void Project::applyInsertSource(int index, const SourceModel& source) {
    sources_.insert(qBound(0, index, int(sources_.size())), source);
    Q_EMIT sourcesChanged();
    Q_EMIT weightsChanged();
    Q_EMIT mergeOrderChanged();
}

SourceModel Project::applyRemoveSource(int index) {
    SourceModel s = sources_.takeAt(index);
    Q_EMIT sourcesChanged();
    Q_EMIT weightsChanged();
    Q_EMIT mergeOrderChanged();
    return s;
}

void Project::applyRadius(const QString& id, double radius) {
    const int i = sourceIndex(id);
    if (i < 0) return;
    sources_[i].radius = radius;
    Q_EMIT sourceChanged(id);
    Q_EMIT weightsChanged();
    if (customOrder_.isEmpty()) Q_EMIT mergeOrderChanged();
}

void Project::applyEnabled(const QString& id, bool enabled) {
    const int i = sourceIndex(id);
    if (i < 0) return;
    sources_[i].enabled = enabled;
    Q_EMIT sourceChanged(id);
    Q_EMIT weightsChanged();
    if (customOrder_.isEmpty()) Q_EMIT mergeOrderChanged();
}

void Project::applyName(const QString& id, const QString& name) {
    const int i = sourceIndex(id);
    if (i < 0) return;
    sources_[i].name = name;
    Q_EMIT sourceChanged(id);
}

void Project::applyWeightMode(WeightMode mode) {
    weightMode_ = mode;
    Q_EMIT modesChanged();
}

void Project::applyCombineMode(CombineMode mode) {
    combineMode_ = mode;
    Q_EMIT modesChanged();
}

void Project::applyCustomOrder(const QStringList& order) {
    customOrder_ = order;
    Q_EMIT mergeOrderChanged();
}

void Project::applyLocalData(const LocalDataSettings& data) {
    localData_ = data;
    Q_EMIT localDataChanged();
}

void Project::applyStageConfig(const QString& kind, const QJsonObject& config) {
    if (config.isEmpty())
        stages_.remove(kind);
    else
        stages_[kind] = config;
    Q_EMIT stageConfigChanged(kind);
}

// ---------------------------------------------------------------- files

void Project::resetContents() {
    sources_.clear();
    weightMode_ = WeightMode::Fixed;
    combineMode_ = CombineMode::Joint;
    customOrder_.clear();
    localData_ = LocalDataSettings{QStringLiteral("fashion-mnist:train:8,9"), 20, 1};
    stages_ = QJsonObject();
    runs_.clear();
    resultsDirty_ = false;
    nextSourceNumber_ = 1;
}

void Project::clear() {
    undo_->clear();
    resetContents();
    filePath_.clear();
    undo_->setClean();
    Q_EMIT reset();
    Q_EMIT documentChanged();
}

QJsonObject Project::toJson(const QString& baseDir) const {
    QJsonObject root;
    root["format"] = kFormat;
    root["version"] = kSchemaVersion;
    QJsonArray sources;
    for (const auto& s : sources_) {
        QJsonObject o;
        o["id"] = s.id;
        o["name"] = s.name;
        o["path"] = toStored(s.path, baseDir);
        o["radius"] = s.radius;
        o["enabled"] = s.enabled;
        if (s.blackBox) {
            o["black_box"] = true;
            if (s.latentDim > 0) o["latent_dim"] = s.latentDim;
        }
        sources << o;
    }
    root["sources"] = sources;
    root["weighting"] = weightModeKey(weightMode_);
    root["combination"] = combineModeKey(combineMode_);
    if (!customOrder_.isEmpty()) root["merge_order"] = QJsonArray::fromStringList(customOrder_);
    QJsonObject local;
    local["spec"] = relativizeDataSpec(localData_.spec, baseDir);
    local["n"] = localData_.count;
    local["seed"] = double(localData_.seed);
    root["local_data"] = local;
    root["stages"] = stages_;
    QJsonArray runs;
    for (const auto& r : runs_) {
        QJsonObject o;
        o["kind"] = r.kind;
        o["dir"] = toStored(r.dir, baseDir);
        o["label"] = r.label;
        o["status"] = r.status;
        o["started"] = r.started.toString(Qt::ISODate);
        runs << o;
    }
    root["runs"] = runs;
    return root;
}

bool Project::fromJson(const QJsonObject& root, const QString& baseDir, QString* error) {
    auto fail = [&](const QString& message) {
        if (error) *error = message;
        return false;
    };
    if (root.value("format").toString() != QLatin1String(kFormat))
        return fail(tr("not a Coalesce project (\"format\" should be \"%1\")").arg(kFormat));
    if (!root.value("version").isDouble()) return fail(tr("\"version\" is missing or not a number"));
    const int version = root.value("version").toInt();
    if (version > kSchemaVersion)
        return fail(tr("project version %1 is newer than this Coalesce supports (%2); please update Coalesce")
                        .arg(version)
                        .arg(kSchemaVersion));
    if (version < 1) return fail(tr("\"version\" must be ≥ 1 (got %1)").arg(version));

    QVector<SourceModel> sources;
    const QJsonValue sourcesValue = root.value("sources");
    if (!sourcesValue.isUndefined() && !sourcesValue.isArray()) return fail(tr("\"sources\" must be a list"));
    const QJsonArray sourceArray = sourcesValue.toArray();
    int maxNumber = 0;
    for (int i = 0; i < sourceArray.size(); ++i) {
        const QString where = QStringLiteral("sources[%1]").arg(i);
        if (!sourceArray[i].isObject()) return fail(tr("%1 must be an object").arg(where));
        const QJsonObject o = sourceArray[i].toObject();
        SourceModel s;
        s.id = o.value("id").toString();
        if (s.id.isEmpty()) s.id = QStringLiteral("s%1").arg(i + 1);
        for (const auto& other : sources)
            if (other.id == s.id) return fail(tr("%1.id \"%2\" is used twice").arg(where, s.id));
        if (!o.value("path").isString() || o.value("path").toString().isEmpty())
            return fail(tr("%1.path is missing").arg(where));
        s.path = fromStored(o.value("path").toString(), baseDir);
        s.name = o.value("name").toString(QFileInfo(s.path).completeBaseName());
        const QJsonValue r = o.value("radius");
        if (!r.isUndefined()) {
            if (!r.isDouble() || !(r.toDouble() > 0))
                return fail(tr("%1.radius must be a number > 0 (got %2)")
                                .arg(where, QString::fromUtf8(QJsonDocument(QJsonArray{r}).toJson(QJsonDocument::Compact))));
            s.radius = qBound(kMinRadius, r.toDouble(), kMaxRadius);
        }
        s.enabled = o.value("enabled").toBool(true);
        s.blackBox = o.value("black_box").toBool(false);
        if (s.blackBox && o.contains("latent_dim")) {
            const QJsonValue l = o.value("latent_dim");
            if (!l.isDouble() || l.toDouble() < 1 || l.toDouble() > 65536 || l.toDouble() != std::floor(l.toDouble()))
                return fail(tr("%1.latent_dim must be an integer in 1..65536").arg(where));
            s.latentDim = l.toInt();
        }
        static const QRegularExpression number(QStringLiteral("^s(\\d+)$"));
        const auto m = number.match(s.id);
        if (m.hasMatch()) maxNumber = std::max(maxNumber, m.captured(1).toInt());
        sources << s;
    }

    auto parseEnum = [&](const char* key, const QString& a, const QString& b, bool* first) {
        const QString v = root.value(key).toString(a);
        if (v != a && v != b) return fail(tr("\"%1\" must be \"%2\" or \"%3\" (got \"%4\")").arg(key, a, b, v));
        *first = (v == a);
        return true;
    };
    bool fixed = true;
    if (!parseEnum("weighting", "fixed", "constrained", &fixed)) return false;
    const QString combination = root.value("combination").toString("joint");
    CombineMode combine = CombineMode::Joint;
    if (combination == "recursive") combine = CombineMode::Recursive;
    else if (combination == "mixture") combine = CombineMode::Mixture;
    else if (combination != "joint")
        return fail(tr("\"combination\" must be \"joint\", \"recursive\" or \"mixture\" (got \"%1\")").arg(combination));

    QStringList order;
    for (const auto& v : root.value("merge_order").toArray()) {
        const QString id = v.toString();
        const bool known = std::any_of(sources.begin(), sources.end(), [&](const SourceModel& s) { return s.id == id; });
        if (!known) return fail(tr("merge_order names an unknown source \"%1\"").arg(id));
        order << id;
    }

    LocalDataSettings local;
    const QJsonObject lo = root.value("local_data").toObject();
    local.spec = resolveDataSpec(lo.value("spec").toString(), baseDir);
    local.count = lo.value("n").toInt(20);
    if (local.count < 1) return fail(tr("local_data.n must be ≥ 1 (got %1)").arg(local.count));
    local.seed = qint64(lo.value("seed").toDouble(1));

    const QJsonValue stagesValue = root.value("stages");
    if (!stagesValue.isUndefined() && !stagesValue.isObject()) return fail(tr("\"stages\" must be an object"));

    QVector<RunRecord> runs;
    for (const auto& v : root.value("runs").toArray()) {
        const QJsonObject o = v.toObject();
        RunRecord r;
        r.kind = o.value("kind").toString();
        r.dir = fromStored(o.value("dir").toString(), baseDir);
        r.label = o.value("label").toString();
        r.status = o.value("status").toString();
        r.started = QDateTime::fromString(o.value("started").toString(), Qt::ISODate);
        if (!r.dir.isEmpty()) runs << r;
    }

    // Everything validated: replace the contents in one go (a bad file leaves the project untouched).
    sources_ = sources;
    weightMode_ = fixed ? WeightMode::Fixed : WeightMode::Constrained;
    combineMode_ = combine;
    customOrder_ = order;
    localData_ = local;
    stages_ = stagesValue.toObject();
    runs_ = runs;
    nextSourceNumber_ = maxNumber + 1;
    return true;
}

bool Project::load(const QString& path, QString* error) {
    const QString name = QFileInfo(path).fileName();
    QFile file(path);
    if (!file.exists()) {
        if (error) *error = tr("%1: no such file").arg(path);
        return false;
    }
    if (!file.open(QIODevice::ReadOnly)) {
        if (error) *error = tr("%1: cannot read (%2)").arg(name, file.errorString());
        return false;
    }
    const QByteArray bytes = file.readAll();
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        if (error)
            *error = tr("%1: not valid JSON (line %2: %3)")
                         .arg(name)
                         .arg(lineOfOffset(bytes, parseError.offset))
                         .arg(parseError.errorString());
        return false;
    }
    if (!doc.isObject()) {
        if (error) *error = tr("%1: not a Coalesce project (expected a JSON object)").arg(name);
        return false;
    }
    QString why;
    // fromJson validates everything before it replaces anything: a bad file changes nothing.
    if (!fromJson(doc.object(), QFileInfo(path).absolutePath(), &why)) {
        if (error) *error = tr("%1: %2").arg(name, why);
        return false;
    }
    undo_->clear();
    filePath_ = QFileInfo(path).absoluteFilePath();
    resultsDirty_ = false;
    undo_->setClean();
    Q_EMIT reset();
    Q_EMIT documentChanged();
    return true;
}

bool Project::save(const QString& path, QString* error) {
    const QString absolute = QFileInfo(path).absoluteFilePath();
    const QByteArray bytes = QJsonDocument(toJson(QFileInfo(absolute).absolutePath())).toJson(QJsonDocument::Indented);
    QSaveFile file(absolute);  // writes a temporary file and renames it over the target on commit
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit()) {
        if (error) *error = tr("%1: cannot save (%2)").arg(absolute, file.errorString());
        return false;
    }
    filePath_ = absolute;
    resultsDirty_ = false;
    undo_->setClean();
    Q_EMIT documentChanged();
    return true;
}
