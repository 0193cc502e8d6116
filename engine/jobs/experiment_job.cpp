// Job "experiment": runs an experiment plan (jobs/experiment_plan.h) end to end and writes its report.
//   1. sources: pretrains the sources given as data (skipped when their generator exists)
//   2. stage 1: the barycenter of the sources; the model average (when the methods need them)
//   3. the transfer source for TransferGAN/FreezeD: the source with the lowest FID on the target ("auto")
//   4. every (method, n, seed) run with live evaluation under the one protocol
//   5. optional: ternarisation of chosen adapted generators with each quantiser ("ternarization")
//   6. <run_dir>/report/: summary.md, summary.json, plots, sample grids (report/experiment_report.h)
// "shard": "I/N" (coalesce-cli experiment --shard I/N) runs every N-th run first, then any other run that
// is neither finished nor claimed, so N processes share the machine (or a cluster's shared filesystem:
// scripts/slurm/) and a killed shard's runs are picked up; every run is claimed with a file lock while
// it runs, dependencies are made once under a file lock, and a final --report-only pass writes the report.
// Re-running the same config continues: finished runs are kept (after checking that they were made
// with the same config), unfinished ones resume from their last checkpoint. A failed method run is
// reported as failed and the others go on; a failed source or barycenter stops the experiment.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <cctype>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <torch/torch.h>

#include "core/checksum.h"
#include "core/error.h"
#include "core/json_text.h"
#include "core/runtime.h"
#include "train/mixed_precision.h"
#include "io/model_files.h"
#include "jobs/experiment_plan.h"
#include "jobs/job_factory.h"
#include "metrics/evaluator.h"
#include "report/experiment_report.h"
#include "run/run_directory.h"
#include "train/training_config.h"
#include "train/training_job.h"

namespace fs = std::filesystem;

namespace coalesce {

namespace {

// The JSON object in a file; an empty object when the file is missing or unreadable.
Json readJsonObject(const fs::path& path) {
    std::ifstream in(path);
    if (!in) return Json::object();
    Json j = parseJsonOrDiscarded(in);
    return j.is_object() ? j : Json::object();
}

// Sub-job events → the experiment's observer: one progress bar over all planned iterations, logs and
// evaluation metrics labelled with the run they belong to.
class SubJobObserver : public JobObserver {
public:
    SubJobObserver(JobObserver& outer, std::string label, std::string series, int64_t offset, int64_t iterations,
                   int64_t total)
        : outer_(outer), label_(std::move(label)), series_(std::move(series)), offset_(offset), iterations_(iterations),
          total_(total) {}
    void onProgress(std::int64_t done, std::int64_t total, const std::string& phase) override {
        // Only the training loop's own progress (its total is the run's iterations): the evaluator's
        // preparation reports progress in other units (samples, feature-net batches).
        if (total != iterations_) return;
        outer_.onProgress(std::min(offset_ + done, total_), total_, label_ + " " + phase);
    }
    void onMetric(const std::string& name, std::int64_t step, double value) override {
        // "eval/fid" of run "barycenter n=8 seed 1" → "fid/barycenter n=8 seed 1": one chart per metric
        // (the workbench groups "<chart>/<series>"), one series per run.
        if (name.rfind("eval/", 0) == 0) outer_.onMetric(name.substr(5) + "/" + series_, step, value);
    }
    void onImage(const std::string&, std::int64_t step, const ImageU8& image) override { outer_.onImage(label_, step, image); }
    void onLog(LogLevel level, const std::string& message) override { outer_.onLog(level, "[" + label_ + "] " + message); }
    void onCheckpoint(std::int64_t step, const std::string& path) override { outer_.onCheckpoint(step, path); }

private:
    JobObserver& outer_;
    std::string label_, series_;
    int64_t offset_, iterations_, total_;
};

// An exclusive flock on <experiment>/locks/<name>.lock, held while the object lives. The name is the
// locked path itself (made file-name safe), so every process and machine derives the same one. flock
// locks are released by the kernel when their holder dies, so a killed shard frees what it held; on a
// cluster they need a shared filesystem with flock support (NFS v4, Lustre/GPFS with flock mounts).
//   Wait::Block — a dependency (source, stage 1, average): one process makes it, the others wait.
//   Wait::Try   — a run claim: held() is false when another process is running that run.
class ExperimentLock {
public:
    enum class Wait { Block, Try };
    ExperimentLock(const std::string& experimentDir, const std::string& what, Wait wait) {
        const fs::path dir = fs::path(experimentDir) / "locks";
        fs::create_directories(dir);
        const std::string file = (dir / (lockName(experimentDir, what) + ".lock")).string();
        fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0) throw Error(file + ": cannot open the lock file");
        if (::flock(fd_, wait == Wait::Block ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
            const bool busy = errno == EWOULDBLOCK;
            ::close(fd_);
            fd_ = -1;
            if (!busy || wait == Wait::Block) throw Error(file + ": cannot lock (" + std::strerror(errno) + ")");
        }
    }
    ~ExperimentLock() {
        if (fd_ < 0) return;
        ::flock(fd_, LOCK_UN);
        ::close(fd_);
    }
    ExperimentLock(const ExperimentLock&) = delete;
    ExperimentLock& operator=(const ExperimentLock&) = delete;
    bool held() const { return fd_ >= 0; }

    // "runs/x/barycenter_n8_seed1" → "barycenter_n8_seed1" relative to the experiment, '/' → '__';
    // a very long path keeps its tail after a CRC-32 of the whole (file names stop at 255 bytes).
    static std::string lockName(const std::string& experimentDir, const std::string& what) {
        std::string relative = fs::path(what).lexically_relative(experimentDir).generic_string();
        if (relative.empty() || relative.rfind("..", 0) == 0) relative = fs::path(what).generic_string();
        std::string name;
        for (char c : relative) {
            if (c == '/') name += "__";
            else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') name += c;
            else name += '~';
        }
        if (name.size() > 150) name = crc32Hex(what.data(), what.size()) + "-" + name.substr(name.size() - 100);
        return name;
    }

private:
    int fd_ = -1;
};

// A finished run made from another config: the experiment stops (mixing configs would corrupt it).
struct ConfigMismatch : Error {
    using Error::Error;
};

int64_t plannedIterations(const Json& job) { return job.value("iterations", int64_t(2000)); }

class ExperimentJob : public Job {
public:
    explicit ExperimentJob(const Json& config) : config_(config), plan_(planExperiment(config)) {
        ConfigReader r(config_, "experiment");
        runtime_ = readRuntimeOptions(r);
        reportOnly_ = r.boolean("report_only", false);
        const std::string shard = r.text("shard", "0/1");
        char slash = 0;
        std::istringstream in(shard);
        if (!(in >> shardIndex_ >> slash >> shardCount_) || slash != '/' || !in.eof() || shardCount_ < 1 || shardIndex_ < 0 ||
            shardIndex_ >= shardCount_)
            throw Error("experiment: shard must be \"I/N\" with 0 <= I < N (this process runs runs I, I+N, I+2N, ...), got \"" +
                        shard + "\"");
        if (shardCount_ > 1 && !plan_.ternarizations.empty())
            throw Error("experiment: ternarization needs every adapted run; run it without --shard (or after the shards, as one process)");
    }
    std::string kind() const override { return "experiment"; }

    JobResult run(JobObserver& observer, CancelToken& cancel) override {
        JobResult result;
        result.runDir = plan_.runDir;
        try {
            configureThreads(runtime_.threads);
            fs::create_directories(plan_.runDir);
            writePlan();
            total_ = 0;
            for (const auto& s : plan_.sources)
                if (!s.pretrain.is_null()) total_ += plannedIterations(s.pretrain);
            for (const auto& job : plan_.stage1Jobs) total_ += plannedIterations(job);
            // A shard's progress covers its own runs (and every dependency, which it may have to make).
            const int64_t ownRuns = (static_cast<int64_t>(plan_.runs.size()) - shardIndex_ + shardCount_ - 1) / shardCount_;
            total_ += ownRuns * plan_.iterationsPerRun;
            for (const auto& t : plan_.ternarizations) total_ += ternarizationIterations(t);
            done_ = 0;

            if (reportOnly_) observer.onLog(LogLevel::Info, "experiment: report only, from the runs that finished");
            for (const auto& s : plan_.sources)
                if (!s.pretrain.is_null() && !reportOnly_) runDependency("source " + s.name, s.pretrain, s.generator, observer, cancel);
            if (!plan_.average.is_null() && !reportOnly_ && !fs::exists(plan_.average["output"].get<std::string>()))
                runDependency("average", plan_.average, plan_.average["output"].get<std::string>(), observer, cancel);
            if (!reportOnly_) chooseTransferSource(observer, cancel);
            else transferChoice_ = readJsonObject(transferChoicePath()).value("choice", Json::object());

            std::vector<ExperimentRunRecord> records;
            size_t index = 0;
            for (const auto& planned : plan_.runs) {
                ++index;
                cancel.check();
                const bool mine = static_cast<int64_t>(index - 1) % shardCount_ == shardIndex_;
                records.push_back(reportOnly_ || !mine ? recordOf(planned) : runClaimed(planned, index, observer, cancel));
            }
            if (shardCount_ > 1 && !reportOnly_) {
                // Then help with the other shards' runs that nobody holds and that are not finished: a
                // killed shard's runs are resumed here, and a shard that finishes early takes work from
                // a slow one (each run is claimed, so no run is made twice at once).
                index = 0;
                for (const auto& planned : plan_.runs) {
                    ++index;
                    cancel.check();
                    const bool mine = static_cast<int64_t>(index - 1) % shardCount_ == shardIndex_;
                    if (mine || RunDirectory::isFinished(planned.runDir)) continue;
                    total_ += plan_.iterationsPerRun;
                    runClaimed(planned, index, observer, cancel);
                }
                // The report needs every shard's runs: written by a --report-only pass after all shards.
                result.summary = {{"status", "finished"}, {"shard", std::to_string(shardIndex_) + "/" + std::to_string(shardCount_)}};
                result.message = "experiment " + plan_.name + ": shard " + std::to_string(shardIndex_) + "/" +
                                 std::to_string(shardCount_) + " done (write the report with --report-only once every shard is)";
                observer.onLog(LogLevel::Info, result.message);
                return result;
            }
            std::vector<TernaryRunRecord> ternary;
            for (const auto& planned : plan_.ternarizations) {
                cancel.check();
                ternary.push_back(ternarize(planned, records, observer, cancel));
            }
            // The upper bound runs once per seed and is shown for every n.
            std::vector<ExperimentRunRecord> shown;
            for (const auto& r : records) {
                if (r.method != "edge_only_all") {
                    shown.push_back(r);
                    continue;
                }
                for (int64_t n : plan_.shots) {
                    ExperimentRunRecord copy = r;
                    copy.shots = n;
                    shown.push_back(copy);
                }
            }
            ExperimentReportOptions options;
            options.title = "Coalesce experiment: " + plan_.name;
            const bool haveEdge = std::find(plan_.methods.begin(), plan_.methods.end(), "edge_only") != plan_.methods.end();
            options.referenceMethod = haveEdge ? "edge_only" : plan_.methods.front();
            options.pairedMethod = plan_.methods.front();  // the method the experiment is about comes first
            options.ternarization = ternary;
            options.protocol = {{"evaluation", plan_.evaluation},
                                {"iterations_per_run", plan_.iterationsPerRun},
                                {"evaluation_every", config_.value("evaluation_every", 50)},
                                {"target", config_.value("target", "")},
                                {"shots", plan_.shots},
                                {"seeds", plan_.seeds},
                                {"methods", plan_.methods},
                                {"adaptation", config_.value("adaptation", Json::object())},
                                {"barycenter", plan_.barycenter},
                                {"transfer_source", transferChoice_},
                                {"runtime", describeRuntime(resolveDevice(runtime_.device)) + ", " +
                                                toString(resolvePrecision(runtime_.precision, resolveDevice(runtime_.device)))}};
            ExperimentReport report = writeExperimentReport((fs::path(plan_.runDir) / "report").string(), shown, options);
            int failed = 0;
            for (const auto& r : records) failed += r.status != "finished";
            result.summary = {{"status", "finished"},
                              {"report", report.markdownPath},
                              {"runs", records.size()},
                              {"failed_runs", failed},
                              {"summary", report.summary}};
            result.message = "experiment " + plan_.name + ": " + std::to_string(records.size()) + " runs (" +
                             std::to_string(failed) + " failed); report: " + report.markdownPath;
            observer.onLog(LogLevel::Info, result.message);
        } catch (const Cancelled&) {
            result.status = JobResult::Status::Cancelled;
            result.message = "cancelled (finished runs are kept; run the same config again to continue)";
            observer.onLog(LogLevel::Info, "experiment: " + result.message);
        } catch (const std::exception& e) {
            result.status = JobResult::Status::Failed;
            const std::string m = e.what();
            result.message = m.substr(0, m.find('\n'));
            observer.onLog(LogLevel::Error, "experiment: " + result.message);
        }
        return result;
    }

private:
    void writePlan() const {
        Json runs = Json::array();
        for (const auto& r : plan_.runs) runs.push_back(r.job);
        Json sources = Json::array();
        for (const auto& s : plan_.sources) sources.push_back({{"name", s.name}, {"generator", s.generator}, {"pretrain", s.pretrain}});
        Json plan{{"config", config_}, {"provenance", provenance()}, {"sources", sources}, {"barycenter", plan_.barycenter},
                  {"stage1", plan_.stage1Jobs}, {"average", plan_.average}, {"runs", runs}};
        Json ternary = Json::array();
        for (const auto& t : plan_.ternarizations) ternary.push_back(t.job);
        if (!ternary.empty()) plan["ternarizations"] = ternary;
        writeFileAtomically((fs::path(plan_.runDir) / "plan.json").string(), plan.dump(2) + "\n");
    }

    // A finished run directory made from a different config must not be silently reused.
    static void requireSameConfig(const std::string& runDir, const Json& job) {
        const Json stored = readJsonObject(fs::path(runDir) / "config.json");
        if (stored.empty()) return;
        for (const auto& [key, value] : job.items()) {
            if (key == "runtime" || key == "resume") continue;
            if (!stored.contains(key) || stored[key] != value)
                throw ConfigMismatch(runDir + " was made with a different '" + key + "' (" +
                            (stored.contains(key) ? stored[key].dump() : "absent") + " there, " + value.dump() +
                            " now): use another run_dir for a changed experiment");
        }
        // Of the runtime settings only the precision changes the numbers: a run trained (last) in another
        // one is not mixed into this experiment's table.
        const Json runtime = job.value("runtime", Json::object());
        const std::string now = toString(resolvePrecision(runtime.value("precision", std::string("auto")),
                                                          resolveDevice(runtime.value("device", std::string("auto")))));
        const std::string trained = stored.value("recorded", Json::object()).value("precision", std::string("fp32"));
        if (trained != now)
            throw ConfigMismatch(runDir + " was trained in " + trained + " and this experiment asks for " + now +
                                 " (runtime.precision): use another run_dir, or the precision it was made with");
    }

    // Runs (or resumes, or skips when finished) one training job; returns its result status.
    JobResult runTrainingJob(const std::string& label, const std::string& series, Json job, JobObserver& observer,
                             CancelToken& cancel) {
        const std::string dir = job.value("run_dir", "");
        const Json summary = dir.empty() ? Json::object() : readJsonObject(fs::path(dir) / "summary.json");
        const int64_t iterations = plannedIterations(job);
        if (summary.value("status", "") == "finished") {
            requireSameConfig(dir, job);
            observer.onLog(LogLevel::Info, label + ": already finished in " + dir);
            done_ += iterations;
            JobResult r;
            r.summary = summary;
            r.runDir = dir;
            return r;
        }
        if (!dir.empty() && fs::exists(dir)) {
            if (RunDirectory::hasResumableProgress(dir)) {  // a checkpoint, or a recursive barycenter's stages
                requireSameConfig(dir, job);
                job["resume"] = true;
            } else {
                fs::remove_all(dir);  // it never reached a checkpoint: nothing to keep
            }
        }
        SubJobObserver sub(observer, label, series, done_, iterations, total_);
        auto instance = createJob(job);
        JobResult r = instance->run(sub, cancel);
        done_ += iterations;
        if (r.status == JobResult::Status::Cancelled) throw Cancelled();
        return r;
    }

    void runDependency(const std::string& label, const Json& job, const std::string& output, JobObserver& observer,
                       CancelToken& cancel) {
        // Shards share dependencies (sources, stage 1, the average): one makes it while the others wait,
        // then find it finished.
        const ExperimentLock lock(plan_.runDir, output, ExperimentLock::Wait::Block);
        if (job.value("kind", "") == "average" && fs::exists(output)) return;
        JobResult r = runTrainingJob(label, label, job, observer, cancel);
        if (r.status == JobResult::Status::Failed) throw Error(label + " failed: " + r.message);
        if (!fs::exists(output)) throw Error(label + ": finished but " + output + " is missing");
    }

    // A run's stage 1 (a barycenter, or sequential transfer's first fine-tuning), once per run_dir.
    void runStage1(const Json& job, JobObserver& observer, CancelToken& cancel) {
        const std::string dir = job["run_dir"].get<std::string>();
        if (stage1Done_.count(dir)) return;
        const std::string label = "stage 1 " + fs::relative(dir, plan_.runDir).string();
        runDependency(label, job, (fs::path(dir) / "generator.coalesce").string(), observer, cancel);
        stage1Done_.insert(dir);
    }

    void chooseTransferSource(JobObserver& observer, CancelToken& cancel) {
        const bool needed = std::any_of(plan_.runs.begin(), plan_.runs.end(), [](const PlannedRun& r) {
            return r.method == "transfer_gan" || r.method == "freezed";
        });
        if (!needed) return;
        // The choice is made once and kept in transfer_source.json: shards reuse it (no FID evaluation
        // each) and the --report-only pass reports it.
        const ExperimentLock lock(plan_.runDir, transferChoicePath(), ExperimentLock::Wait::Block);
        Json sourceFiles = Json::array();
        for (const auto& s : plan_.sources) {  // a file replaced since (size or time differ) is chosen again
            std::error_code e1, e2;
            const auto size = fs::file_size(s.generator, e1);
            const auto time = fs::last_write_time(s.generator, e2).time_since_epoch().count();
            sourceFiles.push_back({s.generator, e1 ? 0 : size, e2 ? 0 : static_cast<int64_t>(time)});
        }
        const Json basis = {{"rule", plan_.transferSource}, {"sources", sourceFiles}, {"evaluation", plan_.evaluation}};
        const Json kept = readJsonObject(transferChoicePath());
        const PlannedSource* chosen = nullptr;
        Json scores = Json::object();
        if (kept.value("basis", Json()) == basis) {
            for (const auto& s : plan_.sources)
                if (s.name == kept["choice"].value("name", "")) chosen = &s;
            if (chosen) scores = kept["choice"].value("scores", Json::object());
        }
        if (chosen) {
            observer.onLog(LogLevel::Info, "transfer source: " + chosen->name + " (chosen before: " + transferChoicePath() + ")");
        } else if (plan_.transferSource != "auto") {
            for (const auto& s : plan_.sources)
                if (s.name == plan_.transferSource) chosen = &s;
        } else {
            // TransferGAN fine-tunes "the best single source": the lowest FID against the target's
            // held-out reference, under the experiment's own protocol.
            const EvaluationProtocol protocol = EvaluationProtocol::fromJson(plan_.evaluation);
            EvaluatorOptions options;
            options.device = resolveDevice(runtime_.device).str();
            double best = std::numeric_limits<double>::infinity();
            for (const auto& s : plan_.sources) {
                cancel.check();
                Generator g = loadGenerator(s.generator);
                g->to(resolveDevice(runtime_.device));
                const Json scored = evaluateGenerator(g, protocol, options, &observer, &cancel, s.generator);
                const double fid = scored["metrics"].value("fid", std::numeric_limits<double>::infinity());
                scores[s.name] = scored["metrics"];
                observer.onLog(LogLevel::Info, "transfer source candidate " + s.name + ": FID " + std::to_string(fid) + " on the target");
                if (fid < best) {
                    best = fid;
                    chosen = &s;
                }
            }
        }
        if (!chosen) throw Error("experiment: no transfer source could be chosen");
        transferGenerator_ = chosen->generator;
        // FreezeD takes the source's critic from the pretrain run the generator file sits in: its
        // critic.coalesce (what shipped sources keep), else its last checkpoint.
        const fs::path run = fs::path(chosen->generator).parent_path();
        const fs::path critic = run / "critic.coalesce", checkpoint = run / "checkpoints" / "latest.coalesce";
        transferCritic_ = fs::exists(critic) ? critic.string() : fs::exists(checkpoint) ? checkpoint.string() : "";
        transferChoice_ = {{"name", chosen->name}, {"generator", chosen->generator}, {"rule", plan_.transferSource}, {"scores", scores}};
        writeFileAtomically(transferChoicePath(), Json{{"basis", basis}, {"choice", transferChoice_}}.dump(2));
        observer.onLog(LogLevel::Info, "TransferGAN/FreezeD start from source " + chosen->name);
    }

    std::string transferChoicePath() const { return (fs::path(plan_.runDir) / "transfer_source.json").string(); }

    // A planned run as it stands on disk, without running it (report_only).
    static ExperimentRunRecord recordOf(const PlannedRun& planned) {
        const Json summary = readJsonObject(fs::path(planned.runDir) / "summary.json");
        std::string status = summary.value("status", std::string("not run"));
        if (status == "failed") status = "failed: " + summary.value("message", std::string());
        return {planned.method, planned.shots, planned.seed, planned.runDir, summary.value("wall_seconds", 0.0), status};
    }

    // Runs `planned` unless another process holds its claim (then it is that process's: its record as
    // it stands now).
    ExperimentRunRecord runClaimed(const PlannedRun& planned, size_t index, JobObserver& observer, CancelToken& cancel) {
        const ExperimentLock claim(plan_.runDir, planned.runDir, ExperimentLock::Wait::Try);
        if (!claim.held()) {
            observer.onLog(LogLevel::Info, "[" + std::to_string(index) + "/" + std::to_string(plan_.runs.size()) + "] " +
                                               planned.runDir + ": another process is running it");
            return recordOf(planned);
        }
        return runMethod(planned, index, observer, cancel);
    }

    ExperimentRunRecord runMethod(const PlannedRun& planned, size_t index, JobObserver& observer, CancelToken& cancel) {
        ExperimentRunRecord record{planned.method, planned.shots, planned.seed, planned.runDir, 0, "finished"};
        const std::string label = "[" + std::to_string(index) + "/" + std::to_string(plan_.runs.size()) + "] " + planned.method +
                                  (planned.shots > 0 ? " n=" + std::to_string(planned.shots) : " all") + " seed " +
                                  std::to_string(planned.seed);
        const auto started = std::chrono::steady_clock::now();
        try {
            if (!planned.stage1.is_null()) runStage1(planned.stage1, observer, cancel);
            const Json job = resolveTransferSource(planned.job, transferGenerator_, transferCritic_);
            const std::string series = planned.method + (planned.shots > 0 ? " n=" + std::to_string(planned.shots) : " all") +
                                       " seed " + std::to_string(planned.seed);
            JobResult r = runTrainingJob(label, series, job, observer, cancel);
            if (r.status == JobResult::Status::Failed) record.status = "failed: " + r.message;
            record.wallSeconds = r.summary.value("wall_seconds", 0.0);
        } catch (const Cancelled&) {
            throw;
        } catch (const ConfigMismatch&) {
            throw;
        } catch (const std::exception& e) {
            record.status = std::string("failed: ") + e.what();
            observer.onLog(LogLevel::Error, label + ": " + record.status);
        }
        if (record.wallSeconds <= 0)
            record.wallSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return record;
    }

    static int64_t ternarizationIterations(const PlannedTernarization& t) {
        return t.job.value("iterations", int64_t(0)) + (t.adaptation.is_null() ? 0 : plannedIterations(t.adaptation));
    }

    // Ternarises one finished adapted generator (post-training jobs are cheap: a finished one is kept,
    // an unfinished one is redone from the start; the ternarize job does not resume).
    TernaryRunRecord ternarize(const PlannedTernarization& planned, const std::vector<ExperimentRunRecord>& records,
                               JobObserver& observer, CancelToken& cancel) {
        TernaryRunRecord record{planned.label, planned.quantizer, planned.runDir, "finished"};
        const Json summary = readJsonObject(fs::path(planned.runDir) / "summary.json");
        const int64_t iterations = ternarizationIterations(planned);
        if (reportOnly_) {
            record.status = summary.value("status", std::string("not run"));
            if (record.status == "failed") record.status = "failed: " + summary.value("message", std::string());
            return record;
        }
        const bool sourceFinished = std::any_of(records.begin(), records.end(), [&](const ExperimentRunRecord& r) {
            return r.runDir == planned.sourceRunDir && r.status == "finished";
        });
        const std::string label = "ternarize " + planned.quantizer + " " + planned.label;
        if (!sourceFinished) {
            record.status = "not run: the adapted run did not finish";
            done_ += iterations;
            return record;
        }
        if (summary.value("status", "") == "finished") {
            requireSameConfig(planned.runDir, planned.job);
            if (!planned.adaptation.is_null())
                requireSameConfig(planned.adaptation["run_dir"].get<std::string>(), planned.adaptation);
            observer.onLog(LogLevel::Info, label + ": already finished in " + planned.runDir);
            done_ += iterations;
            return record;
        }
        fs::remove_all(planned.runDir);
        try {
            SubJobObserver sub(observer, label, planned.quantizer + " " + planned.label, done_, iterations, total_);
            if (!planned.adaptation.is_null()) {
                // Stage 3 during stage 2: the method's adaptation again, with a ternarised G (redone from
                // the start when unfinished, like the ternarize job).
                const std::string adaptDir = planned.adaptation["run_dir"].get<std::string>();
                if (readJsonObject(fs::path(adaptDir) / "summary.json").value("status", "") == "finished") {
                    requireSameConfig(adaptDir, planned.adaptation);
                } else {
                    fs::remove_all(adaptDir);
                    JobResult adapted = createJob(planned.adaptation)->run(sub, cancel);
                    if (adapted.status == JobResult::Status::Cancelled) throw Cancelled();
                    if (adapted.status == JobResult::Status::Failed)
                        throw Error("the ternarised adaptation failed: " + adapted.message);
                }
            }
            JobResult r = createJob(planned.job)->run(sub, cancel);
            if (r.status == JobResult::Status::Cancelled) throw Cancelled();
            if (r.status == JobResult::Status::Failed) record.status = "failed: " + r.message;
        } catch (const Cancelled&) {
            throw;
        } catch (const std::exception& e) {
            record.status = std::string("failed: ") + e.what();
        }
        if (record.status != "finished") observer.onLog(LogLevel::Error, label + ": " + record.status);
        done_ += iterations;
        return record;
    }

    Json config_;
    ExperimentPlan plan_;
    RuntimeOptions runtime_;
    bool reportOnly_ = false;  // write the report from what finished; run nothing
    int64_t shardIndex_ = 0, shardCount_ = 1;  // this process runs the runs with index % count == index
    int64_t total_ = 0, done_ = 0;
    std::set<std::string> stage1Done_;  // stage-1 run dirs finished (or found finished) in this run
    std::string transferGenerator_, transferCritic_;
    Json transferChoice_ = Json::object();
};

}  // namespace

std::unique_ptr<Job> makeExperimentJob(const Json& config) { return std::make_unique<ExperimentJob>(config); }

}  // namespace coalesce
