// The real window driven with QTest: set a radius by dragging its slider (one undo step, λ live),
// type a radius, start a (fake) job from the Stages dock and cancel it, click a legend entry, bad
// input (wrong files, broken project) gives messages and no crash, the dock layout is remembered,
// and the GUI thread's longest stall while a job streams events is measured.
#include <ctime>

#include "support/test_main.h"  // Qt Test, and the suite registration

#include <QTreeWidget>

#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSlider>
#include <QStatusBar>
#include <QUndoStack>

#include "app/main_window.h"
#include "app/stall_monitor.h"
#include "bridge/job_runner.h"
#include "panels/log_panel.h"
#include "panels/radius_slider.h"
#include "panels/runs_panel.h"
#include "panels/sources_panel.h"
#include "panels/stage_panel.h"
#include "plots/curves_panel.h"
#include "plots/metric_chart.h"
#include "previews/sample_preview.h"
#include "project/project.h"
#include "runs/run_store.h"
#include "ui_test_helpers.h"

namespace {

struct Window {
    QString dir;
    std::unique_ptr<QSettings> settings;
    std::unique_ptr<MainWindow> window;
    explicit Window(const char* name, const QString& settingsFile = QString()) {
        dir = uitest::scratch(name);
        settings = std::make_unique<QSettings>(settingsFile.isEmpty() ? dir + "/settings.ini" : settingsFile, QSettings::IniFormat);
        window = std::make_unique<MainWindow>(uitest::fakeCatalog(), settings.get());
        window->setInteractive(false);  // problems go to the log, no modal boxes
        window->resize(1300, 850);
        window->show();
    }
    ~Window() {
        if (window->runner()->isRunning()) {
            window->runner()->cancel();
            QTRY_VERIFY_WITH_TIMEOUT(!window->runner()->isRunning(), 10000);
        }
    }
    MainWindow* operator->() const { return window.get(); }
};

QStringList makeModels(const QString& dir, int count) {
    QStringList paths;
    for (int i = 0; i < count; ++i) {
        const QString p = QStringLiteral("%1/models/source%2.coalesce").arg(dir).arg(i);
        uitest::writeFile(p, uitest::generatorFileBytes(uitest::dcganArch(), QJsonObject{{"step", 1000 * (i + 1)}}));
        paths << p;
    }
    return paths;
}

QPoint handleCenter(QSlider* slider) {
    QStyleOptionSlider opt;
    opt.initFrom(slider);
    opt.orientation = slider->orientation();
    opt.minimum = slider->minimum();
    opt.maximum = slider->maximum();
    opt.sliderPosition = slider->sliderPosition();
    opt.sliderValue = slider->value();
    return slider->style()->subControlRect(QStyle::CC_Slider, &opt, QStyle::SC_SliderHandle, slider).center();
}

}  // namespace

// A receiver whose handler blocks the GUI thread for a known CPU time (the stall monitor must name it).
class SlowReceiver : public QObject {
    Q_OBJECT
public:
    double cpuMs = 30.0;  // busy time per User event
    bool event(QEvent* e) override {
        if (e->type() != QEvent::User) return QObject::event(e);
        timespec start{}, now{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
        do clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
        while ((now.tv_sec - start.tv_sec) * 1e3 + (now.tv_nsec - start.tv_nsec) / 1e6 < cpuMs);
        return true;
    }
};

class TestWidgets : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void draggingARadiusIsOneUndoStep() {
        Window w("widgets_drag");
        QVERIFY(QTest::qWaitForWindowExposed(w.window.get()));
        QVERIFY(w->addGeneratorFiles(makeModels(w.dir, 2)).isEmpty());
        QCOMPARE(w->project()->sources().size(), 2);
        QList<SourceCard*> cards = w->sourcesPanel()->cards();
        QCOMPARE(cards.size(), 2);
        QCOMPARE(cards[0]->weightText(), QString("λ = 0.500"));
        QVERIFY(cards[0]->warningText().isEmpty());
        const QString id = cards[0]->sourceId();

        QSlider* slider = cards[0]->slider();
        const int stepsBefore = w->project()->undoStack()->count();
        const double radiusBefore = w->project()->source(id)->radius;
        const QPoint start = handleCenter(slider);
        QTest::mousePress(slider, Qt::LeftButton, Qt::NoModifier, start);
        QVERIFY(slider->isSliderDown());
        QStringList liveWeights;
        for (int dx = 8; dx <= 64; dx += 8) {
            QMouseEvent move(QEvent::MouseMove, QPointF(start + QPoint(dx, 0)), slider->mapToGlobal(QPointF(start + QPoint(dx, 0))),
                             Qt::NoButton, Qt::LeftButton, Qt::NoModifier);
            QApplication::sendEvent(slider, &move);
            liveWeights << cards[0]->weightText();
        }
        QTest::mouseRelease(slider, Qt::LeftButton, Qt::NoModifier, start + QPoint(64, 0));
        const double radiusAfter = w->project()->source(id)->radius;
        QVERIFY2(radiusAfter > radiusBefore, qPrintable(QString("%1 -> %2").arg(radiusBefore).arg(radiusAfter)));
        QCOMPARE(w->project()->undoStack()->count(), stepsBefore + 1);  // the whole drag = one step
        // λ followed the drag live (larger radius = smaller weight) and matches 1/η normalisation.
        const QSet<QString> distinctWeights(liveWeights.begin(), liveWeights.end());
        QVERIFY2(distinctWeights.size() > 1, qPrintable(liveWeights.join(", ")));
        const double expected = (1 / radiusAfter) / (1 / radiusAfter + 1 / 1.0);
        QCOMPARE(cards[0]->weightText(), QString("λ = %1").arg(expected, 0, 'f', 3));
        QCOMPARE(cards[1]->weightText(), QString("λ = %1").arg(1 - expected, 0, 'f', 3));
        QCOMPARE(cards[0]->spinBox()->value(), radiusAfter);  // spin box follows the slider

        // Undo from the menu shortcut restores the radius and the weights.
        w.window->activateWindow();
        w->project()->undoStack()->undo();
        QCOMPARE(w->project()->source(id)->radius, radiusBefore);
        QCOMPARE(cards[0]->weightText(), QString("λ = 0.500"));
        QCOMPARE(slider->value(), radius_slider::toPosition(radiusBefore));

        // Typing a radius: select the spin box text, type, Enter = one more step.
        QDoubleSpinBox* spin = cards[1]->spinBox();
        spin->setFocus();
        spin->selectAll();
        QTest::keyClicks(spin, "0.25");
        QTest::keyClick(spin, Qt::Key_Return);
        QCOMPARE(w->project()->source(cards[1]->sourceId())->radius, 0.25);
        QCOMPARE(w->project()->undoStack()->count(), stepsBefore + 1);  // the undone step was replaced
        // η = 1, 0.25 -> λ = 0.2, 0.8
        QCOMPARE(cards[1]->weightText(), QString("λ = 0.800"));
        QVERIFY(w->windowTitle().contains("Untitled"));
        QVERIFY(w->isWindowModified());
    }

    void startAndCancelAJobFromTheStagesDock() {
        Window w("widgets_job");
        QVERIFY(QTest::qWaitForWindowExposed(w.window.get()));
        StagePanel* stages = w->stagePanel();
        stages->selectKind("fake");
        QCOMPARE(stages->currentKind(), QString("fake"));
        stages->setConfigText(R"({"iterations": 100000000, "metrics": 3, "image_every": 200, "sleep_us": 200})");
        QVERIFY(stages->startButton()->isEnabled());
        QVERIFY(!stages->cancelButton()->isEnabled());
        QTest::mouseClick(stages->startButton(), Qt::LeftButton);
        QVERIFY(w->runner()->isRunning());
        QVERIFY(!stages->startButton()->isEnabled());
        QVERIFY(stages->cancelButton()->isEnabled());
        const int runId = w->activeRunId();
        QVERIFY(runId > 0);
        QCOMPARE(w->runs()->run(runId)->status, QString("running"));
        // Live data reaches the views.
        QTRY_VERIFY_WITH_TIMEOUT(w->curves()->chart("loss") != nullptr, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(w->curves()->chart("w_hat") != nullptr, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(!w->samples()->currentImage().isNull(), 5000);
        QTRY_VERIFY_WITH_TIMEOUT(w->statusJobText().contains("it/s"), 5000);  // progress + rate in the status bar

        // A legend click hides a series (the real QCustomPlot click path).
        w->showView(MainWindow::View::Curves);
        MetricChart* wHat = w->curves()->chart("w_hat");
        w->curves()->flush();
        wHat->replot(QCustomPlot::rpImmediateRefresh);
        QVERIFY(wHat->legend->visible());
        QCPAbstractLegendItem* item = wHat->legend->item(0);
        QVERIFY(item);
        auto* plottableItem = qobject_cast<QCPPlottableLegendItem*>(item);
        QVERIFY(plottableItem);
        const QPoint center = item->rect().center();
        QTest::mouseClick(wHat, Qt::LeftButton, Qt::NoModifier, center);
        QVERIFY(!plottableItem->plottable()->visible());
        QTest::mouseClick(wHat, Qt::LeftButton, Qt::NoModifier, center);
        QVERIFY(plottableItem->plottable()->visible());

        // Pause from the dock, then cancel.
        QTest::mouseClick(stages->pauseButton(), Qt::LeftButton);
        QVERIFY(w->runner()->isPaused());
        QTRY_COMPARE(w->runs()->run(runId)->status, QString("paused"));
        QSignalSpy finished(w.window.get(), &MainWindow::jobFinished);
        QTest::mouseClick(stages->cancelButton(), Qt::LeftButton);
        QVERIFY(finished.wait(10000));
        QCOMPARE(finished.first().first().value<JobOutcome>().status, JobOutcome::Status::Cancelled);
        QCOMPARE(w->runs()->run(runId)->status, QString("cancelled"));
        QVERIFY(stages->startButton()->isEnabled());
        QVERIFY(!stages->pauseButton()->isEnabled());
        QVERIFY(w->project()->runs().size() == 1 && w->project()->runs()[0].status == "cancelled");
        QVERIFY(w->statusJobText().contains("cancelled"));
    }

    void aFailingJobLeavesTheProjectIntact() {
        Window w("widgets_fail");
        w->addGeneratorFiles(makeModels(w.dir, 2));
        const auto sourcesBefore = w->project()->sources();
        w->stagePanel()->selectKind("fake");
        w->stagePanel()->setConfigText(R"({"iterations": 1000, "fail_at": 20})");
        QSignalSpy finished(w.window.get(), &MainWindow::jobFinished);
        QTest::mouseClick(w->stagePanel()->startButton(), Qt::LeftButton);
        QVERIFY(finished.wait(10000));
        QCOMPARE(finished.first().first().value<JobOutcome>().status, JobOutcome::Status::Failed);
        QVERIFY(w->logPanel()->text().contains("fake failure at iteration 20"));
        QCOMPARE(w->project()->sources(), sourcesBefore);
        QVERIFY(w->stagePanel()->startButton()->isEnabled());
    }

    void badInputGivesMessagesNotCrashes() {
        Window w("widgets_bad");
        // Wrong file types, a missing path, a broken generator.
        uitest::writeFile(w.dir + "/notes.txt", "hello");
        uitest::writeFile(w.dir + "/broken.coalesce", "this is not a checkpoint at all, just text");
        w->openPaths({w.dir + "/notes.txt", w.dir + "/missing.coalesce", w.dir + "/broken.coalesce"});
        QVERIFY(w->project()->sources().isEmpty());
        const QString log = w->logPanel()->text();
        QVERIFY2(log.contains("notes.txt: not a generator file"), qPrintable(log));
        QVERIFY2(log.contains("missing.coalesce: does not exist"), qPrintable(log));
        QVERIFY2(log.contains("broken.coalesce"), qPrintable(log));

        // Mismatched architectures: added, but flagged, and a barycenter refuses to start.
        const QStringList good = makeModels(w.dir, 1);
        uitest::writeFile(w.dir + "/models/wide.coalesce", uitest::generatorFileBytes(uitest::dcganArch(64)));
        w->addGeneratorFiles({good[0], w.dir + "/models/wide.coalesce"});
        QCOMPARE(w->project()->sources().size(), 2);
        QVERIFY(w->sourcesPanel()->cards()[1]->warningText().contains("does not match"));
        QString error;
        QVERIFY(!w->startStage("barycenter", QJsonObject{}, QString(), &error));
        QVERIFY2(error.contains("does not match"), qPrintable(error));
        QVERIFY(!w->runner()->isRunning());

        // A TorchScript black box next to it: no architecture warning (the engine converts its images),
        // a card saying what it is; a non-archive and a duplicate are refused with the reason.
        w->project()->removeSource(w->project()->sources()[1].id);
        uitest::writeFile(w.dir + "/models/box.pt", QByteArray("PK\x05\x06", 4) + QByteArray(18, '\0'));
        uitest::writeFile(w.dir + "/models/script.py", "print(1)");
        const QStringList refused = w->addBlackBoxFiles({w.dir + "/models/box.pt", w.dir + "/models/script.py", good[0]}, 32);
        QCOMPARE(w->project()->sources().size(), 2);
        QVERIFY(w->project()->sources()[1].blackBox);
        QCOMPARE(refused.size(), 2);
        QVERIFY2(refused.join("\n").contains("not a TorchScript archive") && refused.join("\n").contains("already in the project"),
                 qPrintable(refused.join("\n")));
        QVERIFY(w->sourcesPanel()->cards()[1]->warningText().isEmpty());
        QVERIFY2(w->sourcesPanel()->cards()[1]->infoText().startsWith("TorchScript black box, z=32"),
                 qPrintable(w->sourcesPanel()->cards()[1]->infoText()));
        w->project()->undoStack()->undo();  // the black box goes again
        QCOMPARE(w->project()->sources().size(), 1);
        w->project()->addSources({w.dir + "/models/wide.coalesce"});

        // Too few sources.
        w->project()->removeSource(w->project()->sources()[1].id);
        QVERIFY(!w->startStage("barycenter", QJsonObject{}, QString(), &error));
        QVERIFY2(error.contains("at least two"), qPrintable(error));

        // An unknown stage kind.
        QVERIFY(!w->startStage("no-such-stage", QJsonObject{}, QString(), &error));
        QVERIFY(error.contains("no-such-stage"));

        // A broken project file: clear message, the open project stays.
        uitest::writeFile(w.dir + "/broken.coalesce-project", "{ \"format\": ");
        QVERIFY(!w->openProject(w.dir + "/broken.coalesce-project"));
        QVERIFY(w->logPanel()->text().contains("not valid JSON"));
        QCOMPARE(w->project()->sources().size(), 1);

        // Invalid JSON in the stage editor disables Start and says where.
        w->stagePanel()->selectKind("fake");
        w->stagePanel()->setConfigText("{ \"iterations\": }");
        QVERIFY(!w->stagePanel()->startButton()->isEnabled());
    }

    void droppingFoldersAndFiles() {
        Window w("widgets_drop");
        // A folder of generator files: all of them become sources.
        makeModels(w.dir, 2);
        uitest::writeFile(w.dir + "/models/readme.txt", "not a model");
        w->openPaths({w.dir + "/models"});
        QCOMPARE(w->project()->sources().size(), 2);
        QCOMPARE(w->project()->undoStack()->count(), 1);  // one drop, one undo step
        // A run directory opens as a run.
        uitest::writeFile(w.dir + "/runs/r1/config.json", R"({"kind": "pretrain"})");
        uitest::writeFile(w.dir + "/runs/r1/metrics.csv", "step,name,value\n0,loss_g,1\n1,loss_g,0.5\n");
        w->openPaths({w.dir + "/runs/r1"});
        QCOMPARE(w->runs()->ids().size(), 1);
        QCOMPARE(w->runs()->run(w->runs()->ids()[0])->kind, QString("pretrain"));
        // A folder of images becomes the local data.
        QImage img(8, 8, QImage::Format_Grayscale8);
        img.fill(128);
        QDir().mkpath(w.dir + "/local");
        QVERIFY(img.save(w.dir + "/local/a.png"));
        w->openPaths({w.dir + "/local"});
        QCOMPARE(w->project()->localData().spec, "folder:" + w.dir + "/local");
        // A project file opens the project.
        QVERIFY(w->saveProjectTo(w.dir + "/p.coalesce-project"));
        w->project()->clear();
        w->openPaths({w.dir + "/p.coalesce-project"});
        QCOMPARE(w->project()->sources().size(), 2);
    }

    void projectRoundTripThroughTheWindow() {
        Window w("widgets_project");
        w->addGeneratorFiles(makeModels(w.dir, 3));
        w->project()->setCombineMode(CombineMode::Recursive);
        QVERIFY(w->saveProjectTo(w.dir + "/exp.coalesce-project"));
        QVERIFY(!w->isWindowModified());
        QVERIFY(w->windowTitle().startsWith("exp"));
        Window w2("widgets_project_reopen");
        QVERIFY(w2->openProject(w.dir + "/exp.coalesce-project"));
        QCOMPARE(w2->project()->sources().size(), 3);
        QCOMPARE(w2->sourcesPanel()->cards().size(), 3);
        QCOMPARE(w2->project()->combineMode(), CombineMode::Recursive);
    }

    // Issue "tried as a new user", defect 3: what the user did to runs and typed into the stage editor
    // is in the saved project.
    void savingKeepsRunEditsAndTypedStageSettings() {
        Window w("widgets_save_edits");
        QVERIFY(w->saveProjectTo(w.dir + "/p.coalesce-project"));
        // A run made here, then removed with Runs ▸ Remove: the project is modified and forgets it.
        w->stagePanel()->selectKind("fake");
        w->stagePanel()->setConfigText(R"({"iterations": 5})");
        QSignalSpy finished(w.window.get(), &MainWindow::jobFinished);
        QTest::mouseClick(w->stagePanel()->startButton(), Qt::LeftButton);
        QVERIFY(finished.count() == 1 || finished.wait(10000));
        QCOMPARE(w->project()->runs().size(), 1);
        QVERIFY(w->saveProjectTo(w.dir + "/p.coalesce-project"));
        QVERIFY(!w->project()->isModified());
        auto* tree = w->runsPanel()->findChild<QTreeWidget*>();
        QVERIFY(tree && tree->topLevelItemCount() == 1);
        tree->setCurrentItem(tree->topLevelItem(0));
        QPushButton* remove = nullptr;
        for (auto* b : w->runsPanel()->findChildren<QPushButton*>())
            if (b->text() == "Remove") remove = b;
        QVERIFY(remove);
        QTest::mouseClick(remove, Qt::LeftButton);
        QCOMPARE(tree->topLevelItemCount(), 0);
        QVERIFY(w->project()->runs().isEmpty());
        QVERIFY(w->project()->isModified());

        // A run added with "Open run…" is remembered.
        const QString opened = w.dir + "/elsewhere/pretrain-old";
        uitest::writeFile(opened + "/config.json", R"({"kind": "pretrain", "data": "fashion-mnist:train:0,1"})");
        uitest::writeFile(opened + "/metrics.csv", "step,name,value\n1,loss_g,0.5\n2,loss_g,0.25\n");
        uitest::writeFile(opened + "/summary.json", R"({"status": "finished"})");
        QVERIFY(w->openRunDirectory(opened) >= 0);
        QCOMPARE(w->project()->runs().size(), 1);
        QCOMPARE(w->project()->runs()[0].status, QString("finished"));

        // Typed into the editor and saved at once (no stage switch): a ternarize "threads": 1 stays 1.
        w->stagePanel()->selectKind("fake");
        w->stagePanel()->setConfigText(R"({"iterations": 77, "runtime": {"threads": 1, "device": "auto"}})");
        QVERIFY(w->saveProjectTo(w.dir + "/p.coalesce-project"));

        Window w2("widgets_save_edits_reopen");
        QVERIFY(w2->openProject(w.dir + "/p.coalesce-project"));
        QCOMPARE(w2->project()->runs().size(), 1);
        QCOMPARE(QFileInfo(w2->project()->runs()[0].dir).fileName(), QString("pretrain-old"));
        QVERIFY(w2->runs()->findByDir(QFileInfo(opened).absoluteFilePath()) >= 0);
        const QJsonObject typed = w2->project()->stageConfig("fake");
        QCOMPARE(typed.value("iterations").toInt(), 77);
        QCOMPARE(typed.value("runtime").toObject().value("threads").toInt(), 1);
    }

    // Constrained mode moves λ during a run: the Sources dock shows the run's live multipliers (they need
    // not sum to 1), then the project's again.
    void sourcesDockShowsLiveMultipliers() {
        Window w("widgets_live_lambda");
        QVERIFY(w->addGeneratorFiles(makeModels(w.dir, 2)).isEmpty());
        auto cards = w->sourcesPanel()->cards();
        QCOMPARE(cards[0]->weightText(), QString("λ = 0.500"));
        w->sourcesPanel()->setLiveWeights({0.7, 0.05});
        QCOMPARE(cards[0]->weightText(), QString("λ = 0.700 (live)"));
        QCOMPARE(cards[1]->weightText(), QString("λ = 0.050 (live)"));
        w->sourcesPanel()->setLiveWeights({});
        QCOMPARE(cards[1]->weightText(), QString("λ = 0.500"));
    }

    // Defect 5: the same file twice, or a damaged one, is refused when added, with the reason.
    void addingTheSameOrADamagedFileIsRefused() {
        Window w("widgets_add_checks");
        const QStringList models = makeModels(w.dir, 1);
        QVERIFY(w->addGeneratorFiles(models).isEmpty());
        const QStringList again = w->addGeneratorFiles(models);
        QCOMPARE(again.size(), 1);
        QVERIFY2(again[0].contains("already in the project"), qPrintable(again[0]));
        QFile f(models[0]);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray bytes = f.readAll();
        uitest::writeFile(w.dir + "/models/cut.coalesce", bytes.left(bytes.size() / 2));
        const QStringList cut = w->addGeneratorFiles({w.dir + "/models/cut.coalesce"});
        QCOMPARE(cut.size(), 1);
        QVERIFY2(cut[0].startsWith("cut.coalesce: "), qPrintable(cut[0]));
        QCOMPARE(w->project()->sources().size(), 1);
    }

    void dockLayoutIsRemembered() {
        const QString ini = uitest::scratch("widgets_layout") + "/settings.ini";
        {
            Window w("widgets_layout_a", ini);
            QVERIFY(QTest::qWaitForWindowExposed(w.window.get()));
            QVERIFY(w->dock("logDock")->isVisible());
            w->dock("logDock")->hide();
            w->setTheme(Theme::Dark);
            w->close();  // writes the settings
        }
        {
            Window w("widgets_layout_b", ini);
            QVERIFY(QTest::qWaitForWindowExposed(w.window.get()));
            QVERIFY(!w->dock("logDock")->isVisible());
            QCOMPARE(w->theme(), Theme::Dark);
            QVERIFY(w->palette().color(QPalette::Window).lightness() < 128);
            w->resetLayout();
            QVERIFY(w->dock("logDock")->isVisible());
            w->setTheme(Theme::Light);
        }
    }

    // The window fits a 1366-px laptop screen with its default docks: a one-line 770-px hint in the Results
    // view once made the window's minimum 1660 px wide, cutting the Stages dock off on a 1600-px display.
    // Every view (shown or not) counts: the central stack's minimum is the widest page's.
    void windowFitsASmallScreen() {
        Window w("widgets_small_screen", uitest::scratch("widgets_small_screen") + "/settings.ini");
        QVERIFY(QTest::qWaitForWindowExposed(w.window.get()));
        for (int view = 0; view <= int(MainWindow::View::Results); ++view) {
            w->showView(MainWindow::View(view));
            QCoreApplication::processEvents();
            QVERIFY2(w->minimumSizeHint().width() <= 1366,
                     qPrintable(QString("view %1: minimum width %2").arg(view).arg(w->minimumSizeHint().width())));
        }
    }

    // Not a pass/fail timing test: reports how long the GUI thread went without running its event
    // loop while a job streamed ~50k metric events per second into the live charts.
    void guiStallWhileAJobStreams() {
        Window w("widgets_stall");
        QVERIFY(QTest::qWaitForWindowExposed(w.window.get()));
        w->showView(MainWindow::View::Curves);
        StallMonitor monitor(5);
        monitor.start();
        QSignalSpy finished(w.window.get(), &MainWindow::jobFinished);
        QVERIFY(w->startStage("fake", QJsonObject{{"iterations", 30000}, {"metrics", 6}, {"image_every", 500}, {"sleep_us", 100}}));
        QVERIFY(finished.wait(60000));
        monitor.stop();
        QCOMPARE(finished.first().first().value<JobOutcome>().status, JobOutcome::Status::Finished);
        const RunData* run = w->runs()->run(w->runs()->ids().last());
        QCOMPARE(run->metrics["loss"].steps.size(), 30000);  // every event arrived
        const CurvesPanel::ReplotStats r = w->curves()->stats();
        qInfo("GUI stall while streaming 180k metric events: longest heartbeat gap %.1f ms (GUI-thread CPU in it %.1f ms; "
              "99th pct %.1f ms, %d beats at %d ms); longest GUI-thread busy span %.1f ms CPU; GUI thread CPU %.0f ms "
              "over %.1f s; %d flushes, longest %.1f ms wall / %.1f ms CPU",
              monitor.maxGapMs(), monitor.maxGapCpuMs(), monitor.percentileGapMs(0.99), monitor.samples(), monitor.intervalMs(),
              monitor.maxBusyMs(), monitor.cpuMs(), monitor.wallMs() / 1000, r.flushes, r.maxFlushMs, r.maxFlushCpuMs);
        QStringList history;
        for (float ms : r.flushCpuHistory) history << QString::number(ms, 'f', 1);
        qInfo("flush CPU ms: median %.1f, 95th pct %.1f; in order: %s", r.flushCpuPercentile(0.5), r.flushCpuPercentile(0.95),
              qPrintable(history.join(' ')));
        QVERIFY(monitor.samples() > 10);
        QVERIFY(monitor.maxBusyMs() <= monitor.maxGapMs() + 1.0);  // CPU inside a gap cannot exceed the gap
        qInfo("worst handler in the longest gap: %s; longest handlers: %s", qPrintable(monitor.maxGapCulprit()),
              qPrintable(monitor.culprits(5)));
    }

    // The monitor names the handler that blocked the GUI thread: a 30 ms (CPU) handler is charged
    // ~30 ms under its class and event type, and it is the worst one inside the longest gap.
    void stallMonitorNamesTheBlockingHandler() {
        StallMonitor monitor(5);
        SlowReceiver slow;
        monitor.start();
        QTest::qWait(30);
        QCoreApplication::postEvent(&slow, new QEvent(QEvent::User));
        QTest::qWait(60);
        monitor.stop();
        QVERIFY2(monitor.maxGapCulprit().startsWith("SlowReceiver User "), qPrintable(monitor.maxGapCulprit()));
        const QString top = monitor.culprits(1);
        QVERIFY2(top.startsWith("SlowReceiver User "), qPrintable(top));
        const double ms = top.section(' ', 2, 2).toDouble();
        QVERIFY2(ms >= 29.0 && ms < 45.0, qPrintable(top));
        QVERIFY(monitor.maxGapMs() >= 29.0);
    }

    // Many small handlers in one gap (a burst of posted events) are summed by kind: 15 events of 2 ms
    // each are one 30 ms stall whose worst single handler is only ~2 ms.
    void stallMonitorSumsABurstOfSmallHandlers() {
        StallMonitor monitor(5);
        SlowReceiver slow;
        slow.cpuMs = 2.0;
        monitor.start();
        QTest::qWait(30);
        for (int i = 0; i < 15; ++i) QCoreApplication::postEvent(&slow, new QEvent(QEvent::User));
        QTest::qWait(60);
        monitor.stop();
        const QString top = monitor.maxGapBreakdown(1);
        QVERIFY2(top.startsWith("SlowReceiver User ") && top.endsWith(" in 15"), qPrintable(top));
        const double ms = top.section(' ', 2, 2).toDouble();
        QVERIFY2(ms >= 29.0 && ms < 45.0, qPrintable(top));
        const double worst = monitor.maxGapCulprit().section(' ', 2, 2).toDouble();
        QVERIFY2(worst >= 1.9 && worst < 6.0, qPrintable(monitor.maxGapCulprit()));
    }
};

COALESCE_TEST_MAIN(TestWidgets)
#include "test_widgets.moc"
