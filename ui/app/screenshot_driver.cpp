#include "app/screenshot_driver.h"

#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QTimer>
#include <algorithm>
#include <cstdio>

#include "app/about_dialog.h"
#include "app/main_window.h"
#include "app/point_sampler.h"
#include "app/stall_monitor.h"
#include "bridge/job_runner.h"
#include "panels/local_data_panel.h"
#include "panels/stage_panel.h"
#include "plots/curves_panel.h"
#include "plots/metric_chart.h"
#include "project/stage_configs.h"
#include "runs/run_store.h"

ScreenshotDriver::ScreenshotDriver(MainWindow* window, Options options, QObject* parent)
    : QObject(parent), window_(window), options_(std::move(options)), stall_(new StallMonitor(5, this)) {}

void ScreenshotDriver::settle(int ms) {
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < ms) QApplication::processEvents(QEventLoop::AllEvents, 20);
}

bool ScreenshotDriver::grab(const QString& name, QWidget* widget) {
    if (options_.outputDir.isEmpty()) return true;
    window_->curves()->flush();
    settle(150);
    const QString path = QDir(options_.outputDir).filePath(name + ".png");
    const bool ok = widget->grab().save(path);
    std::printf("[screenshot] %s %s\n", ok ? "saved" : "FAILED", qPrintable(path));
    std::fflush(stdout);
    if (!ok) exitCode_ = 1;
    return ok;
}

void ScreenshotDriver::start() {
    window_->setInteractive(false);  // nothing modal may block a scripted session
    if (!options_.outputDir.isEmpty()) QDir().mkpath(options_.outputDir);
    settle(200);
    if (options_.stageConfig.isEmpty()) {
        captureAll();
        return;
    }
    const QString kind = options_.stageConfig.value("kind").toString();
    // The stage's config as the Stages dock would build it from the open project (sources, radii,
    // local data, ...), overridden by whatever the --run file sets.
    QJsonObject config = effectiveStageConfig(kind, *window_->project());
    for (auto it = options_.stageConfig.begin(); it != options_.stageConfig.end(); ++it) config[it.key()] = it.value();
    options_.stageConfig = config;
    connect(window_, &MainWindow::jobFinished, this, &ScreenshotDriver::onJobFinished);
    // One grab mid-run shows the status bar with progress and ETA.
    connect(window_->runner(), &JobRunner::progressChanged, this, [this](const JobProgress& p) {
        if (midRunShot_ || p.total <= 0 || p.fraction() < 0.5) return;
        midRunShot_ = true;
        QTimer::singleShot(0, this, [this] {
            stall_->setAttributionPaused(true);
            grab("running", window_);
            stall_->setAttributionPaused(false);  // the grab itself blocks the GUI thread; it is not a stall
        });
    });
    QString error;
    window_->stagePanel()->selectKind(kind);
    // Show the config that runs in the Stages dock (as if the user had typed it).
    window_->stagePanel()->setConfigText(QString::fromUtf8(QJsonDocument(options_.stageConfig).toJson(QJsonDocument::Indented)));
    // The stall is measured from Start on, on a settled window, as a user would press it: the two form
    // rebuilds above (another stage kind, then the typed config's fields: ~130 widgets created, the old
    // ones deleted later) are ~15 ms of GUI work that would otherwise land in the first gap.
    settle(200);
    if (options_.measureStall) stall_->start();
    const bool started = window_->startStage(kind, options_.stageConfig, QString(), &error);
    jobRunId_ = window_->activeRunId();
    if (!started) {
        std::fprintf(stderr, "[screenshot] cannot start %s: %s\n", qPrintable(kind), qPrintable(error));
        exitCode_ = 2;
        captureAll();
        return;
    }
    QTimer::singleShot(options_.timeoutSeconds * 1000, this, [this] {
        if (!window_->runner()->isRunning()) return;
        std::fprintf(stderr, "[screenshot] the job did not finish within %d s; cancelling\n", options_.timeoutSeconds);
        exitCode_ = 3;
        window_->runner()->cancel();
    });
}

void ScreenshotDriver::onJobFinished() {
    if (stall_->running()) {
        stall_->stop();
        std::printf("[stall] GUI heartbeat every %d ms during the job: longest gap %.1f ms (GUI-thread CPU in it %.1f ms), "
                    "99th percentile %.1f ms, %d of %d beats over 50 ms; longest GUI-thread busy span %.1f ms CPU; "
                    "GUI thread CPU %.0f ms in %.1f s (%.1f%% of a core)\n",
                    stall_->intervalMs(), stall_->maxGapMs(), stall_->maxGapCpuMs(), stall_->percentileGapMs(0.99),
                    stall_->gapsOver(50), stall_->samples(), stall_->maxBusyMs(), stall_->cpuMs(), stall_->wallMs() / 1000,
                    100 * stall_->cpuMs() / std::max(1.0, stall_->wallMs()));
        std::printf("[stall] worst in the longest gap: %s; longest single handlers (CPU): %s\n",
                    qPrintable(stall_->maxGapCulprit().isEmpty() ? QString("(no event)") : stall_->maxGapCulprit()),
                    qPrintable(stall_->culprits(6)));
        std::printf("[stall] the longest gap's GUI CPU by kind: %s\n", qPrintable(stall_->maxGapBreakdown(6)));
        const CurvesPanel::ReplotStats r = window_->curves()->stats();
        std::printf("[replot] %d flushes, %d chart replots (%d deferred off-screen), longest flush %.1f ms wall / %.1f ms CPU\n",
                    r.flushes, r.replots, r.deferredReplots, r.maxFlushMs, r.maxFlushCpuMs);
        std::fflush(stdout);
    }
    QTimer::singleShot(300, this, &ScreenshotDriver::captureAll);
}

void ScreenshotDriver::captureAll() {
    // The toy view's points are sampled from checkpoints in the background: let that finish.
    QElapsedTimer wait;
    wait.start();
    while (!window_->pointSampler()->idle() && wait.elapsed() < 60000) settle(50);
    // The job's run alone in the Curves view (as a user would untick the other runs in the Runs dock):
    // sources' pretraining curves share its charts and would squash its scale. "running" shows them overlaid.
    const auto grabCurves = [this](const QString& name) {
        RunStore* store = window_->runs();
        QVector<int> hidden;
        if (store->run(jobRunId_))
            for (int id : store->ids())
                if (id != jobRunId_ && store->run(id)->visible) {
                    store->setVisible(id, false);
                    hidden << id;
                }
        window_->showView(MainWindow::View::Curves);
        for (MetricChart* c : window_->curves()->charts()) c->fitToData();
        grab(name, window_);
        for (int id : hidden) store->setVisible(id, true);
    };
    grabCurves("curves");
    window_->showView(MainWindow::View::Samples);
    grab("samples", window_);
    window_->showView(MainWindow::View::Compare);
    grab("compare", window_);
    window_->showView(MainWindow::View::Scatter);
    grab("toy2d", window_);
    window_->showView(MainWindow::View::Results);
    grab("results", window_);
    if (QDockWidget* d = window_->dock("sourcesDock")) {
        d->raise();
        grab("sources", d);
    }
    if (QDockWidget* d = window_->dock("stagesDock")) {
        d->raise();
        // The Adapt stage's form: the input generator picker, the anchor and the critic warm start.
        const QString shownKind = window_->stagePanel()->currentKind();
        window_->stagePanel()->selectKind(QStringLiteral("adapt"));
        settle(50);
        grab("stages", d);
        window_->stagePanel()->selectKind(shownKind);
    }
    if (QDockWidget* d = window_->dock("localDataDock")) {
        d->raise();
        // The panel loads its preview by itself once shown: wait for it.
        QElapsedTimer loading;
        loading.start();
        settle(50);
        while (window_->localDataPanel()->previewPending() && loading.elapsed() < 30000) settle(50);
        grab("local-data", d);
        if (QDockWidget* s = window_->dock("sourcesDock")) s->raise();
    }
    const Theme previous = window_->theme();
    window_->setTheme(Theme::Dark);
    grabCurves("curves-dark");
    window_->showView(MainWindow::View::Samples);
    grab("samples-dark", window_);
    window_->setTheme(previous == Theme::Dark ? Theme::Light : previous);
    window_->showView(MainWindow::View::Curves);
    {
        AboutDialog about(window_);
        about.show();
        settle(100);
        grab("about", &about);
    }
    Q_EMIT done(exitCode_);
}
