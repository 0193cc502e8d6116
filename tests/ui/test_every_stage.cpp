// The workbench with the real engine: every stage kind the engine registers is started from the Stages
// dock with its default settings, on tiny inputs (2-D toy sources and local data, a few iterations, a
// tiny image folder for the feature net), and must finish. This is what a new user does first; each
// kind once failed at Start with its defaults ("unknown field resume", a missing "generators", ...).
#include "support/test_main.h"  // Qt Test, and the suite registration

#include <QImage>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QTableWidget>
#include <QUndoStack>

#include "app/main_window.h"
#include "bridge/job_event.h"
#include "bridge/job_runner.h"
#include "panels/local_data_panel.h"
#include "previews/results_view.h"
#include "panels/sources_panel.h"
#include "panels/stage_panel.h"
#include "project/project.h"
#include "project/stage_configs.h"
#include "ui_test_helpers.h"

namespace {

QJsonObject mlpArch() {
    return {{"family", "mlp2d"}, {"data_dim", 2}, {"latent_dim", 8},
            {"generator_widths", QJsonArray{32, 32}}, {"critic_widths", QJsonArray{32, 32}}};
}

// What a user changes for a quick try: sizes and inputs, never the kind of work a stage does.
QJsonObject tinyOverrides(const QString& kind, const QString& imageFolder) {
    if (kind == "pretrain" || kind == "barycenter" || kind == "adapt")
        return {{"iterations", 12}, {"sample_every", 6}, {"checkpoint_every", 6}};
    if (kind == "experiment")
        return {{"seeds", QJsonArray{1}},
                {"barycenter", QJsonObject{{"iterations", 6}, {"batch_size", 64}}},
                {"adaptation", QJsonObject{{"iterations", 6}, {"batch_size", 16}, {"sample_every", 3}, {"checkpoint_every", 3}}},
                {"evaluation_every", 3}};
    if (kind == "evaluator-train")
        return {{"data", "folder:" + imageFolder}, {"test_data", "folder:" + imageFolder},
                {"training", QJsonObject{{"epochs", 1}, {"batch_size", 8}}}};
    return {};
}

}  // namespace

class TestEveryStage : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        torch::set_num_threads(1);
    }

    void everyStageKindStartsWithItsDefaultsAndFinishes() {
        const QString dir = uitest::scratch("every_stage");
        qputenv("XDG_CACHE_HOME", (dir + "/cache").toUtf8());  // the feature net of this test stays here
        const QString imageFolder = uitest::tinyImageFolder(dir + "/images");
        QSettings settings(dir + "/settings.ini", QSettings::IniFormat);
        MainWindow w(JobCatalog::engine(), &settings);
        w.setInteractive(false);
        w.resize(1200, 800);
        w.show();

        // Two toy sources (real generator files) and toy local data; the project lives in `dir`.
        const QStringList sources = uitest::writeSourceFiles(dir, mlpArch(), 2);
        QVERIFY(sources.size() == 2);
        QVERIFY2(w.addGeneratorFiles(sources).isEmpty(), "the toy sources were refused");
        w.project()->setLocalData({"toy:ring8", 64, 1});
        QVERIFY(w.saveProjectTo(dir + "/every.coalesce-project"));
        // Saving stores typed edits only: the shown defaults (image defaults before the toy local data
        // was chosen) are not frozen into the project, and the editor follows the toy defaults.
        QVERIFY2(w.project()->stageConfigs().isEmpty(), QJsonDocument(w.project()->stageConfigs()).toJson().constData());
        QJsonObject shown;
        QString parseError;
        QVERIFY(w.stagePanel()->currentConfig(&shown, &parseError));
        QCOMPARE(shown["data"].toString(), QString("toy:ring8"));

        // "η from local data" (Sources dock): the engine's radii-auto estimate sets every radius in one
        // undo step (toy sources: distances between the points themselves).
        {
            auto* button = w.sourcesPanel()->findChild<QPushButton*>("estimateRadii");
            QVERIFY(button && button->isEnabled());
            QSignalSpy estimated(&w, &MainWindow::radiiEstimated);
            const int undoBefore = w.project()->undoStack()->count();
            button->click();
            QVERIFY(estimated.count() == 1 || estimated.wait(120000));
            QVERIFY2(estimated.first().first().toString().isEmpty(), qPrintable(estimated.first().first().toString()));
            for (const SourceModel& s : w.project()->sources()) QVERIFY2(s.radius > 0 && s.radius != 1.0, qPrintable(QString::number(s.radius)));
            // The coverage check is read out under the button, naming the nearest source (smallest η).
            auto* coverage = w.sourcesPanel()->findChild<QLabel*>("coverageVerdict");
            QVERIFY(coverage && !coverage->isHidden());
            const SourceModel* nearest = &w.project()->sources().front();
            for (const SourceModel& s : w.project()->sources())
                if (s.radius < nearest->radius) nearest = &s;
            QVERIFY2(coverage->text().startsWith("Coverage: ") && coverage->text().contains(nearest->name), qPrintable(coverage->text()));
            // The check also chooses how the sources are combined, as "mode": "auto" does: the λ-mixture
            // unless no blend is closer than the nearest source (an undo step of its own when it changes).
            const bool nearestAlone = coverage->text().contains("no blend of the sources");
            const bool mixture = w.project()->combineMode() == CombineMode::Mixture;
            QCOMPARE(mixture, !nearestAlone);
            QCOMPARE(coverage->text().contains("Sources set to mixture"), mixture);
            QCOMPARE(w.project()->undoStack()->count(), undoBefore + (mixture ? 2 : 1));
            for (int step = 0; step < (mixture ? 2 : 1); ++step) w.project()->undoStack()->undo();
            QCOMPARE(w.project()->combineMode(), CombineMode::Joint);
            QVERIFY2(!coverage->text().contains("Sources set to"), qPrintable(coverage->text()));  // no stale claim
            for (const SourceModel& s : w.project()->sources()) QCOMPARE(s.radius, 1.0);
            for (int step = 0; step < (mixture ? 2 : 1); ++step) w.project()->undoStack()->redo();
            QCOMPARE(w.project()->combineMode() == CombineMode::Mixture, mixture);
            QCOMPARE(coverage->text().contains("Sources set to mixture"), mixture);
        }

        // Config errors are found before a run exists, with what to do next; none leaves a failed run.
        {
            QString error;
            QJsonObject bad = effectiveStageConfig("barycenter", *w.project());
            bad["iterations"] = -5;
            QVERIFY(!w.startStage("barycenter", bad, QString(), &error));
            QVERIFY2(error.contains("iterations"), qPrintable(error));
            bad = effectiveStageConfig("barycenter", *w.project());
            bad["iteration"] = 5;
            QVERIFY(!w.startStage("barycenter", bad, QString(), &error));
            QVERIFY2(error.contains("iteration") && error.contains("misspelt"), qPrintable(error));
            QVERIFY(!w.startStage("adapt", effectiveStageConfig("adapt", *w.project()), QString(), &error));
            QVERIFY2(error.contains("Run the Barycenter stage first"), qPrintable(error));
            QVERIFY(w.project()->runs().isEmpty());
            QDir().mkpath(dir + "/empty/class0");
            QVERIFY2(localDataSpecProblem("folder:" + dir + "/empty").contains("no image files"),
                     qPrintable(localDataSpecProblem("folder:" + dir + "/empty")));
            QVERIFY(localDataSpecProblem("folder:" + imageFolder).isEmpty());
        }

        StagePanel* stages = w.stagePanel();
        // The pipeline first (adapt needs a barycenter, ternarize/evaluate a generator), then every
        // other kind the engine has: a new job kind is covered without editing this test.
        QStringList order = {"pretrain", "barycenter", "adapt", "experiment", "ternarize", "evaluate"};
        for (const QString& kind : JobCatalog::engine().kinds().keys())
            if (!order.contains(kind)) order << kind;
        QVERIFY(order.contains("average") && order.contains("evaluator-train"));

        for (const QString& kind : order) {
            w.project()->setStageConfig(kind, tinyOverrides(kind, imageFolder));
            stages->selectKind(kind);
            QCOMPARE(stages->currentKind(), kind);
            QVERIFY2(stages->startButton()->isEnabled(), qPrintable(kind + ": Start is disabled"));
            QSignalSpy finished(&w, &MainWindow::jobFinished);
            stages->startButton()->click();
            QVERIFY2(w.runner()->isRunning() || finished.count() == 1,
                     qPrintable(kind + " did not start: " + w.statusJobText()));
            QVERIFY2(finished.count() == 1 || finished.wait(300000), qPrintable(kind + " did not finish in time"));
            const auto outcome = finished.first().first().value<JobOutcome>();
            QVERIFY2(outcome.status == JobOutcome::Status::Finished,
                     qPrintable(kind + " " + statusName(outcome.status) + ": " + outcome.message));
            QVERIFY2(QFileInfo(outcome.runDir).isDir(), qPrintable(kind + ": no run directory " + outcome.runDir));
            if (kind == "adapt") {  // the default starts both critics from the barycenter run's checkpoint
                QFile config(outcome.runDir + "/config.json");
                QVERIFY(config.open(QIODevice::ReadOnly));
                const QJsonObject c = QJsonDocument::fromJson(config.readAll()).object();
                QVERIFY2(c.value("critic_init").toString().endsWith("/checkpoints/latest.coalesce"), qPrintable(c.value("critic_init").toString()));
                QCOMPARE(c.value("lambda_barycenter").toString(), QString("auto"));  // the anchor from the radii
                QVERIFY(c.contains("radii_estimated"));
            }
        }
        // The Results tab lists the evaluated runs with their final metrics (evaluate and the experiment's
        // method runs among them), and exports them.
        auto hasRows = [&w] {
            const ResultsTable& results = w.results()->table();
            const int w1 = int(results.metrics.indexOf("w1"));
            bool evaluateRow = false, experimentRow = false;
            for (const ResultsRow& r : results.rows) {
                evaluateRow = evaluateRow || (r.kind == "evaluate" && w1 >= 0 && !std::isnan(r.values[w1]));
                experimentRow = experimentRow || (r.kind == "experiment" && r.run.contains("transfer_gan"));
            }
            return evaluateRow && experimentRow;
        };
        QTRY_VERIFY_WITH_TIMEOUT(hasRows(), 5000);
        // Selecting the ternarize run shows its per-layer report (sparsity, code shares, scales).
        QTableWidget* table = w.results()->tableWidget();
        int ternarizeRow = -1;
        for (int r = 0; r < table->rowCount(); ++r)
            if (table->item(r, 1) && table->item(r, 1)->text() == "ternarize") ternarizeRow = r;
        QVERIFY(ternarizeRow >= 0);
        QVERIFY(w.results()->layersWidget()->isHidden());
        table->selectRow(ternarizeRow);
        QTableWidget* layers = w.results()->layersWidget();
        QVERIFY(!layers->isHidden());
        QVERIFY2(layers->rowCount() >= 1, "the ternarize run's layers are not listed");
        QVERIFY2(layers->item(0, 0)->text().startsWith("net."), qPrintable(layers->item(0, 0)->text()));
        const double zerosPercent = layers->item(0, 4)->text().toDouble();
        QVERIFY2(zerosPercent >= 0 && zerosPercent <= 100, qPrintable(layers->item(0, 4)->text()));
        // COALESCE_TEST_SCREENSHOTS=DIR: keep a picture of the Results view with the layer table, to look at.
        if (const QString shots = qEnvironmentVariable("COALESCE_TEST_SCREENSHOTS"); !shots.isEmpty()) {
            w.showView(MainWindow::View::Results);
            QTest::qWait(200);
            QVERIFY(w.grab().save(shots + "/results-layers.png"));
        }
        QString exportError;
        QVERIFY2(w.results()->exportTo(dir + "/results.md", &exportError), qPrintable(exportError));
        QFile md(dir + "/results.md");
        QVERIFY(md.open(QIODevice::ReadOnly));
        const QString markdown = QString::fromUtf8(md.readAll());
        QVERIFY2(markdown.startsWith("| run | kind | status | step |") && markdown.contains("evaluate"), qPrintable(markdown.left(300)));

        // Every run is recorded in the project as finished.
        int finishedRuns = 0;
        for (const RunRecord& r : w.project()->runs()) finishedRuns += r.status == "finished";
        QCOMPARE(finishedRuns, order.size());
    }
};

COALESCE_TEST_MAIN(TestEveryStage)
#include "test_every_stage.moc"
