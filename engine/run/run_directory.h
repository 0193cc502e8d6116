// A run directory: everything one job wrote, enough to reproduce it.
//   config.json   the job config + provenance (versions, seeds, dataset hashes), written atomically
//   metrics.csv   long format "step,name,value", appended and flushed as metrics arrive
//   samples/      step_XXXXXX.png grids ("samples" tag) and <tag>_step_XXXXXX.png for other tags
//   checkpoints/  step_XXXXXX.coalesce and latest.coalesce (written by the job through saveCheckpoint)
//   log.txt       the job's log lines;   summary.json   the result summary when the job ends
#pragma once
#include <cstdint>
#include <fstream>
#include <mutex>
#include <string>

#include "core/job.h"

namespace coalesce {

class RunDirectory : public JobObserver {
public:
    // Create: an existing non-empty run directory is an Error (runs are immutable).
    // Resume: metrics and log are appended to. A directory without resumable progress (the run stopped
    //   before its first checkpoint: hasResumableProgress) is started over instead, as by Rerun:
    //   startedOver() says so.
    // Rerun (one-shot jobs such as evaluate or average, which have no checkpoint, and ternarize): an
    //   unfinished directory is started over (metrics and log truncated); a finished one is an Error.
    // Every mode holds an exclusive lock on <dir>/.lock while the object lives (a second writer gets
    // an Error) and removes temporaries a killed process left behind.
    enum class Mode { Create, Resume, Rerun };
    // A checkpoints/latest.coalesce, or (a recursive barycenter, whose progress is in its stage folders)
    // a stage_J/ folder with a checkpoint or a summary.
    static bool hasResumableProgress(const std::string& dir);
    RunDirectory(const std::string& dir, const Json& config, Mode mode);
    RunDirectory(const std::string& dir, const Json& config, bool resume)
        : RunDirectory(dir, config, resume ? Mode::Resume : Mode::Create) {}
    ~RunDirectory() override;
    RunDirectory(const RunDirectory&) = delete;
    RunDirectory& operator=(const RunDirectory&) = delete;
    // True when Resume found no checkpoint and started the run over from step 0.
    bool startedOver() const { return startedOver_; }
    // True when summary.json says the run finished.
    static bool isFinished(const std::string& dir);

    const std::string& path() const { return dir_; }
    // config.json as it stands (on resume: the recorded one, with what earlier parts added).
    Json config() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return config_;
    }
    // A data-parallel run's other processes keep their log and outputs in a folder of their own but
    // resume from the checkpoints rank 0 writes: from here on the checkpoint paths are runDir's.
    void useCheckpointsOf(const std::string& runDir) { checkpointsOf_ = runDir; }
    std::string checkpointPath(std::int64_t step) const;   // checkpoints/step_XXXXXX.coalesce
    std::string latestCheckpointPath() const;              // checkpoints/latest.coalesce
    bool hasLatestCheckpoint() const;
    void writeSummary(const Json& summary);                // summary.json (atomic)
    // Adds fields to config.json (e.g. dataset hash once it is known) and rewrites it atomically.
    void recordConfig(const std::string& key, const Json& value);
    // On resume from the checkpoint at `step`: drops the metrics.csv rows of later steps (written by the
    // interrupted segment after its last checkpoint, and about to be written again), atomically.
    void dropMetricsAfter(std::int64_t step);

    void onMetric(const std::string& name, std::int64_t step, double value) override;
    void onImage(const std::string& tag, std::int64_t step, const ImageU8& image) override;
    void onLog(LogLevel level, const std::string& message) override;

private:
    void lockExclusively();

    std::string dir_;
    Json config_;
    mutable std::mutex mutex_;
    std::ofstream metrics_;
    std::ofstream log_;
    int lockFd_ = -1;
    bool startedOver_ = false;
    std::string checkpointsOf_;  // empty: this directory's own checkpoints/
};

inline RunDirectory::Mode resumeOrCreate(bool resume) {
    return resume ? RunDirectory::Mode::Resume : RunDirectory::Mode::Create;
}

// Versions and host facts recorded in every config.json.
Json provenance();
// Writes text to path atomically (temp + fsync + rename); throws Error on failure.
void writeFileAtomically(const std::string& path, const std::string& contents);

}  // namespace coalesce
