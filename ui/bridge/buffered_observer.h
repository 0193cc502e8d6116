// A JobObserver that only buffers: the job's thread appends events under a mutex, the GUI thread
// takes them in one batch per drain tick (PlotJuggler's pattern). Never touches Qt widgets.
#pragma once
#include <mutex>
#include <vector>

#include "bridge/job_event.h"
#include "core/job.h"

QImage toQImage(const coalesce::ImageU8& image);  // deep copy; null QImage for malformed input

class BufferedObserver : public coalesce::JobObserver {
public:
    void onProgress(std::int64_t done, std::int64_t total, const std::string& phase) override;
    void onMetric(const std::string& name, std::int64_t step, double value) override;
    void onImage(const std::string& tag, std::int64_t step, const coalesce::ImageU8& image) override;
    void onLog(coalesce::LogLevel level, const std::string& message) override;
    void onCheckpoint(std::int64_t step, const std::string& path) override;

    // GUI thread: everything buffered so far, in arrival order.
    std::vector<JobEvent> take();
    // After close() every event is dropped (a job's stray thread cannot report after "finished").
    void close();
    bool closed() const;
    std::size_t droppedAfterClose() const;

private:
    void push(JobEvent&& event);

    mutable std::mutex mutex_;
    std::vector<JobEvent> pending_;
    bool closed_ = false;
    std::size_t dropped_ = 0;
};
