#include "train/training_job.h"

#include <chrono>
#include <filesystem>

#include <torch/torch.h>

#include "core/error.h"
#include "io/checkpoint.h"

namespace fs = std::filesystem;

namespace coalesce {

RuntimeOptions readRuntimeOptions(const ConfigReader& reader, DistributedOptions* distributed) {
    RuntimeOptions runtime;
    if (!reader.has("runtime")) return runtime;
    ConfigReader r(reader.raw("runtime"), reader.context() + ": runtime");
    if (distributed) {
        r.rejectUnknownKeys({"threads", "device", "precision", "distributed"});
        if (r.has("distributed")) *distributed = DistributedOptions::fromJson(r.raw("distributed"), r.context() + ".distributed");
    } else {
        r.rejectUnknownKeys({"threads", "device", "precision"});
    }
    const int64_t threads = r.integer("threads", 0);
    if (threads < 0 || threads > 4096) throw Error(r.context() + ": threads must be in 0..4096 (0 = all cores)");
    runtime.threads = static_cast<int>(threads);
    runtime.device = r.text("device", "auto");
    runtime.precision = r.text("precision", "auto");
    validatePrecisionSetting(runtime.precision, r.context());
    return runtime;
}

RunFrame readRunFrame(const ConfigReader& reader, const std::string& kind) {
    RunFrame frame;
    frame.resume = reader.boolean("resume", false);
    frame.runDir = reader.text("run_dir", "");
    if (frame.runDir.empty()) {
        if (frame.resume) throw Error(kind + ": resume needs run_dir (the run directory to continue)");
        frame.runDir = defaultRunDirectory(kind);
    }
    frame.runtime = readRuntimeOptions(reader, &frame.distributed);
    return frame;
}

namespace {
// Settings a resumed run may change (e.g. `--resume` with fewer or more iterations, or other threads):
// config.json then shows the values in force and, under "segments", what changed at which resume, so
// the run's record stays true. Other keys must match the run's (resumeTrainer refuses them).
// What a resume may change and config.json records as a new segment: the budget, the cadence, the
// machine, and the learning rates (the divergence advice: resume with a smaller lr).
const char* const kResumeOverrides[] = {"iterations", "sample_every", "checkpoint_every", "keep_checkpoints",
                                        "eval_every",  "runtime",      "lr",               "lr_g",
                                        "lr_d"};

void recordResumeOverrides(RunDirectory& dir, const Json& config, JobObserver& observer) {
    Json changed = Json::object();
    for (const char* key : kResumeOverrides) {
        if (!config.contains(key)) continue;
        const Json before = dir.config().contains(key) ? dir.config().at(key) : Json();
        if (before == config.at(key)) continue;
        changed[key] = Json{{"from", before}, {"to", config.at(key)}};
        dir.recordConfig(key, config.at(key));
        observer.onLog(LogLevel::Info, std::string("resume: ") + key + " " + before.dump() + " -> " + config.at(key).dump());
    }
    if (changed.empty()) return;
    Json segments = dir.config().value("segments", Json::array());
    segments.push_back(Json{{"resumed", dir.config().value("resumed", 0)}, {"changed", changed}});
    dir.recordConfig("segments", segments);
}
}  // namespace

std::set<std::string> resumableChanges() {
    std::set<std::string> keys(std::begin(kResumeOverrides), std::end(kResumeOverrides));
    // Bookkeeping the run directory adds, and fields that do not change what is trained.
    for (const auto& k : runRecordKeys()) keys.insert(k);
    keys.insert({"run_dir", "resume", "name", "notes", "evaluation_cache_dir"});
    return keys;
}

namespace {
// c10::Error messages carry a C++ backtrace after the first line; users get the first line.
std::string firstLine(const std::string& s) { return s.substr(0, s.find('\n')); }
}  // namespace

void attachTrainer(MultiCriticTrainer& trainer, TrainingRun& run) {
    trainer.setRunDirectory(&run.runDir);
    trainer.setDataParallel(run.parallel);
    trainer.setPrecision(run.precision);
}

JobResult runTrainingJob(const std::string& kind, const Json& config, const RunFrame& frame, RunDirectory::Mode mode,
                         JobObserver& callerObserver, CancelToken& cancel, const std::function<Json(TrainingRun&)>& body) {
    const std::string& runDir = frame.runDir;
    const RuntimeOptions& runtime = frame.runtime;
    JobResult result;
    result.runDir = runDir;
    std::unique_ptr<RunDirectory> dir;
    ObserverFanout observer;
    observer.add(&callerObserver);
    const auto started = std::chrono::steady_clock::now();
    // Wall time over every part of a run: a resumed run adds this part to what config.json recorded for
    // the earlier parts ("elapsed_seconds"), so a report shows the whole run, not its last part.
    double earlierSeconds = 0;
    auto totalSeconds = [&] {
        const double part = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        if (dir) dir->recordConfig("elapsed_seconds", earlierSeconds + part);
        return earlierSeconds + part;
    };
    auto fail = [&](JobResult::Status status, const std::string& message) {
        result.status = status;
        result.message = message;
        observer.onLog(status == JobResult::Status::Cancelled ? LogLevel::Info : LogLevel::Error, kind + ": " + message);
        result.summary = {{"status", toString(status)}, {"message", message}};
        if (dir) {
            try {
                result.summary["wall_seconds"] = totalSeconds();
                dir->writeSummary(result.summary);
            } catch (...) {
            }
        }
    };
    try {
        const int threads = configureThreads(runtime.threads);
        const torch::Device device = resolveDevice(runtime.device);
        const Precision precision = resolvePrecision(runtime.precision, device);
        std::shared_ptr<DataParallel> parallel;
        if (frame.distributed.enabled()) parallel = std::make_shared<DataParallel>(frame.distributed);
        if (!parallel || parallel->isRoot()) dir = std::make_unique<RunDirectory>(runDir, config, mode);
        bool resuming = dir && mode == RunDirectory::Mode::Resume && !dir->startedOver();
        if (parallel) {
            // Rank 0 opens (or starts over) run_dir first; then every rank follows its resume decision.
            resuming = parallel->any(resuming, "opening the run directory on rank 0");
            if (!parallel->isRoot()) {
                const std::string own = (fs::path(runDir) / "ranks" / std::to_string(parallel->rank())).string();
                fs::remove_all(own);  // this rank's log and outputs of an earlier part: scratch, rank 0 keeps the record
                dir = std::make_unique<RunDirectory>(own, config, RunDirectory::Mode::Create);
                dir->useCheckpointsOf(runDir);
            }
        }
        if (resuming) earlierSeconds = dir->config().value("elapsed_seconds", 0.0);
        observer.add(dir.get());
        dir->recordConfig("recorded", Json{{"runtime", describeRuntime(device)}, {"threads", threads},
                                           {"precision", toString(precision)},
                                           {"processes", parallel ? parallel->worldSize() : 1}});
        observer.onLog(LogLevel::Info, kind + ": run directory " + runDir + ", " + describeRuntime(device) + ", " +
                                           toString(precision));
        if (const std::string warning = bf16Warning(precision, device); !warning.empty())
            observer.onLog(LogLevel::Warning, kind + ": " + warning);
        if (dir->startedOver())
            observer.onLog(LogLevel::Warning, kind + ": " + runDir +
                                                  " has no checkpoint yet (its last attempt stopped before the first one): "
                                                  "starting it over from step 0");
        TrainingRun run{config, *dir, observer, cancel, device, resuming, parallel, precision};
        Json summary = body(run);
        summary["status"] = "finished";
        summary["wall_seconds"] = totalSeconds();
        dir->writeSummary(summary);
        result.summary = summary;
        result.message = summary.value("message", kind + " finished");
        observer.onLog(LogLevel::Info, kind + ": " + result.message);
    } catch (const Cancelled&) {
        fail(JobResult::Status::Cancelled, "cancelled");
    } catch (const Error& e) {
        fail(JobResult::Status::Failed, e.what());
    } catch (const c10::Error& e) {
        fail(JobResult::Status::Failed, "LibTorch error: " + firstLine(e.what()));
    } catch (const std::exception& e) {
        fail(JobResult::Status::Failed, firstLine(e.what()));
    }
    return result;
}

void resumeTrainer(MultiCriticTrainer& trainer, const TrainingRun& run, const std::set<std::string>& mayChange) {
    const std::string path = run.runDir.latestCheckpointPath();
    Checkpoint checkpoint = loadCheckpoint(path);
    const Json stored = checkpoint.meta.value("config", Json::object());
    std::set<std::string> keys;
    for (const auto& item : stored.items()) keys.insert(item.key());
    for (const auto& item : run.config.items()) keys.insert(item.key());
    for (const auto& key : keys) {
        if (mayChange.count(key)) continue;
        const Json a = stored.contains(key) ? stored.at(key) : Json();
        const Json b = run.config.contains(key) ? run.config.at(key) : Json();
        if (a != b)
            throw Error("resume: '" + key + "' is " + (b.is_null() ? "absent" : b.dump()) +
                        " but the run was started with " + (a.is_null() ? "none" : a.dump()) + " (" + path + ")");
    }
    trainer.restore(checkpoint, path);
    const int64_t iterations = trainer.iterations();
    if (trainer.step() > iterations)
        throw Error("resume: the run is already at step " + std::to_string(trainer.step()) + " (" + path +
                    "), past the " + std::to_string(iterations) + " iterations asked for; resume with iterations >= " +
                    std::to_string(trainer.step()));
    recordResumeOverrides(run.runDir, run.config, run.observer);  // only once the resume is accepted
    run.runDir.dropMetricsAfter(trainer.step());
    run.observer.onLog(LogLevel::Info, "resumed from " + path + " at step " + std::to_string(trainer.step()));
}

void writeCriticFile(const std::string& checkpointPath, const std::string& path, const std::string& prefix) {
    const Checkpoint source = loadCheckpoint(checkpointPath);
    Checkpoint c;
    c.arch = source.arch;
    for (const auto& [name, tensor] : source.tensors)
        if (name.rfind(prefix + ".", 0) == 0) c.tensors["critic0." + name.substr(prefix.size() + 1)] = tensor;
    if (c.tensors.empty()) throw Error(checkpointPath + ": holds no critic \"" + prefix + "\"");
    c.meta = {{"kind", "critic"}, {"from", checkpointPath}, {"step", source.meta.value("step", int64_t(0))},
              {"job", source.meta.value("job", std::string())}};
    saveCheckpoint(path, c);
}

void writeGeneratorFile(const std::string& path, const Generator& generator, const Json& meta) {
    Checkpoint c;
    c.arch = generator->spec();
    storeModule(c, "generator", *generator);
    c.meta = meta;
    c.meta["kind"] = "generator";
    saveCheckpoint(path, c);
}

}  // namespace coalesce
