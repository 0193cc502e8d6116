#include "core/job.h"

#include "core/error.h"

namespace coalesce {

const char* toString(LogLevel level) {
    switch (level) {
        case LogLevel::Debug: return "debug";
        case LogLevel::Info: return "info";
        case LogLevel::Warning: return "warning";
        case LogLevel::Error: return "error";
    }
    return "?";
}

const char* toString(JobResult::Status status) {
    switch (status) {
        case JobResult::Status::Finished: return "finished";
        case JobResult::Status::Cancelled: return "cancelled";
        case JobResult::Status::Failed: return "failed";
    }
    return "?";
}

void CancelToken::requestCancel() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        cancelled_ = true;
    }
    wake_.notify_all();
}

void CancelToken::setPaused(bool paused) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        paused_ = paused;
    }
    wake_.notify_all();
}

void CancelToken::check() const {
    if (paused_.load()) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return !paused_.load() || cancelled_.load(); });
    }
    if (cancelled_.load()) throw Cancelled();
}

void ObserverFanout::onProgress(std::int64_t done, std::int64_t total, const std::string& phase) {
    for (auto* o : observers_) o->onProgress(done, total, phase);
}
void ObserverFanout::onMetric(const std::string& name, std::int64_t step, double value) {
    for (auto* o : observers_) o->onMetric(name, step, value);
}
void ObserverFanout::onImage(const std::string& tag, std::int64_t step, const ImageU8& image) {
    for (auto* o : observers_) o->onImage(tag, step, image);
}
void ObserverFanout::onLog(LogLevel level, const std::string& message) {
    for (auto* o : observers_) o->onLog(level, message);
}
void ObserverFanout::onCheckpoint(std::int64_t step, const std::string& path) {
    for (auto* o : observers_) o->onCheckpoint(step, path);
}

}  // namespace coalesce
