// The engine's public job API: config in, progress/metrics/images/logs out through an observer,
// a cancel token, a result. Deliberately free of torch headers so the Qt UI can include it
// (Qt's `slots` macro clashes with torch).
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace coalesce {

using Json = nlohmann::json;

// An 8-bit image, rows top to bottom, channels interleaved (1 = gray, 3 = RGB).
struct ImageU8 {
    int width = 0;
    int height = 0;
    int channels = 0;
    std::vector<std::uint8_t> pixels;  // size = width * height * channels
};

enum class LogLevel { Debug, Info, Warning, Error };
const char* toString(LogLevel level);

// Cooperative cancel / pause. Jobs call check() at least once per iteration.
class CancelToken {
public:
    void requestCancel();
    // From a signal handler: only stores the lock-free flag (locking the mutex or notifying there is not
    // async-signal-safe). A job blocked in a pause does not wake until something else wakes it; the
    // CLI, the only caller, never pauses.
    void requestCancelFromSignal() noexcept { cancelled_.store(true); }
    bool cancelRequested() const { return cancelled_.load(); }
    void setPaused(bool paused);
    bool paused() const { return paused_.load(); }
    // Blocks while paused; throws coalesce::Cancelled if cancel was requested.
    void check() const;

private:
    std::atomic<bool> cancelled_{false};
    static_assert(std::atomic<bool>::is_always_lock_free, "the signal-handler cancel needs a lock-free flag");
    std::atomic<bool> paused_{false};
    mutable std::mutex mutex_;
    mutable std::condition_variable wake_;
};

// Receives a job's events, on the job's thread. Implementations must be cheap or buffer.
class JobObserver {
public:
    virtual ~JobObserver() = default;
    // done/total in the job's own unit (usually generator iterations); phase names the stage.
    virtual void onProgress(std::int64_t done, std::int64_t total, const std::string& phase) { (void)done; (void)total; (void)phase; }
    virtual void onMetric(const std::string& name, std::int64_t step, double value) { (void)name; (void)step; (void)value; }
    virtual void onImage(const std::string& tag, std::int64_t step, const ImageU8& image) { (void)tag; (void)step; (void)image; }
    virtual void onLog(LogLevel level, const std::string& message) { (void)level; (void)message; }
    virtual void onCheckpoint(std::int64_t step, const std::string& path) { (void)step; (void)path; }
};

// Forwards every event to several observers (e.g. the run directory writer and a progress bar).
class ObserverFanout : public JobObserver {
public:
    void add(JobObserver* observer) { observers_.push_back(observer); }
    void onProgress(std::int64_t done, std::int64_t total, const std::string& phase) override;
    void onMetric(const std::string& name, std::int64_t step, double value) override;
    void onImage(const std::string& tag, std::int64_t step, const ImageU8& image) override;
    void onLog(LogLevel level, const std::string& message) override;
    void onCheckpoint(std::int64_t step, const std::string& path) override;

private:
    std::vector<JobObserver*> observers_;
};

struct JobResult {
    enum class Status { Finished, Cancelled, Failed };
    Status status = Status::Finished;
    std::string message;   // one line: why it failed / what it produced
    std::string runDir;    // the run directory written, if any
    Json summary;          // job-specific outputs (final metrics, output model paths, ...)
};
const char* toString(JobResult::Status status);

class Job {
public:
    virtual ~Job() = default;
    virtual std::string kind() const = 0;
    // Runs to completion on the calling thread. Never throws: failures and cancellation are
    // reported in the result (and through observer.onLog). A cancelled or failed run leaves its
    // last good checkpoint intact.
    virtual JobResult run(JobObserver& observer, CancelToken& cancel) = 0;
};

}  // namespace coalesce
