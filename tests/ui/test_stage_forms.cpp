// Issue "tried as a new user": stage settings as forms. The Stages dock shows every stage's config as a
// form (labelled, ranged fields; nested groups; pickers for input generators) and as JSON ("Advanced"),
// and the two stay in sync with each other and with the project.
#include <QCheckBox>
#include <QComboBox>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTabWidget>
#include "support/test_main.h"  // Qt Test, and the suite registration
#include <QThread>
#include <QToolButton>

#include "panels/config_form.h"
#include "panels/stage_panel.h"
#include "project/project.h"
#include "project/stage_configs.h"

namespace {
const QMap<QString, QString> kKinds{{"pretrain", "p"}, {"barycenter", "b"}, {"adapt", "a"},
                                    {"experiment", "e"}, {"ternarize", "t"}, {"evaluate", "v"}};

QJsonObject editorConfig(StagePanel& panel) {
    QJsonObject config;
    QString error;
    if (!panel.currentConfig(&config, &error)) qWarning() << error;
    return config;
}

template <class W>
W* fieldOf(StagePanel& panel, const QString& path) {
    return qobject_cast<W*>(panel.form()->field(path));
}
}  // namespace

class TestStageForms : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void formEditsReachTheJsonAndTheProject() {
        Project project;
        StagePanel panel(&project);
        panel.setAvailableKinds(kKinds);
        panel.selectKind("pretrain");
        QCOMPARE(panel.views()->tabText(0), QString("Settings"));
        auto* iterations = fieldOf<QSpinBox>(panel, "iterations");
        QVERIFY(iterations);
        QCOMPARE(iterations->value(), 2000);
        iterations->setValue(300);
        QCOMPARE(editorConfig(panel)["iterations"].toInt(), 300);
        panel.commitEdits();
        QCOMPARE(project.stageConfig("pretrain")["iterations"].toInt(), 300);

        // A nested key: the rest of its object is kept.
        auto* threads = fieldOf<QSpinBox>(panel, "runtime.threads");
        QVERIFY(threads);
        threads->setValue(2);
        const QJsonObject runtime = editorConfig(panel)["runtime"].toObject();
        QCOMPARE(runtime["threads"].toInt(), 2);
        QCOMPARE(runtime["device"].toString(), QString("auto"));

        // Learning rates are typed as text (a 2-decimal spin box cannot show 0.0002).
        auto* lr = fieldOf<QLineEdit>(panel, "lr");
        QVERIFY(lr);
        QCOMPARE(lr->text(), QString("0.0001"));
        lr->clear();
        QTest::keyClicks(lr, "0.0002");
        QCOMPARE(editorConfig(panel)["lr"].toDouble(), 0.0002);
    }

    void typedJsonReachesTheForm() {
        Project project;
        StagePanel panel(&project);
        panel.setAvailableKinds(kKinds);
        panel.selectKind("pretrain");
        panel.setConfigText(R"({"iterations": 42, "lr": 0.0005, "batch_size": 16, "gp_weight": 5})");
        QCOMPARE(fieldOf<QSpinBox>(panel, "iterations")->value(), 42);
        QCOMPARE(fieldOf<QLineEdit>(panel, "lr")->text(), QString("0.0005"));
        // A key the form's table does not know still gets a field, by its JSON type.
        auto* gp = fieldOf<QLineEdit>(panel, "gp_weight");
        QVERIFY(gp);
        QCOMPARE(gp->text(), QString("5"));
        // Invalid JSON leaves the form as it was.
        panel.setConfigText(R"({"iterations": )");
        QCOMPARE(fieldOf<QSpinBox>(panel, "iterations")->value(), 42);
    }

    void invalidValuesAreMarkedAndNotApplied() {
        Project project;
        StagePanel panel(&project);
        panel.setAvailableKinds(kKinds);
        panel.selectKind("barycenter");
        auto* lr = fieldOf<QLineEdit>(panel, "lr");
        QVERIFY(lr);
        for (const char* bad : {"abc", "-1", "nan"}) {
            lr->clear();
            QTest::keyClicks(lr, bad);
            QVERIFY2(!lr->property("invalidReason").toString().isEmpty(), bad);
            QCOMPARE(editorConfig(panel)["lr"].toDouble(), 1e-4);
        }
        lr->clear();
        QTest::keyClicks(lr, "0.001");
        QVERIFY(lr->property("invalidReason").toString().isEmpty());
        QCOMPARE(editorConfig(panel)["lr"].toDouble(), 0.001);
        // Spin boxes cannot leave their range: batch size ≥ 1.
        auto* batch = fieldOf<QSpinBox>(panel, "batch_size");
        QVERIFY(batch && batch->minimum() == 1);
    }

    void choicesAndSwitchesAreWidgetsOfTheirKind() {
        Project project;
        StagePanel panel(&project);
        panel.setAvailableKinds(kKinds);
        panel.selectKind("ternarize");
        auto* method = fieldOf<QComboBox>(panel, "method");
        QVERIFY(method);
        QCOMPARE(method->currentText(), QString("twn"));
        QVERIFY(method->findText("learned") >= 0 && method->findText("ttq") >= 0);
        method->setFocus();
        QTest::keyClick(method, Qt::Key_Down);  // the next choice, as a user picks it
        QCOMPARE(editorConfig(panel)["method"].toString(), method->currentText());
        QVERIFY(method->currentText() != "twn");
        auto* keepLast = fieldOf<QCheckBox>(panel, "keep_last_float");
        QVERIFY(keepLast && keepLast->isChecked());
        keepLast->setChecked(false);
        QCOMPARE(editorConfig(panel)["keep_last_float"].toBool(), false);
    }

    // Keys that follow the project are read-only in the form; the input generator can be picked as a file
    // (kept in the project) or left to follow the newest run ("Latest").
    void projectKeysAndInputPickers() {
        Project project;
        project.setLocalData(LocalDataSettings{"fashion-mnist:train:8,9", 20, 1});
        StagePanel panel(&project);
        panel.setAvailableKinds(kKinds);
        panel.selectKind("adapt");
        auto* data = fieldOf<QLineEdit>(panel, "data");
        QVERIFY(data);
        QVERIFY(data->isReadOnly());
        QVERIFY(data->text().contains("fashion-mnist:train:8,9"));

        // No barycenter run yet: the picker is there, empty, following the project.
        auto* barycenter = fieldOf<QLineEdit>(panel, "barycenter");
        QVERIFY(barycenter);
        QVERIFY(!barycenter->isReadOnly());
        QVERIFY(barycenter->text().isEmpty());
        QTest::keyClicks(barycenter, "/models/mine.coalesce");
        QCOMPARE(editorConfig(panel)["barycenter"].toString(), QString("/models/mine.coalesce"));
        panel.commitEdits();
        QCOMPARE(project.stageConfig("adapt")["barycenter"].toString(), QString("/models/mine.coalesce"));
        QCOMPARE(effectiveStageConfig("adapt", project)["barycenter"].toString(), QString("/models/mine.coalesce"));
        QVERIFY(overriddenStageKeys("adapt", project).contains("barycenter"));

        // The form now shows the picked file, not following the project; "Latest" forgets it.
        barycenter = fieldOf<QLineEdit>(panel, "barycenter");
        QVERIFY(barycenter);
        QCOMPARE(barycenter->text(), QString("/models/mine.coalesce"));
        QToolButton* latest = nullptr;
        for (auto* b : panel.form()->findChildren<QToolButton*>("latest"))
            if (b->parentWidget() == barycenter->parentWidget()) latest = b;
        QVERIFY(latest);
        QVERIFY(!latest->isChecked());
        latest->click();
        QVERIFY(!project.stageConfig("adapt").contains("barycenter"));
        QVERIFY(!effectiveStageConfig("adapt", project).contains("barycenter"));
    }

    // Start runs the config built from the project, not the editor's text: a project change made while
    // the JSON was half-typed (and so could not be merged into it) is still what runs.
    void startRunsTheProjectsConfigNotStaleText() {
        Project project;
        project.setLocalData(LocalDataSettings{"fashion-mnist:train:8,9", 20, 1});
        StagePanel panel(&project);
        panel.setAvailableKinds(kKinds);
        panel.selectKind("adapt");
        QJsonObject shown = editorConfig(panel);
        QCOMPARE(shown["data"].toString(), QString("fashion-mnist:train:8,9"));
        shown["iterations"] = 40;
        panel.setConfigText("{ \"iterations\": 4");  // half-typed
        project.setLocalData(LocalDataSettings{"fashion-mnist:train:8", 12, 1});
        panel.setConfigText(QString::fromUtf8(QJsonDocument(shown).toJson()));  // finished typing: stale data
        QCOMPARE(editorConfig(panel)["data"].toString(), QString("fashion-mnist:train:8,9"));

        QSignalSpy started(&panel, &StagePanel::startRequested);
        QVERIFY(panel.startButton()->isEnabled());
        panel.startButton()->click();
        QCOMPARE(started.count(), 1);
        const QJsonObject run = started.first().at(1).toJsonObject();
        QCOMPARE(run["data"].toString(), QString("fashion-mnist:train:8"));
        QCOMPARE(run["k"].toInt(), 12);
        QCOMPARE(run["iterations"].toInt(), 40);  // the typed edit is kept
    }

    // Keys that follow the project are shown for reading: the barycenter's sources by name and radius,
    // their JSON in the tooltip (and in the Advanced view).
    void projectSourcesReadAsNames() {
        Project project;
        project.addSources({"/models/a.coalesce", "/models/b.coalesce"});
        QCOMPARE(project.sources().size(), 2);
        project.setRadius(project.sources()[1].id, 2.5);
        StagePanel panel(&project);
        panel.setAvailableKinds(kKinds);
        panel.selectKind("barycenter");
        auto* sources = fieldOf<QLineEdit>(panel, "sources");
        QVERIFY(sources);
        QVERIFY(sources->isReadOnly());
        const QString a = project.sources()[0].name, b = project.sources()[1].name;
        QCOMPARE(sources->text(), QString("%1 (η 1) · %2 (η 2.5)").arg(a, b));
        QVERIFY(sources->toolTip().contains("/models/b.coalesce"));
        QCOMPARE(editorConfig(panel)["sources"].toArray().size(), 2);
    }

    void defaultThreadsLeaveACoreForTheWorkbench() {
        const int cores = QThread::idealThreadCount();
        const int threads = defaultThreads();
        QVERIFY(threads >= 1);
        if (cores <= 2) QCOMPARE(threads, 1);
        else QVERIFY(threads < cores);
        Project project;
        for (const char* kind : {"pretrain", "barycenter", "adapt", "ternarize", "evaluate"})
            QCOMPARE(stageDefaults(kind, project)["runtime"].toObject()["threads"].toInt(), threads);
    }

    // The Adapt stage's anchor comes from the radii by default (README, "How the defaults were chosen").
    void adaptAnchorDefaultsToTheRadii() {
        Project project;
        project.setLocalData(LocalDataSettings{"fashion-mnist:train", 20, 1});
        QCOMPARE(effectiveStageConfig("adapt", project)["lambda_barycenter"].toString(), QString("auto"));
        QCOMPARE(effectiveStageConfig("adapt", project)["radius_estimation"].toObject()["space"].toString(), QString("features"));
        project.setLocalData(LocalDataSettings{"folder:/data/mine", 20, 1});  // no feature net for it: pixels
        QCOMPARE(effectiveStageConfig("adapt", project)["radius_estimation"].toObject()["space"].toString(), QString("pixels"));
        QVERIFY(!effectiveStageConfig("adapt", project).contains("lambda_local"));  // the engine refuses both
        // A typed anchor is the user's and stays.
        project.setStageConfig("adapt", QJsonObject{{"lambda_barycenter", 2}});
        QCOMPARE(effectiveStageConfig("adapt", project)["lambda_barycenter"].toDouble(), 2.0);
    }

    // Every stage kind's defaults render: every top-level key has a field or a group.
    void everyStageHasAForm() {
        Project project;
        project.setLocalData(LocalDataSettings{"fashion-mnist:train:8,9", 20, 1});
        StagePanel panel(&project);
        panel.setAvailableKinds(kKinds);
        for (auto it = kKinds.cbegin(); it != kKinds.cend(); ++it) {
            panel.selectKind(it.key());
            const QJsonObject config = editorConfig(panel);
            for (auto key = config.begin(); key != config.end(); ++key) {
                if (key.key() == "kind") continue;
                const bool hasField = panel.form()->field(key.key()) != nullptr;
                const bool isGroup = key.value().isObject();
                QVERIFY2(hasField || isGroup, qPrintable(it.key() + ": " + key.key()));
            }
        }
    }
};

COALESCE_TEST_MAIN(TestStageForms)
#include "test_stage_forms.moc"
