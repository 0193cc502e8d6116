// Terminal progress for a running job: a redrawn bar with rate and ETA on a TTY, plain lines every
// few seconds otherwise (logs, CI). Latest metric values ride along on the same line.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/job.h"

namespace coalesce::cli {

class ProgressBar : public JobObserver {
public:
    explicit ProgressBar(bool tty, bool quiet = false);
    ~ProgressBar() override;

    void onProgress(std::int64_t done, std::int64_t total, const std::string& phase) override;
    void onMetric(const std::string& name, std::int64_t step, double value) override;
    void onLog(LogLevel level, const std::string& message) override;
    void finish();  // ends the bar's line
    // Whether an error log line already told the user `message` (a failing job logs its error before
    // it returns it): the CLI then does not print it a second time.
    bool errorShown(const std::string& message) const;

    // "01:23:45" / "12:34"
    static std::string formatDuration(double seconds);

private:
    void draw(bool force);
    std::string metricsSummary() const;

    bool tty_;
    bool quiet_;
    std::mutex mutex_;
    std::string phase_;
    std::int64_t done_ = 0, total_ = 0;
    std::int64_t phaseStartDone_ = 0;
    std::chrono::steady_clock::time_point phaseStart_, lastDraw_;
    std::map<std::string, double> latest_;
    bool lineOpen_ = false;
    std::vector<std::string> errorsShown_;
};

}  // namespace coalesce::cli
