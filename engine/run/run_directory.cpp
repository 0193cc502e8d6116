#include "run/run_directory.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iomanip>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include "core/error.h"
#include "imageio/image_io.h"

namespace fs = std::filesystem;

namespace coalesce {

void writeFileAtomically(const std::string& path, const std::string& contents) {
    fs::path target(path);
    if (target.has_parent_path()) fs::create_directories(target.parent_path());
    // Unique per process and per call: two writers of one file (threads, or processes sharing a run
    // folder) never share a temporary; the last rename wins whole.
    static std::atomic<unsigned> counter{0};
    std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) throw Error(path + ": cannot open for writing");
    size_t done = 0;
    while (done < contents.size()) {
        ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
        if (n <= 0) {
            ::close(fd);
            ::unlink(tmp.c_str());
            throw Error(path + ": write failed (disk full?)");
        }
        done += static_cast<size_t>(n);
    }
    ::fsync(fd);
    ::close(fd);
    fs::rename(tmp, target);
}

static std::string isoTimeNow() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    std::ostringstream s;
    s << std::put_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
    return s.str();
}

Json provenance() {
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    return Json{{"coalesce_version", COALESCE_VERSION}, {"created", isoTimeNow()}, {"host", host}};
}

bool RunDirectory::isFinished(const std::string& dir) {
    std::ifstream in(fs::path(dir) / "summary.json");
    if (!in) return false;
    try {
        const Json summary = Json::parse(in);
        // Training jobs write {"status": ...}; one-shot jobs write their result (finished when present).
        return !summary.contains("status") || summary["status"] == "finished";
    } catch (const Json::exception&) {
        return false;
    }
}

RunDirectory::RunDirectory(const std::string& dir, const Json& config, Mode mode) : dir_(dir), config_(config) {
    if (dir.empty()) throw Error("run directory: empty path");
    const bool occupied = fs::exists(dir) && fs::is_directory(dir) && !fs::is_empty(dir);
    if (mode == Mode::Create && occupied)
        throw Error(dir + ": run directory exists and is not empty (runs are immutable; pick a new one, or resume)");
    if (mode == Mode::Rerun && occupied && isFinished(dir))
        throw Error(dir + ": this run has finished (runs are immutable; pick a new folder)");
    fs::create_directories(fs::path(dir) / "checkpoints");
    fs::create_directories(fs::path(dir) / "samples");
    if (mode == Mode::Resume) {
        if (!hasLatestCheckpoint()) throw Error(dir + ": cannot resume, no checkpoints/latest.coalesce");
        auto configPath = fs::path(dir) / "config.json";
        if (fs::exists(configPath)) {
            std::ifstream in(configPath);
            try {
                Json previous = Json::parse(in);
                previous["resumed"] = previous.value("resumed", 0) + 1;
                config_ = previous;
            } catch (const Json::exception&) {
                // Keep the new config; the old one was unreadable.
            }
        }
    } else {
        config_["provenance"] = provenance();
    }
    writeFileAtomically((fs::path(dir) / "config.json").string(), config_.dump(2) + "\n");
    const auto append = mode == Mode::Rerun ? std::ios::trunc : std::ios::app;
    const bool metricsExisted = mode != Mode::Rerun && fs::exists(fs::path(dir) / "metrics.csv");
    metrics_.open(fs::path(dir) / "metrics.csv", std::ios::out | append);
    if (!metrics_) throw Error(dir + "/metrics.csv: cannot open for writing");
    if (!metricsExisted) metrics_ << "step,name,value\n" << std::flush;
    log_.open(fs::path(dir) / "log.txt", std::ios::out | append);
}

std::string RunDirectory::checkpointPath(std::int64_t step) const {
    std::ostringstream s;
    s << "step_" << std::setw(6) << std::setfill('0') << step << ".coalesce";
    return (fs::path(dir_) / "checkpoints" / s.str()).string();
}

std::string RunDirectory::latestCheckpointPath() const {
    return (fs::path(dir_) / "checkpoints" / "latest.coalesce").string();
}

bool RunDirectory::hasLatestCheckpoint() const { return fs::exists(latestCheckpointPath()); }

void RunDirectory::writeSummary(const Json& summary) {
    writeFileAtomically((fs::path(dir_) / "summary.json").string(), summary.dump(2) + "\n");
}

void RunDirectory::recordConfig(const std::string& key, const Json& value) {
    std::lock_guard<std::mutex> lock(mutex_);
    config_[key] = value;
    writeFileAtomically((fs::path(dir_) / "config.json").string(), config_.dump(2) + "\n");
}

void RunDirectory::dropMetricsAfter(std::int64_t step) {
    std::lock_guard<std::mutex> lock(mutex_);
    const fs::path path = fs::path(dir_) / "metrics.csv";
    metrics_.close();
    std::ifstream in(path);
    std::string line, kept;
    bool dropped = false;
    while (std::getline(in, line)) {
        // "step,name,value": the header and any row that does not start with a number are kept.
        const auto comma = line.find(',');
        char* end = nullptr;
        const long long rowStep = comma == std::string::npos ? 0 : std::strtoll(line.c_str(), &end, 10);
        if (comma != std::string::npos && end == line.c_str() + comma && rowStep > step) {
            dropped = true;
            continue;
        }
        kept += line + '\n';
    }
    in.close();
    if (dropped) writeFileAtomically(path.string(), kept);
    metrics_.open(path, std::ios::out | std::ios::app);
    if (!metrics_) throw Error(path.string() + ": cannot open for writing");
}

void RunDirectory::onMetric(const std::string& name, std::int64_t step, double value) {
    std::lock_guard<std::mutex> lock(mutex_);
    metrics_ << step << ',' << name << ',' << std::setprecision(9) << value << '\n';
    metrics_.flush();
}

void RunDirectory::onImage(const std::string& tag, std::int64_t step, const ImageU8& image) {
    std::ostringstream s;
    if (tag != "samples") s << tag << "_";
    s << "step_" << std::setw(6) << std::setfill('0') << step << ".png";
    writeImage((fs::path(dir_) / "samples" / s.str()).string(), image);
}

void RunDirectory::onLog(LogLevel level, const std::string& message) {
    std::lock_guard<std::mutex> lock(mutex_);
    log_ << isoTimeNow() << ' ' << toString(level) << ": " << message << '\n';
    log_.flush();
}

}  // namespace coalesce
