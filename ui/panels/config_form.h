// A job config as a form: one field per key (nested objects as groups), labelled and ranged by
// project/config_fields.h, for every stage kind. The form edits a copy of the config and emits the
// whole new config on each valid change; the Stages dock keeps it in sync with the JSON ("Advanced")
// view. Keys that follow the project (sources, local data) are shown read-only; input generators
// ("pickable") can be chosen as a file or left to follow the newest run ("Latest").
#pragma once
#include <QJsonObject>
#include <QMap>
#include <QSet>
#include <QWidget>
#include <functional>

class QFormLayout;
class QLabel;
class QVBoxLayout;

class ConfigForm : public QWidget {
    Q_OBJECT
public:
    explicit ConfigForm(QWidget* parent = nullptr);

    // projectKeys: top-level keys that follow the project; pickable ⊆ projectKeys: files the user may pick.
    // overridden ⊆ pickable: picked by the user (not following the project now).
    void setConfig(const QString& kind, const QJsonObject& config, const QSet<QString>& projectKeys = {},
                   const QSet<QString>& pickable = {}, const QSet<QString>& overridden = {});
    QJsonObject config() const { return config_; }
    // The editor of the key at `path` ("iterations", "runtime.threads"), for tests; nullptr if none.
    QWidget* field(const QString& path) const { return fields_.value(path); }

Q_SIGNALS:
    void edited(const QJsonObject& config);
    void followProject(const QString& key);  // "Latest" on a picked input file

private:
    void rebuild();
    void addFields(QFormLayout* form, const QJsonObject& object, const QStringList& prefix);
    QWidget* makeField(const QString& path, const QJsonValue& value);
    void setValue(const QString& path, const QJsonValue& value);
    static QString signature(const QJsonObject& object, const QString& prefix = {});

    QString kind_;
    QJsonObject config_;
    QSet<QString> projectKeys_, pickable_, overridden_;
    QString shownSignature_;
    QWidget* content_ = nullptr;
    QVBoxLayout* outer_ = nullptr;
    QMap<QString, QWidget*> fields_;
    QMap<QString, std::function<void(const QJsonValue&)>> show_;  // path -> puts a value into its field
};
