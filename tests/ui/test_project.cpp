// The project document: λ from radii, undo/redo (radius drags merge into one step), merge order,
// JSON save/load with relative paths and clear errors, recent files, model-file inspection and
// reading run directories.
#include "support/test_main.h"  // Qt Test, and the suite registration

#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSettings>
#include <QUndoStack>

#include "project/model_file_info.h"
#include "project/project.h"
#include "project/recent_projects.h"
#include "project/stage_configs.h"
#include "project/stage_readiness.h"
#include "jobs/job_factory.h"
#include "core/error.h"
#include "train/weight_rule.h"
#include "runs/run_directory_reader.h"
#include "runs/run_store.h"
#include "io/model_files.h"
#include "quant/packed_generator.h"
#include "quant/ternary_layers.h"
#include "ui_test_helpers.h"

using uitest::dcganArch;
using uitest::generatorFileBytes;
using uitest::scratch;

static void writeFile(const QString& path, const QByteArray& bytes) { QVERIFY(uitest::writeFile(path, bytes)); }

class TestProject : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    // The dock and the runs share the engine's rule (train/weight_rule.h).
    void weightsAreInverseRadiiNormalised() {
        using coalesce::lambdasFromRadii;
        using coalesce::mergeOrder;
        // η = 0.5, 1, 2  ->  1/η = 2, 1, 0.5 (sum 3.5)  ->  λ = 4/7, 2/7, 1/7
        const auto w = lambdasFromRadii({0.5, 1.0, 2.0}, 1.0, {true, true, true});
        QCOMPARE(w.size(), size_t{3});
        QVERIFY(qAbs(w[0] - 4.0 / 7.0) < 1e-12);
        QVERIFY(qAbs(w[1] - 2.0 / 7.0) < 1e-12);
        QVERIFY(qAbs(w[2] - 1.0 / 7.0) < 1e-12);
        // A disabled source gets 0 and the others renormalise: 1/η = 2, 0.5 -> 0.8, 0.2
        const auto w2 = lambdasFromRadii({0.5, 1.0, 2.0}, 1.0, {true, false, true});
        QVERIFY(qAbs(w2[0] - 0.8) < 1e-12);
        QCOMPARE(w2[1], 0.0);
        QVERIFY(qAbs(w2[2] - 0.2) < 1e-12);
        QCOMPARE(lambdasFromRadii({1.0}, 1.0, {false}), std::vector<double>({0.0}));
        // power 2: 1/η² = 4, 1 -> 0.8, 0.2
        const auto w3 = lambdasFromRadii({0.5, 1.0}, 2.0);
        QVERIFY(qAbs(w3[0] - 0.8) < 1e-12);
        bool refused = false;
        try {
            lambdasFromRadii({1.0, 0.0});
        } catch (const coalesce::Error& e) {
            refused = QString(e.what()).contains("η");
        }
        QVERIFY(refused);
        QCOMPARE(mergeOrder({0.2, 0.5, 0.3}), std::vector<size_t>({1, 2, 0}));
        QCOMPARE(mergeOrder({0.5, 0.5}), std::vector<size_t>({0, 1}));  // ties keep list order
        // The project's λ are the rule's.
        Project p;
        p.addSources({"/a.coalesce", "/b.coalesce"});
        const QString a = p.sources()[0].id, b = p.sources()[1].id;
        p.setRadius(a, 0.5);
        p.setRadius(b, 2.0);
        QVERIFY(qAbs(p.weightOf(a) - 0.8) < 1e-12);
        QCOMPARE(p.mergeOrder(), QStringList({a, b}));
        p.setRadius(a, 4.0);
        QCOMPARE(p.mergeOrder(), QStringList({b, a}));
    }

    void addRemoveUndoRedo() {
        Project p;
        QSignalSpy sourcesChanged(&p, &Project::sourcesChanged);
        p.addSources({"/models/a.coalesce", "/models/b.coalesce"});
        QCOMPARE(p.sources().size(), 2);
        QCOMPARE(p.undoStack()->count(), 1);  // one drop = one undo step
        QCOMPARE(p.sources()[0].name, QString("a"));
        QVERIFY(p.isModified());
        const QString idB = p.sources()[1].id;
        p.removeSource(idB);
        QCOMPARE(p.sources().size(), 1);
        p.undoStack()->undo();
        QCOMPARE(p.sources().size(), 2);
        QCOMPARE(p.sources()[1].id, idB);
        p.undoStack()->undo();
        QCOMPARE(p.sources().size(), 0);
        QVERIFY(!p.isModified());  // back at the clean state
        p.undoStack()->redo();
        QCOMPARE(p.sources().size(), 2);
        QVERIFY(sourcesChanged.count() >= 4);
    }

    void radiusDragMergesIntoOneStep() {
        Project p;
        p.addSources({"/m/a.coalesce", "/m/b.coalesce"});
        const QString a = p.sources()[0].id, b = p.sources()[1].id;
        const int base = p.undoStack()->count();
        QSignalSpy weights(&p, &Project::weightsChanged);
        for (int i = 1; i <= 20; ++i) p.setRadius(a, 1.0 + 0.1 * i, /*mergeKey=*/7);
        QCOMPARE(p.undoStack()->count(), base + 1);
        QCOMPARE(p.source(a)->radius, 3.0);
        QCOMPARE(weights.count(), 20);  // λ shown live during the drag
        // λ_a = (1/3) / (1/3 + 1) = 0.25
        QVERIFY(qAbs(p.weightOf(a) - 0.25) < 1e-12);
        p.undoStack()->undo();
        QCOMPARE(p.source(a)->radius, 1.0);
        QVERIFY(qAbs(p.weightOf(a) - 0.5) < 1e-12);
        p.undoStack()->redo();
        QCOMPARE(p.source(a)->radius, 3.0);

        // A new drag (new key) is a new step; same key but another source is not merged.
        p.setRadius(a, 2.0, 8);
        p.setRadius(b, 2.0, 8);
        QCOMPARE(p.undoStack()->count(), base + 3);
        // Typed values (key 0) never merge.
        p.setRadius(a, 0.5);
        p.setRadius(a, 0.25);
        QCOMPARE(p.undoStack()->count(), base + 5);
        // A drag that returns to its start leaves no step.
        const int before = p.undoStack()->count();
        p.setRadius(b, 4.0, 9);
        p.setRadius(b, 2.0, 9);
        QCOMPARE(p.undoStack()->count(), before);
        QCOMPARE(p.source(b)->radius, 2.0);
        // Out-of-range radii are clamped, never stored as 0 or negative.
        p.setRadius(b, -5.0);
        QCOMPARE(p.source(b)->radius, kMinRadius);
    }

    void mergeOrderDefaultsToDescendingWeight() {
        Project p;
        p.addSources({"/m/a.coalesce", "/m/b.coalesce", "/m/c.coalesce"});
        const QString a = p.sources()[0].id, b = p.sources()[1].id, c = p.sources()[2].id;
        p.setRadius(a, 3.0);
        p.setRadius(b, 1.0);
        p.setRadius(c, 2.0);
        QCOMPARE(p.mergeOrder(), QStringList({b, c, a}));
        QVERIFY(!p.hasCustomMergeOrder());
        p.moveInMergeOrder(a, -1);  // user edit: a before c
        QCOMPARE(p.mergeOrder(), QStringList({b, a, c}));
        QVERIFY(p.hasCustomMergeOrder());
        p.setRadius(c, 0.1);  // a custom order does not follow the weights any more
        QCOMPARE(p.mergeOrder(), QStringList({b, a, c}));
        p.removeSource(a);
        QCOMPARE(p.mergeOrder(), QStringList({b, c}));
        p.undoStack()->undo();
        QCOMPARE(p.mergeOrder(), QStringList({b, a, c}));
        p.resetMergeOrder();
        QCOMPARE(p.mergeOrder(), QStringList({c, b, a}));
        p.undoStack()->undo();
        QCOMPARE(p.mergeOrder(), QStringList({b, a, c}));
    }

    void otherEditsAreUndoable() {
        Project p;
        p.addSources({"/m/a.coalesce"});
        const QString a = p.sources()[0].id;
        p.setWeightMode(WeightMode::Constrained);
        p.setCombineMode(CombineMode::Recursive);
        p.renameSource(a, "shirts");
        p.setSourceEnabled(a, false);
        p.setLocalData({"fashion-mnist:train:8,9", 8, 3});
        p.setStageConfig("pretrain", QJsonObject{{"iterations", 100}});
        QCOMPARE(p.weightMode(), WeightMode::Constrained);
        QCOMPARE(p.source(a)->name, QString("shirts"));
        QCOMPARE(p.weights()[0], 0.0);
        for (int i = 0; i < 6; ++i) p.undoStack()->undo();
        QCOMPARE(p.weightMode(), WeightMode::Fixed);
        QCOMPARE(p.combineMode(), CombineMode::Joint);
        QCOMPARE(p.source(a)->name, QString("a"));
        QVERIFY(p.source(a)->enabled);
        QCOMPARE(p.localData().count, 20);
        QVERIFY(p.stageConfig("pretrain").isEmpty());
    }

    // Defect 4 of "tried as a new user": every run writes generator.coalesce, so file names made every
    // source "generator" (and the experiment refused the project). Names come from the run folder and
    // its classes, are unique, and can be changed (undoably, never to another source's name).
    void sourceNamesAreMeaningfulUniqueAndEditable() {
        const QString dir = scratch("source_names");
        writeFile(dir + "/runs/source_0123/generator.coalesce", "x");
        writeFile(dir + "/runs/pretrain-20261202-101010/generator.coalesce", "x");
        writeFile(dir + "/runs/pretrain-20261202-101010/config.json", R"({"kind": "pretrain", "data": "fashion-mnist:train:4,5,6,7"})");
        writeFile(dir + "/runs/pretrain-20261202-101010/checkpoints/step_000400.coalesce", "x");
        writeFile(dir + "/other/source_0123/generator.coalesce", "x");
        writeFile(dir + "/models/shirts.coalesce", "x");
        Project p;
        p.addSources({dir + "/runs/source_0123/generator.coalesce", dir + "/runs/pretrain-20261202-101010/generator.coalesce",
                      dir + "/runs/pretrain-20261202-101010/checkpoints/step_000400.coalesce",
                      dir + "/other/source_0123/generator.coalesce", dir + "/models/shirts.coalesce"});
        QStringList names;
        for (const SourceModel& s : p.sources()) names << s.name;
        QCOMPARE(names, (QStringList{"source_0123", "pretrain-20261202-101010 (classes 4,5,6,7)",
                                     "pretrain-20261202-101010 step_000400 (classes 4,5,6,7)", "source_0123 (2)", "shirts"}));
        const QString first = p.sources()[0].id, second = p.sources()[1].id;
        p.renameSource(second, "  sandals  ");
        QCOMPARE(p.source(second)->name, QString("sandals"));
        QCOMPARE(p.undoStack()->undoText(), QString("Rename pretrain-20261202-101010 (classes 4,5,6,7)"));
        p.renameSource(first, "sandals");  // taken
        QCOMPARE(p.source(first)->name, QString("source_0123"));
        p.renameSource(first, "   ");       // empty
        QCOMPARE(p.source(first)->name, QString("source_0123"));
        p.undoStack()->undo();
        QCOMPARE(p.source(second)->name, QString("pretrain-20261202-101010 (classes 4,5,6,7)"));
        // The experiment stage accepts the project: no name is used twice.
        const QJsonArray sources = effectiveStageConfig("experiment", p)["sources"].toArray();
        QSet<QString> unique;
        for (const QJsonValue& v : sources) unique.insert(v.toObject()["name"].toString());
        QCOMPARE(unique.size(), sources.size());
    }

    void experimentStageTakesSourcesAndLocalDataFromTheProject() {
        Project p;
        p.addSources({"/m/a.coalesce", "/m/b.coalesce"});
        p.setLocalData({"fashion-mnist:train:8,9", 20, 3});
        const QJsonObject c = effectiveStageConfig("experiment", p);
        QCOMPARE(c["kind"].toString(), QString("experiment"));
        QCOMPARE(c["sources"].toArray().size(), 2);
        QCOMPARE(c["sources"].toArray()[0].toObject()["generator"].toString(), QString("/m/a.coalesce"));
        QCOMPARE(c["target"].toString(), QString("fashion-mnist:train:8,9"));
        QCOMPARE(c["shots"].toArray(), (QJsonArray{20}));
        // Scored on the held-out split of the same classes.
        QCOMPARE(c["evaluation"].toObject()["reference"].toString(), QString("fashion-mnist:test:8,9"));
        // The ternarize stage: the measured best post-training quantiser, scored on the same split.
        const QJsonObject t = effectiveStageConfig("ternarize", p);
        QCOMPARE(t["method"].toString(), QString("twn"));
        QVERIFY(t["keep_last_float"].toBool());
        QCOMPARE(t["evaluation"].toObject()["reference"].toString(), QString("fashion-mnist:test:8,9"));
    }
    // A TorchScript generator of another architecture joins as a black-box source: saved and reopened,
    // written into the barycenter config as the CLI writes it (and the engine accepts), never opened by
    // the workbench (only "is it a zip archive"), exempt from the same-architecture check, refused by the
    // experiment stage whose baselines need Coalesce generators.
    void blackBoxSourcesAreSavedConfiguredAndChecked() {
        const QString dir = scratch("project_black_box");
        writeFile(dir + "/a.coalesce", uitest::generatorFileBytes(uitest::dcganArch(100)));
        writeFile(dir + "/b.coalesce", uitest::generatorFileBytes(uitest::dcganArch(100), {}, 2));
        writeFile(dir + "/box.pt", QByteArray("PK\x05\x06", 4) + QByteArray(18, '\0'));  // an (empty) zip archive
        writeFile(dir + "/notzip.pt", "print('hello')");
        Project p;
        p.addSources({dir + "/a.coalesce", dir + "/b.coalesce"});
        p.addBlackBoxSources({dir + "/box.pt"}, 64);
        QCOMPARE(p.sources().size(), 3);
        p.undoStack()->undo();
        QCOMPARE(p.sources().size(), 2);
        p.undoStack()->redo();
        const SourceModel box = p.sources()[2];
        QVERIFY(box.blackBox);
        QCOMPARE(box.latentDim, 64);
        QVERIFY(!p.sources()[0].blackBox);

        QJsonObject config = effectiveStageConfig("barycenter", p);
        const QJsonArray sources = config["sources"].toArray();
        QCOMPARE(sources.size(), 3);
        QJsonObject written;
        for (const QJsonValue& s : sources)
            if (s.toObject().contains("black_box")) written = s.toObject();
        QCOMPARE(written["black_box"].toString(), dir + "/box.pt");
        QCOMPARE(written["latent_dim"].toInt(), 64);
        QVERIFY(!written.contains("generator"));
        config["run_dir"] = dir + "/run";
        try {
            coalesce::createJob(uitest::toJson(config));  // the engine's own check of every key
        } catch (const coalesce::Error& e) {
            QFAIL(e.what());
        }

        ModelFileCache files;
        QVERIFY2(sourceFileProblems(p.sources(), files).isEmpty(), qPrintable(QStringList(sourceFileProblems(p.sources(), files).values()).join("; ")));
        QVERIFY(sourceFileInfo(box, files).architecture.contains("black box"));
        QVERIFY(stageProblems("barycenter", p, files, {}).isEmpty());
        QVERIFY(stageProblems("experiment", p, files, {}).join("\n").contains("black-box source"));
        p.addBlackBoxSources({dir + "/notzip.pt"}, 0);
        const auto problems = sourceFileProblems(p.sources(), files);
        QCOMPARE(problems.size(), 1);
        QVERIFY(problems.first().contains("not a TorchScript archive"));

        QString error;
        QVERIFY2(p.save(dir + "/p.coalesce-project", &error), qPrintable(error));
        Project q;
        QVERIFY2(q.load(dir + "/p.coalesce-project", &error), qPrintable(error));
        QCOMPARE(q.sources(), p.sources());
        QVERIFY(q.sources()[2].blackBox && q.sources()[2].latentDim == 64 && q.sources()[3].latentDim == 0);
    }

    void saveLoadRoundTripWithRelativePaths() {
        const QString dir = scratch("project_roundtrip");
        Project p;
        p.addSources({dir + "/models/a.coalesce", dir + "/models/b.coalesce"});
        p.setRadius(p.sources()[0].id, 0.5);
        p.setCombineMode(CombineMode::Recursive);
        p.moveInMergeOrder(p.sources()[1].id, -1);
        p.setLocalData({"folder:" + dir + "/local:8,9", 20, 7});
        p.setStageConfig("pretrain", QJsonObject{{"iterations", 200}, {"seed", 3}});
        p.addRun({"pretrain", dir + "/runs/pretrain-1", "pretrain 1", "finished", QDateTime::currentDateTimeUtc()});
        QString error;
        const QString file = dir + "/exp.coalesce-project";
        QVERIFY2(p.save(file, &error), qPrintable(error));
        QVERIFY(!p.isModified());
        QCOMPARE(p.displayName(), QString("exp"));
        QCOMPARE(QDir(dir).entryList(QDir::Files), QStringList({"exp.coalesce-project"}));  // no temp files left

        // On disk: schema header and relative paths only.
        QFile f(file);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject json = QJsonDocument::fromJson(f.readAll()).object();
        QCOMPARE(json["format"].toString(), QString("coalesce-project"));
        QCOMPARE(json["version"].toInt(), 1);
        QCOMPARE(json["sources"].toArray()[0].toObject()["path"].toString(), QString("models/a.coalesce"));
        QCOMPARE(json["local_data"].toObject()["spec"].toString(), QString("folder:local:8,9"));
        QCOMPARE(json["runs"].toArray()[0].toObject()["dir"].toString(), QString("runs/pretrain-1"));

        // Moving the whole folder keeps the project valid.
        const QString moved = scratch("project_moved") + "/copy";
        QVERIFY(QDir().rename(dir, moved));
        Project q;
        QVERIFY2(q.load(moved + "/exp.coalesce-project", &error), qPrintable(error));
        QCOMPARE(q.sources().size(), 2);
        QCOMPARE(q.sources()[0].path, moved + "/models/a.coalesce");
        QCOMPARE(q.sources()[0].radius, 0.5);
        QCOMPARE(q.combineMode(), CombineMode::Recursive);
        QCOMPARE(q.mergeOrder(), p.mergeOrder());
        QCOMPARE(q.localData().spec, "folder:" + moved + "/local:8,9");
        QCOMPARE(q.localData().seed, qint64(7));
        QCOMPARE(q.stageConfig("pretrain")["iterations"].toInt(), 200);
        QCOMPARE(q.runs().size(), 1);
        QCOMPARE(q.runs()[0].dir, moved + "/runs/pretrain-1");
        QCOMPARE(q.undoStack()->count(), 0);
        QVERIFY(!q.isModified());
        // New sources after load get fresh ids.
        q.addSources({moved + "/models/c.coalesce"});
        QCOMPARE(q.sources()[2].id, QString("s3"));
        // Results mark the project modified but are not undo steps.
        q.undoStack()->undo();
        QVERIFY(!q.isModified());
        const int steps = q.undoStack()->count();
        q.setRunStatus(moved + "/runs/pretrain-1", "cancelled");
        QVERIFY(q.isModified());
        QCOMPARE(q.undoStack()->count(), steps);
        // The third combination survives a save too.
        q.setCombineMode(CombineMode::Mixture);
        QVERIFY2(q.save(moved + "/exp.coalesce-project", &error), qPrintable(error));
        Project r;
        QVERIFY2(r.load(moved + "/exp.coalesce-project", &error), qPrintable(error));
        QCOMPARE(r.combineMode(), CombineMode::Mixture);
    }

    void badFilesGiveClearErrorsAndChangeNothing() {
        const QString dir = scratch("project_bad");
        Project p;
        p.addSources({"/m/keep.coalesce"});
        QString error;
        auto expectError = [&](const QByteArray& content, const QString& fragment) {
            const QString file = dir + "/bad.coalesce-project";
            writeFile(file, content);
            error.clear();
            QVERIFY(!p.load(file, &error));
            QVERIFY2(error.contains(fragment), qPrintable("got: " + error));
            QVERIFY2(error.contains("bad.coalesce-project"), qPrintable("error must name the file: " + error));
            QCOMPARE(p.sources().size(), 1);  // untouched
            QCOMPARE(p.sources()[0].name, QString("keep"));
        };
        expectError("{\n  \"format\": \"coalesce-project\",\n  \"version\": 1,\n  oops\n}", "line 4");
        expectError("[1, 2]", "expected a JSON object");
        expectError(R"({"format": "something-else", "version": 1})", "not a Coalesce project");
        expectError(R"({"format": "coalesce-project", "version": 9})", "newer than this Coalesce supports");
        expectError(R"({"format": "coalesce-project", "version": 1, "sources": [{"path": "a.coalesce", "radius": -1}]})",
                    "sources[0].radius must be a number > 0");
        expectError(R"({"format": "coalesce-project", "version": 1, "sources": [{"radius": 1}]})", "sources[0].path is missing");
        expectError(R"({"format": "coalesce-project", "version": 1, "weighting": "sometimes"})", "\"weighting\" must be");
        expectError(R"({"format": "coalesce-project", "version": 1, "combination": "blend"})", "\"combination\" must be");
        expectError(R"({"format": "coalesce-project", "version": 1, "merge_order": ["s9"]})", "unknown source \"s9\"");
        QVERIFY(!p.load(dir + "/missing.coalesce-project", &error));
        QVERIFY(error.contains("no such file"));
        QVERIFY(!p.save(dir + "/no/such/folder/x.coalesce-project", &error));
        QVERIFY(error.contains("cannot save"));
    }

    void dataSpecPathsAreRelativised() {
        QCOMPARE(relativizeDataSpec("folder:/a/b/local", "/a"), QString("folder:b/local"));
        QCOMPARE(relativizeDataSpec("folder:/a/b/local:8,9", "/a"), QString("folder:b/local:8,9"));
        QCOMPARE(relativizeDataSpec("idx:/a/x.gz:/a/y.gz:3", "/a"), QString("idx:x.gz:y.gz:3"));
        QCOMPARE(relativizeDataSpec("fashion-mnist:train:8,9", "/a"), QString("fashion-mnist:train:8,9"));
        QCOMPARE(resolveDataSpec("folder:b/local:8,9", "/a"), QString("folder:/a/b/local:8,9"));
        QCOMPARE(resolveDataSpec("idx:x.gz:y.gz", "/a"), QString("idx:/a/x.gz:/a/y.gz"));
        QCOMPARE(resolveDataSpec("toy:ring8", "/a"), QString("toy:ring8"));
    }

    void recentProjects() {
        const QString dir = scratch("recent");
        QSettings settings(dir + "/settings.ini", QSettings::IniFormat);
        RecentProjects recent(settings);
        for (int i = 0; i < 12; ++i) writeFile(dir + QString("/p%1.coalesce-project").arg(i), "{}");
        for (int i = 0; i < 12; ++i) recent.add(dir + QString("/p%1.coalesce-project").arg(i));
        QCOMPARE(recent.list().size(), RecentProjects::kMaxEntries);
        QCOMPARE(QFileInfo(recent.list().first()).fileName(), QString("p11.coalesce-project"));
        recent.add(dir + "/p5.coalesce-project");  // re-opening moves it to the front, no duplicate
        QCOMPARE(QFileInfo(recent.list().first()).fileName(), QString("p5.coalesce-project"));
        QCOMPARE(recent.list().count(dir + "/p5.coalesce-project"), 1);
        QFile::remove(dir + "/p11.coalesce-project");  // deleted files disappear from the menu
        QVERIFY(!recent.list().contains(dir + "/p11.coalesce-project"));
        recent.clear();
        QVERIFY(recent.list().isEmpty());
    }

    void modelFileInspection() {
        const QString dir = scratch("model_files");
        writeFile(dir + "/good.coalesce", generatorFileBytes(dcganArch(), QJsonObject{{"step", 500}}));
        const ModelFileInfo good = inspectModelFile(dir + "/good.coalesce");
        QVERIFY2(good.usable(), qPrintable(good.error));
        QCOMPARE(good.format, ModelFileInfo::Format::Coalesce);
        QVERIFY2(good.architecture.startsWith("dcgan32 1×32×32, z=100"), qPrintable(good.architecture));
        QCOMPARE(good.meta["step"].toInt(), 500);
        QVERIFY(good.generatorTensors > 4);

        writeFile(dir + "/other.coalesce", generatorFileBytes(dcganArch(64), {}));
        const ModelFileInfo other = inspectModelFile(dir + "/other.coalesce");
        QVERIFY2(other.usable(), qPrintable(other.error));
        QVERIFY(other.compatibilityKey != good.compatibilityKey);

        writeFile(dir + "/notes.txt", "hello, this is not a model at all");
        const ModelFileInfo text = inspectModelFile(dir + "/notes.txt");
        QVERIFY(!text.usable());
        QVERIFY2(text.error.startsWith("notes.txt: "), qPrintable(text.error));

        writeFile(dir + "/script.pt", QByteArray("PK\x03\x04", 4) + QByteArray(100, 'x'));
        const ModelFileInfo zip = inspectModelFile(dir + "/script.pt");
        QVERIFY(!zip.usable());
        QVERIFY2(zip.error.startsWith("script.pt: "), qPrintable(zip.error));

        // Truncated, or one data byte changed: the whole file is checked when it is added (issue: a
        // truncated .coalesce was accepted and failed only at Start).
        const QByteArray full = generatorFileBytes(dcganArch(), {});
        writeFile(dir + "/truncated.coalesce", full.left(full.size() - 100));
        const ModelFileInfo truncated = inspectModelFile(dir + "/truncated.coalesce");
        QVERIFY2(!truncated.usable() && truncated.error.startsWith("truncated.coalesce: "), qPrintable(truncated.error));
        QByteArray flipped = full;
        flipped[flipped.size() - 10] = char(flipped[flipped.size() - 10] ^ 0x55);
        writeFile(dir + "/flipped.coalesce", flipped);
        const ModelFileInfo corrupt = inspectModelFile(dir + "/flipped.coalesce");
        QVERIFY2(!corrupt.usable() && corrupt.error.startsWith("flipped.coalesce: "), qPrintable(corrupt.error));

        QCOMPARE(inspectModelFile(dir + "/absent.coalesce").format, ModelFileInfo::Format::Missing);
        QVERIFY(!inspectModelFile(dir).usable());
        QVERIFY(looksLikeModelFile("x.COALESCE"));
        QVERIFY(!looksLikeModelFile("x.png"));
    }

    // Every file the workbench advertises and exports loads, through the engine's loader (the same
    // one `coalesce-cli info` uses): TorchScript .pt, a torch.save state_dict .pth, safetensors + JSON.
    void exportedFormatsAreAccepted() {
        const QString dir = scratch("model_files_exports");
        coalesce::Generator g = uitest::makeGenerator();
        coalesce::exportGeneratorTorchScript(g, (dir + "/g.pt").toStdString());
        coalesce::exportGeneratorStateDict(g, (dir + "/g.pth").toStdString());
        coalesce::exportGeneratorSafetensors(g, (dir + "/g.safetensors").toStdString());
        writeFile(dir + "/native.coalesce", generatorFileBytes());
        const QString key = inspectModelFile(dir + "/native.coalesce").compatibilityKey;
        QVERIFY(!key.isEmpty());
        for (const char* name : {"g.pt", "g.pth", "g.safetensors"}) {
            const ModelFileInfo info = inspectModelFile(dir + "/" + name);
            QVERIFY2(info.usable(), qPrintable(QString(name) + ": " + info.error));
            QCOMPARE(info.compatibilityKey, key);
            QVERIFY2(info.architecture.startsWith("dcgan32 1×32×32, z=100"), qPrintable(info.architecture));
        }
        QCOMPARE(inspectModelFile(dir + "/g.pt").format, ModelFileInfo::Format::TorchArchive);
        QCOMPARE(inspectModelFile(dir + "/g.safetensors").format, ModelFileInfo::Format::Safetensors);
    }

    // Packed ternary generators (engine quant/packed_generator.h), written by the engine.
    void packedTernaryInspection() {
        const QString dir = scratch("model_files_ctern");
        coalesce::TernaryOptions options;
        options.method = coalesce::TernaryMethod::Twn;
        coalesce::Generator tg = coalesce::ternarizeGenerator(uitest::makeGenerator(), options);
        tg->eval();
        coalesce::savePackedGenerator((dir + "/good.ctern").toStdString(), coalesce::packGenerator(tg, {{"step", 700}}));
        const ModelFileInfo good = inspectModelFile(dir + "/good.ctern");
        QVERIFY2(good.usable(), qPrintable(good.error));
        QCOMPARE(good.format, ModelFileInfo::Format::PackedTernary);
        QVERIFY2(good.architecture.startsWith("dcgan32 1×32×32, z=100"), qPrintable(good.architecture));
        QVERIFY2(good.architecture.contains("ternary"), qPrintable(good.architecture));
        QCOMPARE(good.meta["step"].toInt(), 700);
        QVERIFY(good.isImageModel);
        // Coalesces with float generators of the same architecture.
        writeFile(dir + "/float.coalesce", generatorFileBytes(dcganArch(), {}));
        QCOMPARE(good.compatibilityKey, inspectModelFile(dir + "/float.coalesce").compatibilityKey);

        QFile file(dir + "/good.ctern");
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray full = file.readAll();
        for (int keep : {20, 60, int(full.size()) - 2}) {
            const QString path = dir + QStringLiteral("/cut%1.ctern").arg(keep);
            writeFile(path, full.left(keep));
            const ModelFileInfo cut = inspectModelFile(path);
            QVERIFY2(!cut.usable() && cut.error.startsWith(QFileInfo(path).fileName() + ": "), qPrintable(cut.error));
        }
        QByteArray flipped = full;
        flipped[flipped.size() - 3] = char(flipped[flipped.size() - 3] ^ 0x55);
        writeFile(dir + "/flipped.ctern", flipped);
        QVERIFY(!inspectModelFile(dir + "/flipped.ctern").usable());

        QVERIFY(looksLikeModelFile("x.CTERN"));
        QVERIFY(modelFileDialogFilter().contains("*.ctern"));
    }

    // The sample projects (scripts/run.sh --gui opens one) load, and every generator they name is a
    // shipped, usable file.
    void bundledSampleProjectsOpenWithUsableSources() {
        const QDir dir(QStringLiteral(COALESCE_SOURCE_DIR "/resources/samples"));
        int projects = 0, sources = 0;
        for (const QString& name : dir.entryList({"*.coalesce-project"}, QDir::Files)) {
            Project p;
            QString error;
            QVERIFY2(p.load(dir.filePath(name), &error), qPrintable(name + ": " + error));
            ++projects;
            for (const SourceModel& s : p.sources()) {
                const ModelFileInfo info = inspectModelFile(s.path);
                QVERIFY2(info.usable(), qPrintable(name + ": " + info.error));
                ++sources;
            }
        }
        QVERIFY(projects >= 2);
        QVERIFY(sources >= 2);
        QVERIFY(QFileInfo::exists(QStringLiteral(COALESCE_SOURCE_DIR "/scripts/run.sh")));
        QFile run(QStringLiteral(COALESCE_SOURCE_DIR "/scripts/run.sh"));
        QVERIFY(run.open(QIODevice::ReadOnly));
        const QString script = QString::fromUtf8(run.readAll());
        const QRegularExpression opened("resources/samples/[^\\s]+\\.coalesce-project");
        const auto m = opened.match(script);
        QVERIFY2(m.hasMatch() && QFileInfo::exists(QStringLiteral(COALESCE_SOURCE_DIR "/") + m.captured(0)), qPrintable(m.captured(0)));
    }

    void readsRunDirectories() {
        const QString dir = scratch("run_reader") + "/pretrain-1";
        writeFile(dir + "/config.json", R"({"kind": "pretrain", "iterations": 3})");
        writeFile(dir + "/metrics.csv", "step,name,value\n0,loss_d,1.5\n0,loss_g,-0.5\n1,loss_d,1.25\ngarbage line\n2,loss_d,nan\n");
        QImage grid(10, 6, QImage::Format_Grayscale8);
        grid.fill(200);
        QDir().mkpath(dir + "/samples");
        QVERIFY(grid.save(dir + "/samples/step_000000.png"));
        QVERIFY(grid.save(dir + "/samples/step_000100.png"));
        QVERIFY(grid.save(dir + "/samples/ternary_step_000100.png"));
        RunStore store;
        RunDirectoryContents contents;
        QString error;
        const int id = loadRunDirectory(dir, store, &contents, &error);
        QVERIFY2(id > 0, qPrintable(error));
        const RunData* run = store.run(id);
        QCOMPARE(run->kind, QString("pretrain"));
        QCOMPARE(run->label, QString("pretrain-1"));
        QCOMPARE(run->metricOrder, QStringList({"loss_d", "loss_g"}));
        QCOMPARE(run->metrics["loss_d"].values.size(), 3);
        QCOMPARE(run->metrics["loss_d"].values[1], 1.25);
        QVERIFY(std::isnan(run->metrics["loss_d"].values[2]));
        QCOMPARE(contents.skippedRows, 1);
        QCOMPARE(run->imageSteps("samples"), QVector<qint64>({0, 100}));
        QCOMPARE(run->imageSteps("ternary"), QVector<qint64>({100}));
        QCOMPARE(contents.status, QString("incomplete"));  // no summary.json
        QCOMPARE(store.findByDir(QFileInfo(dir).absoluteFilePath()), id);

        QCOMPARE(loadRunDirectory(scratch("run_reader_empty"), store, nullptr, &error), -1);
        QVERIFY(error.contains("not a run directory"));

        // A packed run folder (like samples/models/source_0123): no samples/, a final grid; its grid is the
        // run's "samples" image at the summary's step, so Compare can put it beside another run.
        const QString packed = scratch("run_reader") + "/source_0123";
        writeFile(packed + "/config.json", R"({"kind": "pretrain"})");
        writeFile(packed + "/summary.json", R"({"status": "finished", "steps": 2000})");
        QVERIFY(grid.save(packed + "/final_grid.png"));
        const int packedId = loadRunDirectory(packed, store, &contents, &error);
        QVERIFY2(packedId > 0, qPrintable(error));
        QCOMPARE(store.run(packedId)->imageSteps("samples"), QVector<qint64>({2000}));
        QCOMPARE(contents.images, 1);
        // With samples/ grids the final grid is not added a second time.
        QVERIFY(grid.save(dir + "/final_grid.png"));
        const int again = loadRunDirectory(dir, store, &contents, &error);
        QCOMPARE(store.run(again)->imageSteps("samples"), QVector<qint64>({0, 100}));
    }
};

COALESCE_TEST_MAIN(TestProject)
#include "test_project.moc"
