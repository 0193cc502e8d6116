// The thread bridge: a job on a worker thread, events buffered and drained in batches on the GUI
// thread, in order, with pause/cancel, and nothing after "finished"; and the StageController that
// runs stages for the workbench without any widget.
#include "support/test_main.h"  // Qt Test, and the suite registration

#include <thread>

#include "bridge/buffered_observer.h"
#include "bridge/eta_estimator.h"
#include "bridge/job_runner.h"
#include "bridge/stage_controller.h"
#include "fake_job.h"
#include "project/project.h"
#include "runs/run_store.h"
#include "ui_test_helpers.h"

namespace {

// Collects everything the runner emits, in emission order.
struct BridgeRecorder {
    QVector<JobEvent> events;
    QStringList signalOrder;  // "events", "progress", "finished"
    QVector<JobOutcome> outcomes;
    int batches = 0;

    void attach(JobRunner& r) {
        QObject::connect(&r, &JobRunner::eventsReady, [this](const QVector<JobEvent>& batch) {
            events += batch;
            ++batches;
            signalOrder << "events";
        });
        QObject::connect(&r, &JobRunner::progressChanged, [this](const JobProgress&) { signalOrder << "progress"; });
        QObject::connect(&r, &JobRunner::finished, [this](const JobOutcome& o) {
            outcomes << o;
            signalOrder << "finished";
        });
    }
};

bool waitFinished(JobRunner& r, int ms = 20000) {
    QElapsedTimer t;
    t.start();
    while (r.isRunning() && t.elapsed() < ms) QTest::qWait(5);
    return !r.isRunning();
}

// A job whose helper thread keeps reporting after run() has returned (a buggy job): the bridge must
// drop those late events.
class StrayThreadJob : public coalesce::Job {
public:
    std::string kind() const override { return "stray"; }
    coalesce::JobResult run(coalesce::JobObserver& obs, coalesce::CancelToken&) override {
        obs.onMetric("before", 0, 1.0);
        stray_ = std::thread([&obs] {
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
            for (int i = 0; i < 100; ++i) obs.onMetric("after", i, 2.0);
        });
        return {};
    }
    ~StrayThreadJob() override {
        if (stray_.joinable()) stray_.join();
    }

private:
    std::thread stray_;
};

}  // namespace

class TestJobBridge : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void metricsArriveInOrderAndBatched() {
        JobRunner runner;
        BridgeRecorder rec;
        rec.attach(runner);
        fake::FakeJobOptions o;
        o.iterations = 20000;
        o.metricsPerIteration = 3;
        o.imageEvery = 1000;
        QVERIFY(runner.start("fake", [o] { return std::make_unique<fake::FakeJob>(o); }));
        QVERIFY(!runner.start("second", [o] { return std::make_unique<fake::FakeJob>(o); }));  // one at a time
        QVERIFY(waitFinished(runner));
        QCOMPARE(rec.outcomes.size(), 1);
        QCOMPARE(rec.outcomes[0].status, JobOutcome::Status::Finished);

        // Every "loss" metric, each step exactly once, in increasing order.
        qint64 expectedStep = 0;
        int images = 0, checkpoints = 0, wHat = 0;
        for (const JobEvent& e : rec.events) {
            if (e.type == JobEvent::Type::Metric && e.name == "loss") {
                QCOMPARE(e.step, expectedStep);
                QCOMPARE(e.value, 1.0 / double(expectedStep + 1));
                ++expectedStep;
            }
            if (e.type == JobEvent::Type::Metric && e.name.startsWith("w_hat/")) ++wHat;
            if (e.type == JobEvent::Type::Image) {
                QCOMPARE(e.image.width(), 8);
                QCOMPARE(e.image.pixelColor(1, 0).red(), int((4 + e.step) % 256));  // pixels copied intact
                ++images;
            }
            if (e.type == JobEvent::Type::Checkpoint) ++checkpoints;
        }
        QCOMPARE(expectedStep, qint64(20000));
        QCOMPARE(wHat, 40000);
        QCOMPARE(images, 20);
        QCOMPARE(checkpoints, 1);
        // The checkpoint is the last event the job sent; progress reports merged, never reordered.
        QCOMPARE(rec.events.last().type, JobEvent::Type::Checkpoint);
        // 80k events must arrive in a handful of batches, not one signal per event.
        QVERIFY2(rec.batches < 2000, qPrintable(QString("batches: %1").arg(rec.batches)));
        QCOMPARE(runner.progress().done, qint64(20000));
        QCOMPARE(runner.progress().total, qint64(20000));
    }

    void nothingAfterFinished() {
        JobRunner runner;
        BridgeRecorder rec;
        rec.attach(runner);
        QVERIFY(runner.start("stray", [] { return std::make_unique<StrayThreadJob>(); }));
        QVERIFY(waitFinished(runner));
        QTest::qWait(200);  // give the stray thread every chance
        QCOMPARE(rec.signalOrder.last(), QString("finished"));
        QCOMPARE(rec.signalOrder.count("finished"), 1);
        for (const JobEvent& e : rec.events) QVERIFY(e.name != "after");
        QCOMPARE(rec.events.size(), 1);
    }

    void cancelStopsTheJob() {
        JobRunner runner;
        BridgeRecorder rec;
        rec.attach(runner);
        fake::FakeJobOptions o;
        o.iterations = 1000000000;  // would run for hours
        o.sleepMicroseconds = 100;
        QVERIFY(runner.start("endless", [o] { return std::make_unique<fake::FakeJob>(o); }));
        QTest::qWait(150);
        QVERIFY(runner.isRunning());
        QElapsedTimer t;
        t.start();
        runner.cancel();
        QVERIFY(waitFinished(runner, 5000));
        QVERIFY2(t.elapsed() < 2000, "cancel took too long");
        QCOMPARE(rec.outcomes.size(), 1);
        QCOMPARE(rec.outcomes[0].status, JobOutcome::Status::Cancelled);
        QVERIFY(!rec.events.isEmpty());  // it did report before being cancelled
    }

    void pauseHoldsTheJobAndCancelWakesIt() {
        JobRunner runner;
        BridgeRecorder rec;
        rec.attach(runner);
        fake::FakeJobOptions o;
        o.iterations = 1000000000;
        o.sleepMicroseconds = 200;
        auto* raw = new fake::FakeJob(o);  // keep a pointer to read the iteration counter
        QVERIFY(runner.start("pausable", [raw] { return std::unique_ptr<coalesce::Job>(raw); }));
        QTest::qWait(100);
        QSignalSpy paused(&runner, &JobRunner::pausedChanged);
        runner.setPaused(true);
        QCOMPARE(paused.count(), 1);
        QVERIFY(runner.isPaused());
        QTest::qWait(50);  // let the current iteration finish
        const long long atPause = raw->iterationsRun.load();
        QTest::qWait(300);
        QVERIFY2(raw->iterationsRun.load() <= atPause + 1, "job kept iterating while paused");
        runner.setPaused(false);
        QTest::qWait(100);
        QVERIFY2(raw->iterationsRun.load() > atPause + 1, "job did not resume");
        runner.setPaused(true);
        runner.cancel();  // must wake a paused job
        QVERIFY(waitFinished(runner, 5000));
        QCOMPARE(rec.outcomes.last().status, JobOutcome::Status::Cancelled);
        QVERIFY(!runner.isPaused());
    }

    void factoryErrorIsAFailedOutcome() {
        JobRunner runner;
        BridgeRecorder rec;
        rec.attach(runner);
        QVERIFY(runner.start("bad", []() -> std::unique_ptr<coalesce::Job> {
            throw coalesce::Error("job config: \"iterations\" must be > 0");
        }));
        QVERIFY(waitFinished(runner));
        QCOMPARE(rec.outcomes.size(), 1);
        QCOMPARE(rec.outcomes[0].status, JobOutcome::Status::Failed);
        QVERIFY(rec.outcomes[0].message.contains("iterations"));
    }

    void jobErrorIsAFailedOutcome() {
        JobRunner runner;
        BridgeRecorder rec;
        rec.attach(runner);
        fake::FakeJobOptions o;
        o.iterations = 100;
        o.failAt = true;
        o.failIteration = 10;
        QVERIFY(runner.start("fails", [o] { return std::make_unique<fake::FakeJob>(o); }));
        QVERIFY(waitFinished(runner));
        QCOMPARE(rec.outcomes[0].status, JobOutcome::Status::Failed);
        QVERIFY(rec.outcomes[0].message.contains("iteration 10"));
        // The runner is reusable afterwards.
        o.failAt = false;
        QVERIFY(runner.start("again", [o] { return std::make_unique<fake::FakeJob>(o); }));
        QVERIFY(waitFinished(runner));
        QCOMPARE(rec.outcomes.last().status, JobOutcome::Status::Finished);
    }

    void destroyingARunningRunnerCancels() {
        fake::FakeJobOptions o;
        o.iterations = 1000000000;
        o.sleepMicroseconds = 100;
        QElapsedTimer destroying;
        {
            JobRunner runner;
            QVERIFY(runner.start("endless", [o] { return std::make_unique<fake::FakeJob>(o); }));
            QTest::qWait(50);
            QVERIFY(runner.isRunning());
            destroying.start();
        }  // the destructor cancels and waits for the job
        // Uncancelled, the job would run for 10^9 x 100 us; it checks the token every iteration, so
        // it stops within a few iterations (the bound is loose for a busy machine).
        QVERIFY2(destroying.elapsed() < 5000, qPrintable(QString("the destructor took %1 ms").arg(destroying.elapsed())));
    }

    void observerMergesOnlyAdjacentProgress() {
        BufferedObserver obs;
        obs.onProgress(1, 10, "a");
        obs.onProgress(2, 10, "a");
        obs.onMetric("m", 2, 0.5);
        obs.onProgress(3, 10, "a");
        obs.onProgress(4, 10, "a");
        auto events = obs.take();
        QCOMPARE(int(events.size()), 3);
        QCOMPARE(events[0].step, qint64(2));
        QCOMPARE(events[1].type, JobEvent::Type::Metric);
        QCOMPARE(events[2].step, qint64(4));
        QVERIFY(obs.take().empty());
        obs.close();
        obs.onMetric("late", 0, 1);
        QVERIFY(obs.take().empty());
        QCOMPARE(int(obs.droppedAfterClose()), 1);
    }

    void imageConversionRejectsMalformedImages() {
        coalesce::ImageU8 bad;
        bad.width = 4;
        bad.height = 4;
        bad.channels = 1;
        bad.pixels.resize(15);  // one byte short
        QVERIFY(toQImage(bad).isNull());
        coalesce::ImageU8 rgb;
        rgb.width = 2;
        rgb.height = 1;
        rgb.channels = 3;
        rgb.pixels = {255, 0, 0, 0, 0, 255};
        const QImage q = toQImage(rgb);
        QCOMPARE(q.pixelColor(0, 0), QColor(255, 0, 0));
        QCOMPARE(q.pixelColor(1, 0), QColor(0, 0, 255));
    }

    void etaFollowsTheRate() {
        EtaEstimator eta(20.0);
        QCOMPARE(eta.etaSeconds(100), -1.0);
        eta.add(0.0, 0);
        eta.add(1.0, 10);  // 10 units/s
        QCOMPARE(eta.rate(), 10.0);
        QCOMPARE(eta.etaSeconds(100), 9.0);
        eta.add(2.0, 30);  // 15 units/s on average over [0, 2]
        QCOMPARE(eta.rate(), 15.0);
        QCOMPARE(eta.etaSeconds(100), 70.0 / 15.0);
        QCOMPARE(formatDuration(42), QString("42 s"));
        QCOMPARE(formatDuration(187), QString("3:07"));
        QCOMPARE(formatDuration(3723), QString("1:02:03"));
    }

    // The workbench's run bookkeeping, driven without a window: what blocks a stage comes from the
    // project model, a refused start records nothing, a run is recorded in the project and the
    // RunStore with its live status, a cancelled run with a checkpoint is offered for resuming, and
    // resuming continues the same run instead of adding one.
    void stageControllerRunsStagesWithoutWidgets() {
        const QString dir = uitest::scratch("stage_controller");
        Project project;
        RunStore runs;
        ModelFileCache files;
        JobCatalog catalog = uitest::fakeCatalog();
        catalog.create = [fake = catalog.create](const coalesce::Json& config) {
            if (config.contains("no_such_field")) throw coalesce::Error("fake job config: unknown field \"no_such_field\"");
            return fake(config);
        };
        StageController controller(catalog, &project, &runs, &files);

        QVERIFY(controller.start("barycenter", {}).contains("at least two enabled source"));
        QVERIFY(controller.start("no-such-kind", {}).contains("no-such-kind"));
        // The engine's config check refuses before anything is recorded.
        QVERIFY(controller.start("fake", {{"no_such_field", 1}, {"run_dir", dir + "/bad"}}).contains("unknown field"));
        QVERIFY(!controller.isRunning());
        QVERIFY(runs.ids().isEmpty());
        QVERIFY(project.runs().isEmpty());

        // Local data: the spec is checked without loading, and the engine's error for exactly the
        // project's samples blocks adapt until the settings change.
        project.setLocalData({"toy:ring8", 20, 1});
        QVERIFY(controller.problems("adapt").isEmpty());
        controller.setLocalDataLoad({LocalDataSettings{"toy:ring8", 20, 1}, "k = 20 is more than the 8 samples"});
        QCOMPARE(controller.problems("adapt"), QStringList{"local data: k = 20 is more than the 8 samples"});
        project.setLocalData({"toy:ring8", 5, 1});
        QVERIFY(controller.problems("adapt").isEmpty());
        project.setLocalData({"folder:" + dir + "/no-such-folder", 5, 1});
        QVERIFY2(controller.problems("experiment").join('|').contains("does not exist"), qPrintable(controller.problems("experiment").join('|')));

        // A run: recorded as running, then cancelled; its checkpoint makes it resumable.
        const QString runDir = dir + "/run1";
        QDir().mkpath(runDir + "/checkpoints");
        QVERIFY(uitest::writeFile(runDir + "/checkpoints/latest.coalesce", "stand-in"));
        QSignalSpy finished(&controller, &StageController::finished);
        QCOMPARE(controller.start("fake", {{"iterations", 100000000}, {"sleep_us", 200}, {"run_dir", runDir}}), QString());
        QVERIFY(controller.isRunning());
        const int id = controller.activeRunId();
        QVERIFY(id >= 0);
        QCOMPARE(runs.run(id)->status, QString("running"));
        QCOMPARE(project.runs().size(), 1);
        QCOMPARE(project.runs()[0].dir, runDir);
        QVERIFY(controller.start("fake", {{"run_dir", dir + "/run2"}}).contains("one job runs at a time"));
        controller.setPaused(true);
        QTRY_COMPARE(runs.run(id)->status, QString("paused"));
        controller.cancel();
        QVERIFY(finished.wait(10000));
        QCOMPARE(finished.first().at(0).value<JobOutcome>().status, JobOutcome::Status::Cancelled);
        QCOMPARE(finished.first().at(2).toString(), runDir);
        QCOMPARE(finished.first().at(3).toBool(), true);
        QCOMPARE(runs.run(id)->status, QString("cancelled"));
        QCOMPARE(project.runs()[0].status, QString("cancelled"));
        QCOMPARE(controller.resumableRun("fake"), runDir);
        QCOMPARE(controller.activeRunId(), -1);

        // Resuming continues the same run: no second record, finished, no longer resumable.
        QCOMPARE(controller.start("fake", {{"iterations", 5}}, runDir), QString());
        QCOMPARE(controller.activeRunId(), id);
        QVERIFY(finished.wait(10000));
        QCOMPARE(finished.last().at(0).value<JobOutcome>().status, JobOutcome::Status::Finished);
        QCOMPARE(runs.ids().size(), 1);
        QCOMPARE(project.runs().size(), 1);
        QCOMPARE(project.runs()[0].status, QString("finished"));
        QVERIFY(controller.resumableRun("fake").isEmpty());
    }
};

COALESCE_TEST_MAIN(TestJobBridge)
#include "test_job_bridge.moc"
