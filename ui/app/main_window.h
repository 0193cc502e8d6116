// The workbench window. Central views (tabs): Curves, Samples, Compare, Toy 2-D. Docks: Sources,
// Local data, Stages, Runs, Log (layout remembered in QSettings). One JobRunner runs one stage at a
// time on a worker thread; its batched events feed the RunStore, which every view observes.
#pragma once
#include <QJsonObject>
#include <QMainWindow>
#include <QMap>

#include "app/theme.h"
#include "bridge/job_catalog.h"
#include "bridge/job_event.h"
#include "project/stage_readiness.h"

class ComparePreview;
class CurvesPanel;
class JobRunner;
class LocalDataPanel;
class LogPanel;
class PointSampler;
class Project;
class QAction;
class QActionGroup;
class QDockWidget;
class QLabel;
class QMenu;
class QProgressBar;
class QSettings;
class QTabWidget;
class RunStore;
class RunsPanel;
class SamplePreview;
class ResultsView;
class ScatterView;
class SourcesPanel;
class StageController;
class StagePanel;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    enum class View { Curves = 0, Samples, Compare, Scatter, Results };

    // settings: where window state, theme and recent files live (tests pass a scratch file).
    explicit MainWindow(JobCatalog catalog = JobCatalog::engine(), QSettings* settings = nullptr, QWidget* parent = nullptr);
    ~MainWindow() override;

    Project* project() const { return project_; }
    RunStore* runs() const { return runs_; }
    JobRunner* runner() const;
    StageController* stageController() const { return controller_; }
    CurvesPanel* curves() const { return curves_; }
    SamplePreview* samples() const { return samples_; }
    ComparePreview* compare() const { return compare_; }
    ScatterView* scatter() const { return scatter_; }
    ResultsView* results() const { return results_; }
    SourcesPanel* sourcesPanel() const { return sourcesPanel_; }
    LocalDataPanel* localDataPanel() const { return localData_; }
    StagePanel* stagePanel() const { return stages_; }
    RunsPanel* runsPanel() const { return runsPanel_; }
    LogPanel* logPanel() const { return log_; }
    PointSampler* pointSampler() const { return pointSampler_; }
    QTabWidget* views() const { return views_; }
    QDockWidget* dock(const QString& objectName) const;
    QString statusJobText() const;
    int activeRunId() const;

    void showView(View view);
    // Interactive (default): problems pop up a message box. Off (screenshots, tests): they are only
    // logged and shown in the status bar, so nothing blocks.
    void setInteractive(bool interactive) { interactive_ = interactive; }

    bool openProject(const QString& path);
    bool saveProjectTo(const QString& path);
    // Starts a stage with the given config (StageController::start); false + *error if it cannot
    // start; the reason is also shown to the user.
    bool startStage(const QString& kind, QJsonObject config, const QString& resumeDir = QString(), QString* error = nullptr);
    // Drag-and-drop and command-line files: projects, generator files, run directories, data folders.
    void openPaths(const QStringList& paths);
    // Adds the usable generator files; returns the others as "file: reason" (and shows them if report).
    QStringList addGeneratorFiles(const QStringList& files, bool report = true);
    // TorchScript files of any architecture as black-box sources (run by the engine's worker process,
    // never in this one); returns the refused files' reasons.
    QStringList addBlackBoxFiles(const QStringList& files, int latentDim);
    int openRunDirectory(const QString& dir);  // -1 on error (reported)

    void setTheme(Theme theme);
    Theme theme() const { return theme_; }
    void resetLayout();

Q_SIGNALS:
    void jobFinished(const JobOutcome& outcome);
    void radiiEstimated(const QString& error);  // "η from local data" finished ("" = the radii were set)

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    void createActions();
    void createMenus();
    void createToolBar();
    void createDocks();
    void createStatusBar();
    void connectProject();
    void readSettings();
    void writeSettings();
    void updateTitle();
    void updateRunActions();
    void updateRecentMenu();
    void refreshIcons();
    bool maybeSave();
    bool save();
    bool saveAs();
    void newProject();
    void openProjectDialog();
    void addGeneratorsDialog();
    void addBlackBoxDialog();
    void openRunDialog();
    void exportSampleGrid();
    void exportCurves(const QString& format);
    void exportGeneratorOfSelectedRun();
    void onJobProgress(const JobProgress& progress);
    void onJobStarted(const QString& kind, const QString& runDir, bool resumed);
    void onJobFinished(const JobOutcome& outcome, const QString& kind, const QString& runDir, bool resumable);
    void requestLocalPreview(const QString& spec, int count, qint64 seed);
    void estimateRadii(const QString& space);  // "η from local data" (Sources dock), off the GUI thread
    void showProblem(const QString& title, const QString& text);
    void message(const QString& text, int level = 1);
    QString lastDirectory(const QString& key) const;
    void setLastDirectory(const QString& key, const QString& path);

    JobCatalog catalog_;
    QSettings* settings_;
    bool ownsSettings_ = false;
    Project* project_;
    RunStore* runs_;
    ModelFileCache modelFiles_;  // generator-file inspections, shared by the Sources dock and the stage checks
    StageController* controller_;
    PointSampler* pointSampler_;
    QTabWidget* views_ = nullptr;
    CurvesPanel* curves_ = nullptr;
    SamplePreview* samples_ = nullptr;
    ComparePreview* compare_ = nullptr;
    ScatterView* scatter_ = nullptr;
    ResultsView* results_ = nullptr;
    SourcesPanel* sourcesPanel_ = nullptr;
    LocalDataPanel* localData_ = nullptr;
    StagePanel* stages_ = nullptr;
    RunsPanel* runsPanel_ = nullptr;
    LogPanel* log_ = nullptr;
    QList<QDockWidget*> docks_;
    QLabel* jobLabel_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* etaLabel_ = nullptr;
    QMenu* recentMenu_ = nullptr;
    QMenu* viewMenu_ = nullptr;
    QMap<QString, QAction*> actions_;
    QActionGroup* themeGroup_ = nullptr;
    QByteArray defaultState_;
    Theme theme_ = Theme::System;
    bool interactive_ = true;
};
