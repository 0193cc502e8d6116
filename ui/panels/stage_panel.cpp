#include "panels/stage_panel.h"

#include <QDir>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QJsonDocument>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QTabWidget>
#include <QTimer>
#include <QVBoxLayout>

#include "panels/config_form.h"
#include "project/project.h"
#include "project/stage_configs.h"

namespace {
int lineOf(const QString& text, int offset) { return int(text.left(offset).count('\n')) + 1; }
}  // namespace

StagePanel::StagePanel(Project* project, QWidget* parent) : QWidget(parent), project_(project) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    stages_ = new QListWidget(this);
    stages_->setMaximumHeight(150);
    stages_->setAlternatingRowColors(true);
    layout->addWidget(stages_);
    description_ = new QLabel(this);
    description_->setWordWrap(true);
    description_->setForegroundRole(QPalette::PlaceholderText);
    layout->addWidget(description_);

    views_ = new QTabWidget(this);
    form_ = new ConfigForm;
    auto* formScroll = new QScrollArea;
    formScroll->setWidget(form_);
    formScroll->setWidgetResizable(true);
    formScroll->setFrameShape(QFrame::NoFrame);
    formScroll->setMinimumHeight(230);  // about eight fields: the dock layout takes it from the Runs dock
    views_->addTab(formScroll, tr("Settings"));
    editor_ = new QPlainTextEdit;
    views_->addTab(editor_, tr("Advanced (JSON)"));
    editor_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    editor_->setTabChangesFocus(true);
    editor_->setLineWrapMode(QPlainTextEdit::NoWrap);
    editor_->setToolTip(tr("The job config sent to the engine. Keys that follow the project (sources, radii, "
                           "local data) are refreshed from it; your other edits are saved with the project."));
    layout->addWidget(views_, 1);
    auto* editorRow = new QHBoxLayout;
    editorStatus_ = new QLabel(this);
    editorStatus_->setWordWrap(true);
    defaults_ = new QPushButton(tr("Defaults"), this);
    defaults_->setToolTip(tr("Forget your edits of this stage's config"));
    editorRow->addWidget(editorStatus_, 1);
    editorRow->addWidget(defaults_);
    layout->addLayout(editorRow);

    auto* buttons = new QHBoxLayout;
    start_ = new QPushButton(tr("Start"), this);
    start_->setObjectName("startButton");
    start_->setToolTip(tr("Run this stage (F5)"));
    pause_ = new QPushButton(tr("Pause"), this);
    pause_->setCheckable(true);
    pause_->setToolTip(tr("Pause / continue the running job (F6)"));
    cancel_ = new QPushButton(tr("Cancel"), this);
    cancel_->setToolTip(tr("Stop the running job; its last checkpoint stays usable (Shift+F5)"));
    resume_ = new QPushButton(tr("Resume"), this);
    resume_->setToolTip(tr("Continue the last cancelled or failed run of this stage from its checkpoint"));
    buttons->addWidget(start_);
    buttons->addWidget(pause_);
    buttons->addWidget(cancel_);
    buttons->addWidget(resume_);
    layout->addLayout(buttons);
    runsWhere_ = new QLabel(this);
    runsWhere_->setWordWrap(true);
    runsWhere_->setForegroundRole(QPalette::PlaceholderText);
    runsWhere_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(runsWhere_);
    auto showRunsFolder = [this] {
        const QString folder = QDir::toNativeSeparators(runsFolder(*project_));
        runsWhere_->setText(project_->filePath().isEmpty()
                                ? tr("Runs go to %1 until the project is saved; then to a runs/ folder beside it.").arg(folder)
                                : tr("Runs go to %1").arg(folder));
    };
    connect(project_, &Project::documentChanged, this, showRunsFolder);
    connect(project_, &Project::reset, this, showRunsFolder);
    showRunsFolder();

    connect(stages_, &QListWidget::currentRowChanged, this, [this] {
        commitEdits();
        showKind(currentKind());
        Q_EMIT kindChanged(currentKind());
    });
    commitTimer_ = new QTimer(this);
    commitTimer_->setSingleShot(true);
    commitTimer_->setInterval(400);
    connect(commitTimer_, &QTimer::timeout, this, &StagePanel::commitEdits);
    connect(editor_, &QPlainTextEdit::textChanged, this, [this] {
        validate();
        if (settingText_) return;  // shown from the project, not typed
        typed_ = true;
        commitTimer_->start();
        QJsonObject config;
        if (!fromForm_ && currentConfig(&config, nullptr)) showInForm(config);  // typed JSON -> form
    });
    connect(form_, &ConfigForm::edited, this, [this](const QJsonObject& config) {
        // form -> JSON: a user edit like typing (committed to the project once edits pause)
        fromForm_ = true;
        editor_->setPlainText(QString::fromUtf8(QJsonDocument(config).toJson(QJsonDocument::Indented)));
        fromForm_ = false;
    });
    connect(form_, &ConfigForm::followProject, this, [this](const QString& key) {
        commitEdits();
        QJsonObject user = project_->stageConfig(shownKind_);
        user.remove(key);
        project_->setStageConfig(shownKind_, user);
        showKind(shownKind_);
    });
    connect(defaults_, &QPushButton::clicked, this, [this] {
        project_->setStageConfig(currentKind(), {});
        showKind(currentKind());
    });
    connect(start_, &QPushButton::clicked, this, [this] {
        QJsonObject config;
        QString error;
        if (!configToRun(&config, &error)) return;  // the status line already says why
        Q_EMIT startRequested(currentKind(), config);
    });
    connect(resume_, &QPushButton::clicked, this, [this] {
        QJsonObject config;
        QString error;
        if (resumeDir_.isEmpty() || !configToRun(&config, &error)) return;
        Q_EMIT resumeRequested(currentKind(), config, resumeDir_);
    });
    connect(pause_, &QPushButton::toggled, this, [this](bool on) {
        pause_->setText(on ? tr("Continue") : tr("Pause"));
        Q_EMIT pauseRequested(on);
    });
    connect(cancel_, &QPushButton::clicked, this, &StagePanel::cancelRequested);

    // Project edits (radii, sources, local data) flow into the derived keys of the shown config.
    for (auto signal : {&Project::weightsChanged, &Project::sourcesChanged, &Project::modesChanged,
                        &Project::mergeOrderChanged, &Project::localDataChanged, &Project::runsChanged})
        connect(project_, signal, this, &StagePanel::refreshDerived);
    connect(project_, &Project::reset, this, [this] { showKind(currentKind()); });
    connect(project_, &Project::stageConfigChanged, this, [this](const QString& kind) {
        if (kind == shownKind_ && !editor_->hasFocus()) showKind(kind);  // undo/redo of an edit
    });
    rebuildList();
    setRunning(false, false);
}

StagePanel::~StagePanel() {
    // Child widgets are destroyed after this object's members: the editor's and the form's last signals
    // (a text document emits while it is torn down) must not reach a half-destroyed panel.
    editor_->disconnect(this);
    form_->disconnect(this);
    commitTimer_->stop();
}

void StagePanel::setAvailableKinds(const QMap<QString, QString>& kinds) {
    available_ = kinds;
    rebuildList();
}

void StagePanel::rebuildList() {
    const QString previous = currentKind();
    const QSignalBlocker b(stages_);
    stages_->clear();
    QStringList listed;
    auto add = [&](const QString& kind, const QString& title, const QString& description) {
        auto* item = new QListWidgetItem(title, stages_);
        item->setData(Qt::UserRole, kind);
        item->setData(Qt::UserRole + 1, description);
        if (!available_.contains(kind)) {
            item->setFlags(item->flags() & ~Qt::ItemIsEnabled);
            item->setToolTip(tr("“%1” is not available in this engine build yet").arg(kind));
            item->setText(title + tr("  (not available yet)"));
        } else {
            item->setToolTip(available_.value(kind));
        }
        listed << kind;
    };
    for (const StageInfo& s : pipelineStages()) add(s.kind, s.title, s.description);
    for (auto it = available_.cbegin(); it != available_.cend(); ++it)
        if (!listed.contains(it.key())) {
            // Jobs outside the pipeline ("evaluator-train" -> "Evaluator train"): titled like the stages.
            QString title = it.key();
            title.replace('-', ' ').replace('_', ' ');
            if (!title.isEmpty()) title[0] = title[0].toUpper();
            add(it.key(), title, it.value());
        }
    int row = -1;
    for (int i = 0; i < stages_->count(); ++i) {
        const QString kind = stages_->item(i)->data(Qt::UserRole).toString();
        if (kind == previous && available_.contains(kind)) row = i;
        if (row < 0 && previous.isEmpty() && available_.contains(kind)) row = i;
    }
    if (row < 0)
        for (int i = 0; i < stages_->count() && row < 0; ++i)
            if (available_.contains(stages_->item(i)->data(Qt::UserRole).toString())) row = i;
    stages_->setCurrentRow(row);
    showKind(currentKind());
}

QString StagePanel::currentKind() const {
    return stages_->currentItem() ? stages_->currentItem()->data(Qt::UserRole).toString() : QString();
}

void StagePanel::selectKind(const QString& kind) {
    for (int i = 0; i < stages_->count(); ++i)
        if (stages_->item(i)->data(Qt::UserRole).toString() == kind) stages_->setCurrentRow(i);
}

void StagePanel::showKind(const QString& kind) {
    shownKind_ = kind;
    typed_ = false;
    const auto* item = stages_->currentItem();
    description_->setText(item ? item->data(Qt::UserRole + 1).toString() : tr("The engine registers no job kinds."));
    if (kind.isEmpty()) {
        settingText_ = true;
        editor_->clear();
        settingText_ = false;
    } else {
        setEditorConfig(effectiveStageConfig(kind, *project_));
    }
    editor_->setEnabled(!kind.isEmpty());
    form_->setEnabled(!kind.isEmpty());
    defaults_->setEnabled(!kind.isEmpty());
    validate();
    setRunning(running_, pause_->isChecked());
}

void StagePanel::refreshDerived() {
    if (shownKind_.isEmpty()) return;
    if (!typed_) {  // nothing typed: show the project's config as it now is (defaults may follow too)
        showKind(shownKind_);
        return;
    }
    const QJsonObject derived = followedStageKeys(shownKind_, *project_);
    if (derived.isEmpty()) return;
    QJsonObject config;
    QString error;
    if (!currentConfig(&config, &error)) return;  // don't clobber a half-typed edit
    for (auto it = derived.begin(); it != derived.end(); ++it) config[it.key()] = it.value();
    setEditorConfig(config);
    validate();
}

void StagePanel::setEditorConfig(const QJsonObject& config) {
    QJsonObject shown = config;
    shown["kind"] = shownKind_;
    settingText_ = true;
    editor_->setPlainText(QString::fromUtf8(QJsonDocument(shown).toJson(QJsonDocument::Indented)));
    settingText_ = false;
    showInForm(shown);
}

void StagePanel::showInForm(const QJsonObject& config) {
    QSet<QString> projectKeys;
    for (const QString& key : derivedStageKeys(shownKind_, *project_).keys()) projectKeys.insert(key);
    form_->setConfig(shownKind_, config, projectKeys, pickableStageKeys(shownKind_),
                     overriddenStageKeys(shownKind_, *project_));
}

void StagePanel::commitEdits() {
    commitTimer_->stop();
    // Only what the user typed: the text shown from the project may predate a change of the defaults
    // (e.g. toy local data turns the image defaults into 2-D ones) and must not be frozen as edits.
    if (shownKind_.isEmpty() || !typed_) return;
    typed_ = false;
    QJsonObject config;
    QString error;
    if (!currentConfig(&config, &error)) return;
    project_->setStageConfig(shownKind_, userStagePart(shownKind_, config, *project_));
}

bool StagePanel::configToRun(QJsonObject* config, QString* error) {
    QJsonObject typed;
    if (!currentConfig(&typed, error)) return false;
    commitEdits();
    *config = effectiveStageConfig(currentKind(), *project_);
    return true;
}

bool StagePanel::currentConfig(QJsonObject* config, QString* error) const {
    const QString text = editor_->toPlainText();
    QJsonParseError parse;
    const QJsonDocument doc = QJsonDocument::fromJson(text.toUtf8(), &parse);
    if (parse.error != QJsonParseError::NoError) {
        if (error) *error = tr("line %1: %2").arg(lineOf(text, parse.offset)).arg(parse.errorString());
        return false;
    }
    if (!doc.isObject()) {
        if (error) *error = tr("the config must be a JSON object { … }");
        return false;
    }
    *config = doc.object();
    (*config)["kind"] = currentKind();
    return true;
}

void StagePanel::setConfigText(const QString& json) { editor_->setPlainText(json); }

void StagePanel::validate() {
    QJsonObject config;
    QString error;
    const bool ok = currentKind().isEmpty() || currentConfig(&config, &error);
    editorStatus_->setStyleSheet(ok ? QString() : QStringLiteral("color: #d9534f;"));
    editorStatus_->setText(ok ? QString() : tr("Invalid JSON: %1").arg(error));
    start_->setEnabled(ok && !running_ && available_.contains(currentKind()));
}

void StagePanel::setRunning(bool running, bool paused) {
    running_ = running;
    QJsonObject config;
    QString error;
    start_->setEnabled(!running && available_.contains(currentKind()) && currentConfig(&config, &error));
    pause_->setEnabled(running);
    {
        const QSignalBlocker b(pause_);
        pause_->setChecked(running && paused);
        pause_->setText(running && paused ? tr("Continue") : tr("Pause"));
    }
    cancel_->setEnabled(running);
    resume_->setEnabled(!running && !resumeDir_.isEmpty());
    // Shown only when there is a stopped run to continue: a grey "Resume" beside "Continue" (a paused
    // job) read as two ways of doing one thing.
    resume_->setVisible(!resumeDir_.isEmpty());
}

void StagePanel::setResumeDirectory(const QString& dir) {
    resumeDir_ = dir;
    resume_->setToolTip(dir.isEmpty() ? tr("No cancelled or failed run of this stage to resume")
                                      : tr("Continue %1 from its last checkpoint").arg(dir));
    setRunning(running_, pause_->isChecked());
}
