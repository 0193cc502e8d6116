// The "Stages" dock: the pipeline (pretrain → barycenter → adapt → baselines (the experiment job) → ternarize → evaluate)
// plus any other job kind the engine registers, the selected stage's config as a form (ConfigForm) and
// as editable JSON ("Advanced"), the two kept in sync (keys that follow the project, such as the sources
// and their radii, are refreshed from it), and the Start / Pause / Cancel / Resume controls. Stages the engine does not provide yet are shown disabled.
#pragma once
#include <QJsonObject>
#include <QMap>
#include <QWidget>

class ConfigForm;
class Project;
class QTabWidget;
class QLabel;
class QListWidget;
class QPlainTextEdit;
class QPushButton;
class QTimer;

class StagePanel : public QWidget {
    Q_OBJECT
public:
    explicit StagePanel(Project* project, QWidget* parent = nullptr);
    ~StagePanel() override;

    // kind -> one-line summary, from the engine's job registry (jobKinds()).
    void setAvailableKinds(const QMap<QString, QString>& kinds);
    QString currentKind() const;
    void selectKind(const QString& kind);
    bool isAvailable(const QString& kind) const { return available_.contains(kind); }
    // The editor's config; false (with *error naming the line) if it is not valid JSON.
    bool currentConfig(QJsonObject* config, QString* error) const;
    void setConfigText(const QString& json);  // tests / scripted runs
    void setRunning(bool running, bool paused);
    void setResumeDirectory(const QString& dir);  // a resumable run of the current kind ("" = none)
    // Stores the editor's valid config in the project now (also done shortly after each edit, on
    // switching stage and before a start): saving the project must never miss what was typed.
    void commitEdits();
    // What Start runs: the edits committed, then the config built from the project
    // (effectiveStageConfig), so derived keys (sources, radii, local data, input generator) are the
    // project's current ones even if the editor text predates a change. false (with *error) while the
    // editor does not hold valid JSON.
    bool configToRun(QJsonObject* config, QString* error);

    ConfigForm* form() const { return form_; }
    QTabWidget* views() const { return views_; }
    QPushButton* startButton() const { return start_; }
    QPushButton* pauseButton() const { return pause_; }
    QPushButton* cancelButton() const { return cancel_; }

Q_SIGNALS:
    void startRequested(const QString& kind, const QJsonObject& config);
    void resumeRequested(const QString& kind, const QJsonObject& config, const QString& runDir);
    void pauseRequested(bool pause);
    void cancelRequested();
    void kindChanged(const QString& kind);

private:
    void rebuildList();
    void showKind(const QString& kind);
    void refreshDerived();
    void validate();
    void showInForm(const QJsonObject& config);
    void setEditorConfig(const QJsonObject& config);  // shown from the project, not typed

    Project* project_;
    QMap<QString, QString> available_;
    QListWidget* stages_;
    QLabel* description_;
    QTabWidget* views_;
    ConfigForm* form_;
    QPlainTextEdit* editor_;
    QLabel* editorStatus_;
    QLabel* runsWhere_;  // where this project's runs go (untitled projects too)
    QPushButton* start_;
    QPushButton* pause_;
    QPushButton* cancel_;
    QPushButton* resume_;
    QPushButton* defaults_;
    QTimer* commitTimer_;  // commits typed edits once typing pauses
    QString shownKind_;
    QString resumeDir_;
    bool running_ = false;
    bool settingText_ = false;
    bool fromForm_ = false;  // the editor text is being rewritten from a form edit
    bool typed_ = false;  // the editor holds text the user typed that is not in the project yet
};
