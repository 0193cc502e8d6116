// The workbench and the command line write the same job config for the same stage settings.
//
// Every stage is started from the Stages dock (Start, as a user does) with a job catalog that keeps
// the config the workbench hands the engine (after the engine's own check) and runs nothing. The
// same settings are then typed as `coalesce-cli <stage> ... --print-config` — each key of the
// workbench's config through the flag that the CLI's naming rule gives it ("batch_size" →
// --batch-size; the exceptions are listed below) — and the printed config must equal the workbench's.
// A key the workbench writes that no flag can give fails the test, as does any difference in a value.
#include "support/test_main.h"  // Qt Test, and the suite registration

#include <QDateTime>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <mutex>

#include "app/main_window.h"
#include "bridge/job_event.h"
#include "panels/stage_panel.h"
#include "project/project.h"
#include "project/stage_configs.h"
#include "ui_test_helpers.h"

#ifndef COALESCE_CLI
#error "COALESCE_CLI (the coalesce-cli program) must be defined by the build"
#endif

namespace {

using coalesce::Json;

// The configs the workbench passed to the engine, in order; the jobs themselves only finish.
struct ConfigRecorder {
    std::mutex mutex;
    std::vector<Json> configs;

    JobCatalog catalog() {
        const JobCatalog engine = JobCatalog::engine();
        JobCatalog c;
        c.kinds = engine.kinds;
        c.create = [this, engine](const Json& config) -> std::unique_ptr<coalesce::Job> {
            engine.create(config);  // the engine's check, exactly as the workbench's Start makes it
            std::lock_guard<std::mutex> lock(mutex);
            configs.push_back(config);
            fake::FakeJobOptions o;
            o.iterations = 1;
            return std::make_unique<fake::FakeJob>(o);
        };
        return c;
    }
    Json last() {
        std::lock_guard<std::mutex> lock(mutex);
        return configs.empty() ? Json() : configs.back();
    }
};

QString text(const Json& v) {
    if (v.is_string()) return QString::fromStdString(v.get<std::string>());
    if (v.is_number_integer()) return QString::number(v.get<long long>());
    if (v.is_number_float()) return QString::number(v.get<double>(), 'g', QLocale::FloatingPointShortest);
    return QString::fromStdString(v.dump());
}

// A workbench job config as the flags of its CLI subcommand. Keys are taken as they are mapped; what
// is left over has no flag.
class CommandLine {
public:
    CommandLine(const Json& config, QString subcommand) : rest_(config) {
        args_ = subcommand.split(' ');
        rest_.erase("kind");
    }

    // A top-level scalar key through `flag` (default: the naming rule).
    void take(const std::string& key, QString flag = {}) { takeFrom(rest_, key, flag); }
    // Every remaining scalar key of `object` by the naming rule (true booleans as bare flags).
    void takeScalars(Json& object) {
        for (const std::string& key : keysOf(object))
            if (object[key].is_primitive()) takeFrom(object, key, {});
    }
    // An object-valued key whose members are each taken by `takeMembers`; gone once it is empty.
    template <typename F>
    void takeObject(const std::string& key, F takeMembers) {
        if (!rest_.contains(key)) return;
        takeMembers(rest_[key]);
        if (rest_[key].empty()) rest_.erase(key);
    }
    void takeRuntime() {
        takeObject("runtime", [this](Json& r) {
            takeFrom(r, "threads", {});
            takeFrom(r, "device", {});
            takeFrom(r, "precision", {});
        });
    }
    // The evaluation protocol: its sample counts are one flag when equal (as the workbench sets them).
    void takeProtocol(const std::string& key) {
        takeObject(key, [this](Json& p) {
            const Json n = p.value("real_samples", Json());
            if (!n.is_null() && p.value("fake_samples", Json()) == n && p.value("w1_samples", Json()) == n) {
                args_ << "--samples" << text(n);
                for (const char* k : {"real_samples", "fake_samples", "w1_samples"}) p.erase(k);
            }
            takeScalars(p);
        });
    }
    void takeList(const std::string& key, const QString& flag) {
        if (!rest_.contains(key) || !rest_[key].is_array()) return;
        for (const Json& v : rest_[key]) args_ << flag << text(v);
        rest_.erase(key);
    }
    // The barycenter's sources: one --source (or --black-box) per source, each followed by its
    // per-source flags (--name, --radius, ...) in the same order.
    void takeSources() {
        if (!rest_.contains("sources")) return;
        bool allTaken = true;
        for (Json& s : rest_["sources"]) {
            takeFrom(s, "generator", "--source");
            takeFrom(s, "black_box", "--black-box");
            takeScalars(s);
            allTaken = allTaken && s.empty();
        }
        if (allTaken) rest_.erase("sources");
    }
    Json& rest() { return rest_; }
    QStringList& args() { return args_; }

    void takeFrom(Json& object, const std::string& key, QString flag) {
        if (!object.contains(key) || !object[key].is_primitive()) return;
        if (flag.isEmpty()) flag = "--" + QString::fromStdString(key).replace('_', '-');
        const Json v = object[key];
        if (v.is_boolean()) {
            if (!v.get<bool>()) return;  // a false boolean has no flag: left over, and reported
            args_ << flag;
        } else {
            args_ << flag << text(v);
        }
        object.erase(key);
    }

private:
    static std::vector<std::string> keysOf(const Json& o) {
        std::vector<std::string> keys;
        for (auto it = o.begin(); it != o.end(); ++it) keys.push_back(it.key());
        return keys;
    }
    Json rest_;
    QStringList args_;
};

// The CLI's flags for a workbench config of `kind` (the experiment takes its config as a file).
CommandLine commandLineFor(const QString& kind, const Json& config, const QString& dir) {
    const bool ownRunDir = kind == "average" || kind == "evaluate" || kind == "evaluator-train";
    CommandLine c(config, kind == "evaluator-train" ? QStringLiteral("evaluator train") : kind);
    c.take("run_dir", ownRunDir ? "--run-dir" : "--out");
    c.takeRuntime();
    if (kind == "experiment") {  // the rest of the config as the file the command reads
        const QString file = dir + "/experiment-config.json";
        const Json body = c.rest();
        uitest::writeFile(file, QByteArray::fromStdString(body.dump(2)));
        c.rest() = Json::object();
        c.args() << file;
        return c;
    }
    if (kind == "adapt") {  // the paper's n, and the barycenter G starts --from
        c.take("barycenter", "--from");
        c.take("k", "--n");
    }
    c.takeSources();
    c.takeObject("radius_estimation", [&c](Json& e) { c.takeScalars(e); });
    c.takeObject("arch", [&c](Json& a) { c.takeScalars(a); });
    c.takeProtocol("protocol");
    c.takeProtocol("evaluation");
    c.takeList("generators", "--generator");
    c.takeScalars(c.rest());
    return c;
}

}  // namespace

class TestCliConfigs : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void everyStageCommandPrintsTheConfigTheWorkbenchWrites() {
        const QString dir = uitest::scratch("cli_configs");
        QSettings settings(dir + "/settings.ini", QSettings::IniFormat);
        ConfigRecorder recorder;
        MainWindow w(recorder.catalog(), &settings);
        w.setInteractive(false);
        w.resize(1200, 800);
        w.show();

        // Two image sources (real generator files), renamed and with their own radii; constrained weights.
        const QStringList sources = uitest::writeSourceFiles(dir, uitest::dcganArch(), 2);
        QVERIFY(sources.size() == 2);
        QVERIFY(w.addGeneratorFiles(sources).isEmpty());
        Project* project = w.project();
        project->renameSource(project->sources()[0].id, "shirts and coats");
        project->renameSource(project->sources()[1].id, "bags");
        project->setRadius(project->sources()[0].id, 0.7);
        project->setRadius(project->sources()[1].id, 1.3);
        project->setWeightMode(WeightMode::Constrained);
        // Local data: a folder of small images, 20 of them drawn with seed 3.
        const QString local = uitest::tinyImageFolder(dir + "/local");
        project->setLocalData({"folder:" + local, 20, 3});
        // Finished runs the later stages take their input generators from (adapt: the newest
        // barycenter and its critics; ternarize and evaluate: the newest adapted generator).
        for (const QString& kind : {QStringLiteral("barycenter"), QStringLiteral("adapt")}) {
            const QString runDir = dir + "/runs/" + kind + "-done";
            QVERIFY(uitest::writeFile(runDir + "/generator.coalesce", uitest::generatorFileBytes()));
            QVERIFY(uitest::writeFile(runDir + "/checkpoints/latest.coalesce", uitest::generatorFileBytes()));
            project->addRun({kind, runDir, kind + " done", "finished", QDateTime::currentDateTime()});
        }
        // A few edits typed into the stage editors, as a user makes them.
        project->setStageConfig("pretrain", {{"data", "folder:" + local}, {"iterations", 12}});
        project->setStageConfig("barycenter", {{"lr", 2e-4}, {"batch_size", 32}});
        project->setStageConfig("adapt", {{"iterations", 300}});

        StagePanel* stages = w.stagePanel();
        QStringList kinds = {"pretrain", "barycenter", "adapt", "average", "experiment", "ternarize", "evaluate", "evaluator-train"};
        for (const QString& kind : JobCatalog::engine().kinds().keys())
            QVERIFY2(kinds.contains(kind), qPrintable("a new stage kind " + kind + " is not compared with its CLI command here"));
        for (const QString& kind : kinds) {
            stages->selectKind(kind);
            QCOMPARE(stages->currentKind(), kind);
            QTRY_VERIFY2_WITH_TIMEOUT(stages->startButton()->isEnabled(), qPrintable(kind + ": Start is disabled"), 10000);
            QSignalSpy finished(&w, &MainWindow::jobFinished);
            stages->startButton()->click();
            QVERIFY2(finished.count() == 1 || finished.wait(20000), qPrintable(kind + " did not start: " + w.statusJobText()));
            const Json workbench = recorder.last();
            QCOMPARE(QString::fromStdString(workbench.value("kind", "")), kind);

            CommandLine line = commandLineFor(kind, workbench, dir);
            QVERIFY2(line.rest().empty(),
                     qPrintable(kind + ": the workbench writes keys no CLI flag gives: " + QString::fromStdString(line.rest().dump())));
            QProcess cli;
            QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
            for (const char* launcher : {"WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT"})  // not a data-parallel rank
                environment.remove(launcher);
            cli.setProcessEnvironment(environment);
            cli.start(COALESCE_CLI, line.args() << "--print-config");
            QVERIFY2(cli.waitForFinished(60000), qPrintable(kind + ": coalesce-cli did not finish"));
            const QString command = "coalesce-cli " + line.args().join(' ');
            qInfo().noquote() << command;
            QVERIFY2(cli.exitCode() == 0, qPrintable(command + "\n" + QString::fromUtf8(cli.readAllStandardError())));
            const Json printed = Json::parse(cli.readAllStandardOutput().toStdString(), nullptr, false);
            QVERIFY2(printed == workbench, qPrintable(QStringLiteral("%1\nprints\n%2\nthe workbench writes\n%3")
                                                          .arg(command, QString::fromStdString(printed.dump(2)),
                                                               QString::fromStdString(workbench.dump(2)))));
        }
    }
};

COALESCE_TEST_MAIN(TestCliConfigs)
#include "test_cli_configs.moc"
