#include "app/main_window.h"

#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDirIterator>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QInputDialog>
#include <QSet>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QMap>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTime>
#include <QToolBar>
#include <QToolButton>
#include <QUndoStack>
#include <QtConcurrent/QtConcurrentRun>

#include "app/about_dialog.h"
#include "app/engine_samples.h"
#include "app/icons.h"
#include "app/model_export.h"
#include "app/point_sampler.h"
#include "app/radius_estimator.h"
#include "bridge/job_runner.h"
#include "bridge/stage_controller.h"
#include "panels/local_data_panel.h"
#include "panels/log_panel.h"
#include "panels/runs_panel.h"
#include "panels/sources_panel.h"
#include "panels/stage_panel.h"
#include "plots/curves_panel.h"
#include "previews/compare_preview.h"
#include "previews/sample_preview.h"
#include "previews/results_view.h"
#include "previews/scatter_view.h"
#include "project/model_file_info.h"
#include "project/project.h"
#include "project/recent_projects.h"
#include "project/stage_configs.h"
#include "project/stage_readiness.h"
#include "runs/run_directory_reader.h"
#include "runs/run_store.h"

namespace {
const char* kStateVersionKey = "window/stateVersion";
constexpr int kStateVersion = 1;  // bump when docks change, so an old saved layout is not restored

QString projectFilter() { return QObject::tr("Coalesce projects (*.%1);;All files (*)").arg(Project::kSuffix); }
}  // namespace

MainWindow::MainWindow(JobCatalog catalog, QSettings* settings, QWidget* parent)
    : QMainWindow(parent), catalog_(std::move(catalog)), settings_(settings) {
    if (!settings_) {
        settings_ = new QSettings();
        ownsSettings_ = true;
    }
    project_ = new Project(this);
    runs_ = new RunStore(this);
    controller_ = new StageController(catalog_, project_, runs_, &modelFiles_, this);
    pointSampler_ = new PointSampler(runs_, this);
    setObjectName("mainWindow");
    setWindowIcon(icons::appIcon());
    setAcceptDrops(true);
    setDockNestingEnabled(true);

    views_ = new QTabWidget(this);
    views_->setDocumentMode(true);
    curves_ = new CurvesPanel(runs_, views_);
    samples_ = new SamplePreview(runs_, views_);
    compare_ = new ComparePreview(runs_, views_);
    scatter_ = new ScatterView(runs_, views_);
    results_ = new ResultsView(runs_, views_);
    views_->addTab(curves_, tr("Curves"));
    views_->addTab(samples_, tr("Samples"));
    views_->addTab(compare_, tr("Compare"));
    views_->addTab(scatter_, tr("Toy 2-D"));
    views_->addTab(results_, tr("Results"));
    setCentralWidget(views_);

    createDocks();
    createActions();
    createMenus();
    createToolBar();
    createStatusBar();
    connectProject();
    refreshIcons();

    connect(pointSampler_, &PointSampler::problem, this, [this](const QString& m) { log_->append(2, m); });
    connect(controller_, &StageController::started, this, &MainWindow::onJobStarted);
    connect(controller_, &StageController::eventsApplied, log_, &LogPanel::appendEvents);
    connect(controller_, &StageController::liveWeightsChanged, sourcesPanel_, &SourcesPanel::setLiveWeights);
    connect(controller_, &StageController::progressChanged, this, &MainWindow::onJobProgress);
    connect(controller_, &StageController::finished, this, &MainWindow::onJobFinished);
    connect(controller_, &StageController::runLoaded, pointSampler_, &PointSampler::sampleRun);
    connect(controller_, &StageController::resumableChanged, this, [this] {
        stages_->setResumeDirectory(controller_->resumableRun(stages_->currentKind()));
        updateRunActions();
    });
    connect(controller_, &StageController::pausedChanged, this, [this](bool paused) {
        // While paused nothing counts down: say "Paused", not an ETA that is no longer true.
        const QString kind = controller_->activeKind();
        jobLabel_->setText(paused ? tr("Paused %1").arg(kind) : tr("Running %1").arg(kind));
        if (paused) etaLabel_->setText(tr("paused — Continue (F6) or Cancel"));
        updateRunActions();
    });

    stages_->setAvailableKinds(controller_->availableKinds());
    defaultState_ = saveState(kStateVersion);
    readSettings();
    updateTitle();
    updateRunActions();
    updateRecentMenu();
}

JobRunner* MainWindow::runner() const { return controller_->runner(); }

int MainWindow::activeRunId() const { return controller_->activeRunId(); }

MainWindow::~MainWindow() {
    if (ownsSettings_) delete settings_;
}

QDockWidget* MainWindow::dock(const QString& objectName) const {
    for (QDockWidget* d : docks_)
        if (d->objectName() == objectName) return d;
    return nullptr;
}

// ------------------------------------------------------------------------------------ construction

void MainWindow::createDocks() {
    auto makeDock = [this](const QString& title, const QString& name, QWidget* content, Qt::DockWidgetArea area) {
        auto* d = new QDockWidget(title, this);
        d->setObjectName(name);  // saveState/restoreState key
        d->setWidget(content);
        addDockWidget(area, d);
        docks_ << d;
        return d;
    };
    sourcesPanel_ = new SourcesPanel(project_, &modelFiles_, this);
    localData_ = new LocalDataPanel(project_, this);
    stages_ = new StagePanel(project_, this);
    runsPanel_ = new RunsPanel(runs_, this);
    log_ = new LogPanel(this);
    QDockWidget* sources = makeDock(tr("Sources"), "sourcesDock", sourcesPanel_, Qt::LeftDockWidgetArea);
    QDockWidget* local = makeDock(tr("Local data"), "localDataDock", localData_, Qt::LeftDockWidgetArea);
    QDockWidget* stages = makeDock(tr("Stages"), "stagesDock", stages_, Qt::RightDockWidgetArea);
    QDockWidget* runs = makeDock(tr("Runs"), "runsDock", runsPanel_, Qt::RightDockWidgetArea);
    QDockWidget* log = makeDock(tr("Log"), "logDock", log_, Qt::BottomDockWidgetArea);
    tabifyDockWidget(sources, local);
    sources->raise();
    splitDockWidget(stages, runs, Qt::Vertical);
    resizeDocks({sources, stages}, {330, 330}, Qt::Horizontal);
    resizeDocks({stages, runs}, {480, 200}, Qt::Vertical);
    resizeDocks({log}, {120}, Qt::Vertical);
    (void)log;

    connect(sourcesPanel_, &SourcesPanel::addRequested, this, &MainWindow::addGeneratorsDialog);
    connect(localData_, &LocalDataPanel::previewRequested, this, &MainWindow::requestLocalPreview);
    connect(stages_, &StagePanel::startRequested, this, [this](const QString& kind, const QJsonObject& config) { startStage(kind, config); });
    connect(stages_, &StagePanel::resumeRequested, this,
            [this](const QString& kind, const QJsonObject& config, const QString& dir) { startStage(kind, config, dir); });
    connect(stages_, &StagePanel::pauseRequested, controller_, &StageController::setPaused);
    connect(stages_, &StagePanel::cancelRequested, controller_, &StageController::cancel);
    connect(stages_, &StagePanel::kindChanged, this, [this](const QString& kind) {
        stages_->setResumeDirectory(controller_->resumableRun(kind));
        updateRunActions();
    });
    connect(runsPanel_, &RunsPanel::openRunRequested, this, &MainWindow::openRunDialog);
    connect(runsPanel_, &RunsPanel::runRemovedByUser, project_, &Project::removeRun);
    connect(runsPanel_, &RunsPanel::useAsSourceRequested, this, [this](const QString& file) { addGeneratorFiles({file}); });
    connect(sourcesPanel_, &SourcesPanel::estimateRadiiRequested, this, &MainWindow::estimateRadii);
    connect(runsPanel_, &RunsPanel::showSamplesRequested, this, [this](int id) {
        samples_->setFollowLatest(false);
        samples_->showRun(id);
        showView(View::Samples);
    });
}

void MainWindow::createActions() {
    auto add = [this](const QString& key, const QString& text, const QString& icon, const QKeySequence& shortcut,
                      const QString& tip, auto slot) {
        auto* a = new QAction(text, this);
        a->setObjectName(key);
        if (!icon.isEmpty()) a->setProperty("iconName", icon);
        if (!shortcut.isEmpty()) a->setShortcut(shortcut);
        a->setStatusTip(tip);
        a->setToolTip(shortcut.isEmpty() ? tip : QStringLiteral("%1 (%2)").arg(tip, shortcut.toString(QKeySequence::NativeText)));
        connect(a, &QAction::triggered, this, slot);
        actions_.insert(key, a);
        return a;
    };
    add("new", tr("&New Project"), "new", QKeySequence::New, tr("Start a new project"), [this] { newProject(); });
    add("open", tr("&Open Project…"), "open", QKeySequence::Open, tr("Open a project file"), [this] { openProjectDialog(); });
    add("save", tr("&Save"), "save", QKeySequence::Save, tr("Save the project"), [this] { save(); });
    add("saveAs", tr("Save &As…"), "", QKeySequence::SaveAs, tr("Save the project under a new name"), [this] { saveAs(); });
    add("addModels", tr("Add &Generators…"), "add-model", QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_A),
        tr("Add pre-trained generator files"), [this] { addGeneratorsDialog(); });
    add("addBlackBox", tr("Add TorchScript &Black Box…"), "", QKeySequence(),
        tr("Add a TorchScript generator of any architecture as a source that is only sampled (its code runs in a worker process)"),
        [this] { addBlackBoxDialog(); });
    add("openRun", tr("Open &Run Directory…"), "run-folder", QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O),
        tr("Load a finished run to view or compare"), [this] { openRunDialog(); });
    add("exportGrid", tr("Sample Grid as &PNG…"), "", QKeySequence(Qt::CTRL | Qt::Key_E), tr("Save the shown sample grid"),
        [this] { exportSampleGrid(); });
    add("exportCsv", tr("Curves as &CSV…"), "", QKeySequence(), tr("All metric values of the shown runs"), [this] { exportCurves("csv"); });
    add("exportPng", tr("Curves as P&NG…"), "", QKeySequence(), tr("An image of all charts"), [this] { exportCurves("png"); });
    add("exportPdf", tr("Curves as P&DF…"), "", QKeySequence(), tr("Vector charts, two per page"), [this] { exportCurves("pdf"); });
    add("exportModel", tr("&Generator of the Selected Run…"), "export", QKeySequence(),
        tr("Save the selected run's generator as .coalesce, safetensors, TorchScript or state_dict"),
        [this] { exportGeneratorOfSelectedRun(); });
    add("quit", tr("&Quit"), "", QKeySequence::Quit, tr("Quit Coalesce"), [this] { close(); });

    QAction* undo = project_->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setShortcut(QKeySequence::Undo);
    undo->setProperty("iconName", "undo");
    actions_.insert("undo", undo);
    QAction* redo = project_->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setShortcuts({QKeySequence::Redo, QKeySequence(Qt::CTRL | Qt::Key_Y)});
    redo->setProperty("iconName", "redo");
    actions_.insert("redo", redo);

    add("start", tr("&Start Stage"), "start", QKeySequence(Qt::Key_F5), tr("Run the selected stage"), [this] {
        QJsonObject config;
        QString error;
        if (!stages_->configToRun(&config, &error)) {
            showProblem(tr("Cannot start"), tr("The stage config is not valid JSON: %1").arg(error));
            return;
        }
        startStage(stages_->currentKind(), config);
    });
    QAction* pause = add("pause", tr("&Pause"), "pause", QKeySequence(Qt::Key_F6), tr("Pause or continue the running job"),
                         [this](bool on) { controller_->setPaused(on); });
    pause->setCheckable(true);
    add("cancel", tr("&Cancel"), "stop", QKeySequence(Qt::SHIFT | Qt::Key_F5), tr("Stop the running job"), [this] { controller_->cancel(); });
    add("resume", tr("&Resume Stopped Run"), "start", QKeySequence(Qt::CTRL | Qt::Key_F5),
        tr("Continue the last cancelled or failed run of the selected stage from its checkpoint"), [this] {
            const QString dir = controller_->resumableRun(stages_->currentKind());
            QJsonObject config;
            QString error;
            if (dir.isEmpty() || !stages_->configToRun(&config, &error)) return;
            startStage(stages_->currentKind(), config, dir);
        });
    add("curvesView", tr("&Curves"), "curves", QKeySequence(Qt::CTRL | Qt::Key_1), tr("Live metric curves"), [this] { showView(View::Curves); });
    add("samplesView", tr("&Samples"), "samples", QKeySequence(Qt::CTRL | Qt::Key_2), tr("Sample grids"), [this] { showView(View::Samples); });
    add("compareView", tr("C&ompare"), "compare", QKeySequence(Qt::CTRL | Qt::Key_3), tr("Two grids side by side"), [this] { showView(View::Compare); });
    add("scatterView", tr("&Toy 2-D"), "scatter", QKeySequence(Qt::CTRL | Qt::Key_4), tr("2-D toy scatter"), [this] { showView(View::Scatter); });
    add("resultsView", tr("&Results"), "info", QKeySequence(Qt::CTRL | Qt::Key_5), tr("Every run's final metrics as a table"),
        [this] { showView(View::Results); });
    add("resetLayout", tr("&Reset Layout"), "", QKeySequence(), tr("Put every panel back where it started"), [this] { resetLayout(); });
    add("about", tr("&About Coalesce"), "info", QKeySequence(), tr("Versions and credits"), [this] {
        auto* d = new AboutDialog(this);
        d->setAttribute(Qt::WA_DeleteOnClose);
        d->open();
    });

    themeGroup_ = new QActionGroup(this);
    for (Theme t : {Theme::System, Theme::Light, Theme::Dark}) {
        const QString name = t == Theme::System ? tr("&System") : t == Theme::Light ? tr("&Light") : tr("&Dark");
        auto* a = new QAction(name, themeGroup_);
        a->setCheckable(true);
        a->setData(themeName(t));
        connect(a, &QAction::triggered, this, [this, t] { setTheme(t); });
    }
}

void MainWindow::createMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(actions_["new"]);
    file->addAction(actions_["open"]);
    recentMenu_ = file->addMenu(tr("Open &Recent"));
    file->addAction(actions_["save"]);
    file->addAction(actions_["saveAs"]);
    file->addSeparator();
    file->addAction(actions_["addModels"]);
    file->addAction(actions_["addBlackBox"]);
    file->addAction(actions_["openRun"]);
    QMenu* exportMenu = file->addMenu(tr("&Export"));
    exportMenu->addAction(actions_["exportModel"]);
    exportMenu->addSeparator();
    exportMenu->addAction(actions_["exportGrid"]);
    exportMenu->addSeparator();
    exportMenu->addAction(actions_["exportCsv"]);
    exportMenu->addAction(actions_["exportPng"]);
    exportMenu->addAction(actions_["exportPdf"]);
    file->addSeparator();
    file->addAction(actions_["quit"]);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    edit->addAction(actions_["undo"]);
    edit->addAction(actions_["redo"]);

    viewMenu_ = menuBar()->addMenu(tr("&View"));
    for (const char* key : {"curvesView", "samplesView", "compareView", "scatterView", "resultsView"}) viewMenu_->addAction(actions_[key]);
    viewMenu_->addSeparator();
    for (QDockWidget* d : docks_) viewMenu_->addAction(d->toggleViewAction());
    viewMenu_->addSeparator();
    QMenu* theme = viewMenu_->addMenu(tr("&Theme"));
    theme->addActions(themeGroup_->actions());
    viewMenu_->addAction(actions_["resetLayout"]);

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    run->addAction(actions_["start"]);
    run->addAction(actions_["pause"]);
    run->addAction(actions_["cancel"]);
    run->addAction(actions_["resume"]);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(actions_["about"]);
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::createToolBar() {
    QToolBar* bar = addToolBar(tr("Main"));
    bar->setObjectName("mainToolBar");
    bar->setMovable(false);
    bar->setIconSize(QSize(20, 20));
    bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    for (const char* key : {"new", "open", "save"}) bar->addAction(actions_[key]);
    bar->addSeparator();
    bar->addAction(actions_["undo"]);
    bar->addAction(actions_["redo"]);
    bar->addSeparator();
    bar->addAction(actions_["addModels"]);
    bar->addSeparator();
    bar->addAction(actions_["start"]);
    bar->addAction(actions_["pause"]);
    bar->addAction(actions_["cancel"]);
    // Short labels keep the bar compact; menus show the full text.
    for (const char* key : {"new", "open", "save", "undo", "redo"})
        if (QWidget* w = bar->widgetForAction(actions_[key])) static_cast<QToolButton*>(w)->setToolButtonStyle(Qt::ToolButtonIconOnly);
    actions_["addModels"]->setIconText(tr("Add generators"));
    actions_["start"]->setIconText(tr("Start"));
}

void MainWindow::createStatusBar() {
    jobLabel_ = new QLabel(tr("Idle"), this);
    jobLabel_->setMinimumWidth(160);
    progress_ = new QProgressBar(this);
    progress_->setFixedWidth(180);
    progress_->setMaximumHeight(16);
    progress_->setTextVisible(false);  // "40 / 80" goes into the label next to it: text split by the chunk is hard to read
    progress_->setVisible(false);
    etaLabel_ = new QLabel(this);
    etaLabel_->setMinimumWidth(150);
    statusBar()->addPermanentWidget(jobLabel_);
    statusBar()->addPermanentWidget(progress_);
    statusBar()->addPermanentWidget(etaLabel_);
}

void MainWindow::connectProject() {
    connect(project_, &Project::documentChanged, this, &MainWindow::updateTitle);
    // A different project: forget runs of the old one, load the new one's recorded runs.
    connect(project_, &Project::reset, controller_, &StageController::reloadProjectRuns);
}

// ------------------------------------------------------------------------------------ settings

void MainWindow::readSettings() {
    setTheme(themeFromString(settings_->value("theme", "system").toString()));
    const QByteArray geometry = settings_->value("window/geometry").toByteArray();
    if (geometry.isEmpty() || !restoreGeometry(geometry)) resize(1400, 880);
    if (settings_->value(kStateVersionKey).toInt() == kStateVersion) restoreState(settings_->value("window/state").toByteArray(), kStateVersion);
    curves_->setSmoothing(settings_->value("curves/smoothing", 0.6).toDouble());
    curves_->setLogY(settings_->value("curves/logY", false).toBool());
}

void MainWindow::writeSettings() {
    settings_->setValue("window/geometry", saveGeometry());
    settings_->setValue("window/state", saveState(kStateVersion));
    settings_->setValue(kStateVersionKey, kStateVersion);
    settings_->setValue("theme", themeName(theme_));
    settings_->setValue("curves/smoothing", curves_->smoothing());
    settings_->setValue("curves/logY", curves_->logY());
    settings_->sync();
}

void MainWindow::resetLayout() {
    restoreState(defaultState_, kStateVersion);
    for (QDockWidget* d : docks_) d->show();
}

QString MainWindow::lastDirectory(const QString& key) const {
    const QString dir = settings_->value("lastDir/" + key).toString();
    if (!dir.isEmpty() && QFileInfo(dir).isDir()) return dir;
    if (!project_->directory().isEmpty()) return project_->directory();
    return QStandardPaths::writableLocation(QStandardPaths::HomeLocation);
}

void MainWindow::setLastDirectory(const QString& key, const QString& path) {
    settings_->setValue("lastDir/" + key, QFileInfo(path).isDir() ? path : QFileInfo(path).absolutePath());
}

void MainWindow::setTheme(Theme theme) {
    theme_ = theme;
    applyTheme(theme);
    for (QAction* a : themeGroup_->actions()) a->setChecked(a->data().toString() == themeName(theme));
    refreshIcons();
}

void MainWindow::refreshIcons() {
    icons::clearCache();
    for (QAction* a : actions_) {
        const QString name = a->property("iconName").toString();
        if (!name.isEmpty()) a->setIcon(icons::get(name));
    }
    views_->setTabIcon(0, icons::get("curves"));
    views_->setTabIcon(1, icons::get("samples"));
    views_->setTabIcon(2, icons::get("compare"));
    views_->setTabIcon(3, icons::get("scatter"));
}

void MainWindow::changeEvent(QEvent* event) {
    QMainWindow::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) refreshIcons();
}

// ------------------------------------------------------------------------------------ title, state

void MainWindow::updateTitle() {
    setWindowTitle(QStringLiteral("%1[*] — Coalesce").arg(project_->displayName()));
    setWindowModified(project_->isModified());
}

void MainWindow::updateRunActions() {
    const JobRunner* runner = controller_->runner();
    const bool running = runner->isRunning();
    actions_["start"]->setEnabled(!running && stages_->isAvailable(stages_->currentKind()));
    actions_["pause"]->setEnabled(running);
    actions_["cancel"]->setEnabled(running);
    actions_["resume"]->setEnabled(!running && !controller_->resumableRun(stages_->currentKind()).isEmpty());
    {
        const QSignalBlocker b(actions_["pause"]);
        actions_["pause"]->setChecked(running && runner->isPaused());
    }
    stages_->setRunning(running, runner->isPaused());
}

void MainWindow::updateRecentMenu() {
    recentMenu_->clear();
    RecentProjects recent(*settings_);
    const QStringList files = recent.list();
    for (const QString& f : files)
        recentMenu_->addAction(QFileInfo(f).fileName(), this, [this, f] {
            if (maybeSave()) openProject(f);
        })->setToolTip(f);
    if (files.isEmpty()) recentMenu_->addAction(tr("(none)"))->setEnabled(false);
    recentMenu_->addSeparator();
    recentMenu_->addAction(tr("Clear list"), this, [this] {
        RecentProjects(*settings_).clear();
        updateRecentMenu();
    });
}

QString MainWindow::statusJobText() const {
    return jobLabel_->text() + (progress_->isVisible() ? QStringLiteral(" %1%").arg(progress_->value() / 10) : QString()) +
           (etaLabel_->text().isEmpty() ? QString() : QStringLiteral(" · ") + etaLabel_->text());
}

void MainWindow::showView(View view) { views_->setCurrentIndex(int(view)); }

void MainWindow::message(const QString& text, int level) {
    log_->append(level, text);
    statusBar()->showMessage(text, 8000);
}

void MainWindow::showProblem(const QString& title, const QString& text) {
    message(title + ": " + text, 3);
    if (!interactive_) return;
    auto* box = new QMessageBox(QMessageBox::Warning, title, text, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();  // window-modal but not a nested event loop: the job keeps being drained
}

// ------------------------------------------------------------------------------------ files

bool MainWindow::maybeSave() {
    stages_->commitEdits();
    if (!project_->isModified() || !interactive_) return true;
    const auto answer = QMessageBox::question(this, tr("Unsaved changes"),
                                              tr("Save the changes to “%1”?").arg(project_->displayName()),
                                              QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Save);
    if (answer == QMessageBox::Save) return save();
    return answer == QMessageBox::Discard;
}

void MainWindow::newProject() {
    if (controller_->isRunning()) {
        showProblem(tr("A job is running"), tr("Cancel the running job before starting a new project."));
        return;
    }
    if (!maybeSave()) return;
    project_->clear();
    message(tr("New project"));
}

void MainWindow::openProjectDialog() {
    if (!maybeSave()) return;
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Project"), lastDirectory("project"), projectFilter());
    if (!path.isEmpty()) openProject(path);
}

bool MainWindow::openProject(const QString& path) {
    if (controller_->isRunning()) {
        showProblem(tr("A job is running"), tr("Cancel the running job before opening another project."));
        return false;
    }
    QString error;
    if (!project_->load(path, &error)) {
        showProblem(tr("Cannot open project"), error);
        RecentProjects(*settings_).remove(path);
        updateRecentMenu();
        return false;
    }
    RecentProjects(*settings_).add(path);
    setLastDirectory("project", path);
    updateRecentMenu();
    QStringList missing;
    for (const SourceModel& s : project_->sources())
        if (!QFileInfo::exists(s.path)) missing << s.path;
    message(tr("Opened %1").arg(QFileInfo(path).fileName()));
    if (!missing.isEmpty())
        showProblem(tr("Missing generator files"), tr("These files of the project were not found:\n%1").arg(missing.join('\n')));
    return true;
}

bool MainWindow::save() {
    if (project_->filePath().isEmpty()) return saveAs();
    return saveProjectTo(project_->filePath());
}

bool MainWindow::saveAs() {
    QString path = QFileDialog::getSaveFileName(this, tr("Save Project"),
                                                lastDirectory("project") + "/" + project_->displayName() + "." + Project::kSuffix,
                                                projectFilter());
    if (path.isEmpty()) return false;
    if (QFileInfo(path).suffix().isEmpty()) path += QStringLiteral(".") + Project::kSuffix;
    return saveProjectTo(path);
}

bool MainWindow::saveProjectTo(const QString& path) {
    stages_->commitEdits();  // what is in the editor now, even if typed a moment ago
    QString error;
    if (!project_->save(path, &error)) {
        showProblem(tr("Cannot save"), error);
        return false;
    }
    RecentProjects(*settings_).add(path);
    setLastDirectory("project", path);
    updateRecentMenu();
    message(tr("Saved %1").arg(path));
    return true;
}

void MainWindow::addGeneratorsDialog() {
    const QStringList files = QFileDialog::getOpenFileNames(this, tr("Add Generators"), lastDirectory("models"), modelFileDialogFilter());
    if (files.isEmpty()) return;
    setLastDirectory("models", files.first());
    addGeneratorFiles(files);
}

void MainWindow::addBlackBoxDialog() {
    const QStringList files = QFileDialog::getOpenFileNames(this, tr("Add TorchScript Black Boxes"), lastDirectory("models"),
                                                            tr("TorchScript (*.pt *.pth *.zip);;All files (*)"));
    if (files.isEmpty()) return;
    setLastDirectory("models", files.first());
    bool ok = false;
    const int latent = QInputDialog::getInt(this, tr("Latent size"),
                                            tr("Latent size of these generators\n(0: read each module's latent_dim attribute):"),
                                            0, 0, 65536, 1, &ok);
    if (!ok) return;
    const QStringList rejected = addBlackBoxFiles(files, latent);
    if (!rejected.isEmpty()) showProblem(tr("Some files were not added"), rejected.join('\n'));
}

QStringList MainWindow::addBlackBoxFiles(const QStringList& files, int latentDim) {
    QStringList accepted, rejected;
    QSet<QString> present;
    for (const SourceModel& s : project_->sources()) present.insert(QDir::cleanPath(QFileInfo(s.path).absoluteFilePath()));
    for (const QString& f : files) {
        const QString absolute = QDir::cleanPath(QFileInfo(f).absoluteFilePath());
        SourceModel candidate;
        candidate.path = absolute;
        candidate.blackBox = true;
        const ModelFileInfo info = sourceFileInfo(candidate, modelFiles_);
        if (present.contains(absolute))
            rejected << tr("%1: already in the project").arg(QFileInfo(f).fileName());
        else if (!info.usable())
            rejected << info.error;
        else {
            accepted << absolute;
            present.insert(absolute);
        }
    }
    if (!accepted.isEmpty()) {
        project_->addBlackBoxSources(accepted, latentDim);
        message(tr("Added %n black-box source(s); their code runs in a worker process when a stage samples them", nullptr,
                   int(accepted.size())));
    }
    return rejected;
}

QStringList MainWindow::addGeneratorFiles(const QStringList& files, bool report) {
    QStringList accepted, rejected;
    QMap<QString, QString> torchScripts;  // TorchScript archives that are not Coalesce networks (black-box candidates) -> why
    QMap<QString, QString> present;  // absolute path -> source name
    for (const SourceModel& s : project_->sources()) present.insert(QDir::cleanPath(QFileInfo(s.path).absoluteFilePath()), s.name);
    for (const QString& f : files) {
        const QString absolute = QDir::cleanPath(QFileInfo(f).absoluteFilePath());
        if (present.contains(absolute)) {
            rejected << tr("%1: already in the project as “%2”").arg(QFileInfo(f).fileName(), present.value(absolute));
            continue;
        }
        const ModelFileInfo info = inspectModelFile(f);
        if (info.usable()) {
            accepted << f;
            present.insert(absolute, QFileInfo(f).fileName());
        } else if (report && info.format == ModelFileInfo::Format::TorchArchive) {
            torchScripts.insert(f, info.error);
        } else {
            rejected << info.error;
        }
    }
    if (!torchScripts.isEmpty()) {
        QStringList names;
        for (const QString& f : torchScripts.keys()) names << QFileInfo(f).fileName();
        const auto answer = QMessageBox::question(
            this, tr("Add as black-box sources?"),
            tr("%1 cannot be read as Coalesce networks, but may be TorchScript generators of another architecture. Add "
               "them as black-box sources? They are only sampled, never trained, and their code runs (in a separate "
               "worker process) whenever a stage samples them: add only files you trust.").arg(names.join(", ")),
            QMessageBox::Yes | QMessageBox::No, QMessageBox::No);
        rejected << (answer == QMessageBox::Yes ? addBlackBoxFiles(torchScripts.keys(), 0) : torchScripts.values());
    }
    if (!accepted.isEmpty()) {
        project_->addSources(accepted);
        message(tr("Added %n generator(s)", nullptr, int(accepted.size())));
    }
    if (report && !rejected.isEmpty()) showProblem(tr("Some files were not added"), rejected.join('\n'));
    return rejected;
}

void MainWindow::openRunDialog() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open Run Directory"), lastDirectory("runs"));
    if (dir.isEmpty()) return;
    setLastDirectory("runs", dir);
    openRunDirectory(dir);
}

int MainWindow::openRunDirectory(const QString& dir) {
    if (const int existing = runs_->findByDir(QFileInfo(dir).absoluteFilePath()); existing >= 0) {
        message(tr("%1 is already open").arg(dir));
        return existing;
    }
    RunDirectoryContents contents;
    QString error;
    const int id = loadRunDirectory(dir, *runs_, &contents, &error);
    if (id < 0) {
        showProblem(tr("Cannot open run"), error);
        return -1;
    }
    pointSampler_->sampleRun(id);
    // The project remembers opened runs (reopening the project shows them again).
    if (const RunData* r = runs_->run(id)) {
        const QString runDir = QFileInfo(r->dir).absoluteFilePath();
        project_->addRun({r->kind, runDir, r->label, recordedRunStatus(runDir), QFileInfo(runDir + "/config.json").lastModified()});
    }
    message(tr("Opened run %1: %2 metric values, %3 grids%4")
                .arg(QFileInfo(dir).fileName())
                .arg(contents.metricRows)
                .arg(contents.images)
                .arg(contents.skippedRows ? tr(", %1 malformed metric lines skipped").arg(contents.skippedRows) : QString()));
    return id;
}

void MainWindow::openPaths(const QStringList& paths) {
    QStringList models, problems;
    for (const QString& path : paths) {
        const QFileInfo fi(path);
        if (!fi.exists()) {
            problems << tr("%1: does not exist").arg(path);
        } else if (fi.isDir()) {
            if (isRunDirectory(path)) {
                openRunDirectory(path);
                continue;
            }
            // A folder: the generator files in it (and one level below), else use it as local data.
            QStringList found;
            QDirIterator it(path, QDir::Files, QDirIterator::Subdirectories);
            while (it.hasNext()) {
                const QString f = it.next();
                if (looksLikeModelFile(f) && QDir(path).relativeFilePath(f).count('/') <= 1) found << f;
            }
            if (!found.isEmpty()) {
                found.sort();
                models += found;
            } else if (!QDir(path).entryList({"*.png", "*.jpg", "*.jpeg", "*.bmp"}, QDir::Files).isEmpty() ||
                       !QDir(path).entryList(QDir::Dirs | QDir::NoDotAndDotDot).isEmpty()) {
                LocalDataSettings local = project_->localData();
                local.spec = "folder:" + fi.absoluteFilePath();
                project_->setLocalData(local);
                message(tr("Local data: %1").arg(local.spec));
            } else {
                problems << tr("%1: no generator files, run or images in this folder").arg(path);
            }
        } else if (fi.fileName().endsWith(QStringLiteral(".") + Project::kSuffix)) {
            if (maybeSave()) openProject(path);
        } else if (looksLikeModelFile(path)) {
            models << path;
        } else {
            problems << tr("%1: not a generator file, project or run directory (expected .coalesce, .ctern, .safetensors, .pt, "
                           ".%2 or a folder)").arg(fi.fileName(), Project::kSuffix);
        }
    }
    if (!models.isEmpty()) problems += addGeneratorFiles(models, /*report=*/false);
    if (!problems.isEmpty()) showProblem(tr("Some items were not opened"), problems.join('\n'));
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls()) {
        for (const QUrl& u : event->mimeData()->urls())
            if (u.isLocalFile()) {
                event->acceptProposedAction();
                return;
            }
    }
}

void MainWindow::dropEvent(QDropEvent* event) {
    QStringList paths;
    for (const QUrl& u : event->mimeData()->urls())
        if (u.isLocalFile()) paths << u.toLocalFile();
    event->acceptProposedAction();
    // Deferred: a modal message during a drop would block the drag source.
    QMetaObject::invokeMethod(this, [this, paths] { openPaths(paths); }, Qt::QueuedConnection);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (controller_->isRunning() && interactive_) {
        const auto answer = QMessageBox::question(this, tr("A job is running"),
                                                  tr("“%1” is still running. Cancel it and quit? Its last checkpoint is kept.")
                                                      .arg(controller_->runner()->title()),
                                                  QMessageBox::Yes | QMessageBox::No, QMessageBox::No);
        if (answer != QMessageBox::Yes) {
            event->ignore();
            return;
        }
    }
    if (!maybeSave()) {
        event->ignore();
        return;
    }
    writeSettings();
    controller_->cancel();  // the runner's destructor waits for the job
    event->accept();
}

// ------------------------------------------------------------------------------------ exports

void MainWindow::exportSampleGrid() {
    if (samples_->currentImage().isNull()) {
        showProblem(tr("Nothing to export"), tr("There is no sample grid to export yet."));
        return;
    }
    const QString name = QStringLiteral("%1/samples_step_%2.png").arg(lastDirectory("export")).arg(samples_->currentStep(), 6, 10, QLatin1Char('0'));
    const QString path = QFileDialog::getSaveFileName(this, tr("Export Sample Grid"), name, tr("PNG images (*.png)"));
    if (path.isEmpty()) return;
    setLastDirectory("export", path);
    QString error;
    if (!samples_->exportPng(path, &error))
        showProblem(tr("Export failed"), error);
    else
        message(tr("Saved %1").arg(path));
}

void MainWindow::exportGeneratorOfSelectedRun() {
    int id = runsPanel_->selectedRun();
    if (id < 0) id = samples_->runId();
    const RunData* run = runs_->run(id);
    const QString source = run ? run->dir + "/generator.coalesce" : QString();
    if (!run || !QFileInfo::exists(source)) {
        showProblem(tr("Nothing to export"),
                    run ? tr("%1 has no generator file yet (runs write %2 when they finish).").arg(run->label, "generator.coalesce")
                        : tr("Select a finished run in the Runs panel first."));
        return;
    }
    QString filter;
    const QString target = QFileDialog::getSaveFileName(this, tr("Export Generator"),
                                                        lastDirectory("export") + "/" + QFileInfo(run->dir).fileName() + ".safetensors",
                                                        modelExportFilter(), &filter);
    if (target.isEmpty()) return;
    setLastDirectory("export", target);
    const ModelExportFormat format = modelExportFormatForFilter(filter, target);
    auto* watcher = new QFutureWatcher<QString>(this);
    connect(watcher, &QFutureWatcher<QString>::finished, this, [this, watcher, target] {
        const QString error = watcher->result();
        watcher->deleteLater();
        if (error.isEmpty())
            message(tr("Saved %1").arg(target));
        else
            showProblem(tr("Export failed"), error);
    });
    watcher->setFuture(QtConcurrent::run([source, target, format] { return exportGenerator(source, target, format); }));
}

void MainWindow::exportCurves(const QString& format) {
    const QString filter = format == "csv" ? tr("CSV files (*.csv)") : format == "png" ? tr("PNG images (*.png)") : tr("PDF documents (*.pdf)");
    const QString path = QFileDialog::getSaveFileName(this, tr("Export Curves"), lastDirectory("export") + "/curves." + format, filter);
    if (path.isEmpty()) return;
    setLastDirectory("export", path);
    QString error;
    const bool ok = format == "csv" ? curves_->exportCsv(path, &error) : format == "png" ? curves_->exportPng(path, &error) : curves_->exportPdf(path, &error);
    if (!ok)
        showProblem(tr("Export failed"), error);
    else
        message(tr("Saved %1").arg(path));
}

// ------------------------------------------------------------------------------------ jobs

bool MainWindow::startStage(const QString& kind, QJsonObject config, const QString& resumeDir, QString* error) {
    localData_->commitEdits();  // a spec still being typed is what the user means to run on
    const QString why = controller_->start(kind, std::move(config), resumeDir);
    if (why.isEmpty()) return true;
    if (error) *error = why;
    showProblem(tr("Cannot start %1").arg(kind), why);
    return false;
}

void MainWindow::onJobStarted(const QString& kind, const QString& runDir, bool resumed) {
    jobLabel_->setText(tr("Running %1").arg(kind));
    progress_->setValue(0);
    progress_->setVisible(true);
    etaLabel_->clear();
    message(tr("%1 %2 → %3").arg(resumed ? tr("Resuming") : tr("Started"), kind, runDir));
    updateRunActions();
}

void MainWindow::onJobProgress(const JobProgress& p) {
    if (controller_->runner()->isPaused()) return;  // the pause label stands until the job continues
    QString eta;
    if (p.total > 0) {
        progress_->setRange(0, 1000);
        progress_->setValue(int(1000 * p.fraction()));
        eta = tr("%1 / %2").arg(p.done).arg(p.total);
    } else {
        progress_->setRange(0, 0);  // busy indicator
    }
    // "Running barycenter · <phase>" (the phase only when it says more than the kind); the run
    // directory is in the tooltip.
    const QString kind = controller_->activeKind();
    const QString phase = p.phase.isEmpty() || p.phase == kind ? QString() : p.phase;
    jobLabel_->setText(phase.isEmpty() ? tr("Running %1").arg(kind) : tr("Running %1 · %2").arg(kind, phase));
    jobLabel_->setToolTip(controller_->runner()->title());
    if (p.etaSeconds >= 0) eta += (eta.isEmpty() ? QString() : QStringLiteral(" · ")) + tr("%1 left").arg(formatDuration(p.etaSeconds));
    if (p.ratePerSecond > 0) eta += (eta.isEmpty() ? QString() : QStringLiteral(" · ")) + tr("%1 it/s").arg(p.ratePerSecond, 0, 'f', 1);
    etaLabel_->setText(eta);
}

void MainWindow::onJobFinished(const JobOutcome& outcome, const QString& kind, const QString& runDir, bool resumable) {
    progress_->setVisible(false);
    etaLabel_->clear();
    jobLabel_->setText(tr("%1 %2 in %3").arg(kind, statusName(outcome.status), formatDuration(outcome.seconds)));
    switch (outcome.status) {
        case JobOutcome::Status::Finished:
            message(tr("%1 finished: %2").arg(kind, outcome.message.isEmpty() ? runDir : outcome.message));
            break;
        case JobOutcome::Status::Cancelled:
            message(tr("%1 cancelled%2").arg(kind, resumable ? tr(" (resumable from its checkpoint)") : QString()), 2);
            break;
        case JobOutcome::Status::Failed:
            showProblem(tr("%1 failed").arg(kind), outcome.message);
            break;
    }
    updateRunActions();
    Q_EMIT jobFinished(outcome);
}

void MainWindow::estimateRadii(const QString& space) {
    QStringList ids;
    QJsonArray sources;
    for (const SourceModel& s : project_->sources())
        if (s.enabled) {
            ids << s.id;
            sources.append(sourceConfigEntry(s));
        }
    const LocalDataSettings local = project_->localData();
    if (sources.isEmpty()) return showProblem(tr("Cannot estimate η"), tr("add generators (and enable them) first"));
    if (local.spec.isEmpty()) return showProblem(tr("Cannot estimate η"), tr("choose the local data first (Local data dock)"));
    sourcesPanel_->setEstimatingRadii(true);
    message(tr("Estimating η of %n generator(s) from %1 local samples…", nullptr, int(sources.size())).arg(local.count));
    auto* watcher = new QFutureWatcher<RadiusEstimation>(this);
    connect(watcher, &QFutureWatcher<RadiusEstimation>::finished, this, [this, watcher, ids] {
        const RadiusEstimation e = watcher->result();
        watcher->deleteLater();
        sourcesPanel_->setEstimatingRadii(false);
        Q_EMIT radiiEstimated(e.error);
        if (!e.error.isEmpty()) return showProblem(tr("Cannot estimate η"), e.error);
        QMap<QString, double> radii;
        for (int k = 0; k < ids.size() && k < e.eta.size(); ++k)
            if (project_->source(ids[k])) radii.insert(ids[k], e.eta[k]);
        project_->setRadii(radii, tr("η from local data"));
        const SourceModel* nearest = e.nearest >= 0 && e.nearest < ids.size() ? project_->source(ids[e.nearest]) : nullptr;
        // The check also chooses joint or mixture, as an experiment's "mode": "auto" does (an undoable
        // step of its own); a recursive merge is the user's explicit choice and stays.
        // The mixture needs fixed weights and generator files (one critic, no per-source radius or worker).
        bool mixturePossible = project_->weightMode() == WeightMode::Fixed;
        for (const QString& id : ids)
            if (const SourceModel* s = project_->source(id); s && s->blackBox) mixturePossible = false;
        QString chosen, note;
        if (nearest && project_->combineMode() != CombineMode::Recursive) {
            if (e.suggestsMixture && !mixturePossible) {
                note = tr("(The mixture of the sources would suit this; it needs fixed weights and generator files, "
                          "so the combination was left as it is.)");
            } else {
                const CombineMode mode = e.suggestsMixture ? CombineMode::Mixture : CombineMode::Joint;
                if (mode != project_->combineMode()) chosen = combineModeName(mode);
                project_->setCombineMode(mode);
            }
        }
        sourcesPanel_->setCoverage(nearest ? e.regime : QString(), e.blendEta, e.nearestEta, nearest ? nearest->name : QString(),
                                   chosen, note);
        for (const QString& line : e.log) message(line);
    });
    watcher->setFuture(QtConcurrent::run([sources, local, space] {
        return estimateRadiiFromLocalData(sources, local.spec, local.count, local.seed, space);
    }));
}

void MainWindow::requestLocalPreview(const QString& spec, int count, qint64 seed) {
    auto* watcher = new QFutureWatcher<EngineSamples>(this);
    connect(watcher, &QFutureWatcher<EngineSamples>::finished, this, [this, watcher, spec, count, seed] {
        const EngineSamples s = watcher->result();
        watcher->deleteLater();
        controller_->setLocalDataLoad({LocalDataSettings{spec, count, seed}, s.error});
        if (!s.error.isEmpty()) {
            localData_->setPreviewError(s.error);
            return;
        }
        localData_->setPreview(s.grid, s.description);
    });
    watcher->setFuture(QtConcurrent::run([spec, count, seed] { return previewLocalData(spec, count, seed); }));
}
