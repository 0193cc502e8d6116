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
#include <sys/file.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_text.h"
#include "imageio/image_io.h"

namespace fs = std::filesystem;

namespace coalesce {

void writeFileAtomically(const std::string& path, const std::string& contents) {
    const fs::path target(path);
    if (target.has_parent_path()) fs::create_directories(target.parent_path());
    replaceFileAtomically(path, contents);
}

namespace {

// Leftovers of atomic writes (AtomicFileWriter's "<file>.tmp-XXXXXX") from a process killed mid-save.
// Only called with the directory's lock held, so no live writer owns them.
void removeAbandonedTemporaries(const fs::path& dir) {
    for (const fs::path folder : {dir, dir / "checkpoints", dir / "samples"}) {
        std::error_code ec;
        for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
            if (it->path().filename().string().find(".tmp-") != std::string::npos && it->is_regular_file(ec))
                fs::remove(it->path(), ec);
    }
}

}  // namespace

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

bool RunDirectory::hasResumableProgress(const std::string& dir) {
    std::error_code ec;
    if (fs::exists(fs::path(dir) / "checkpoints" / "latest.coalesce", ec)) return true;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (entry.is_directory(ec) && name.rfind("stage_", 0) == 0 &&
            (fs::exists(entry.path() / "checkpoints" / "latest.coalesce", ec) || fs::exists(entry.path() / "summary.json", ec)))
            return true;
    }
    return false;
}

bool RunDirectory::isFinished(const std::string& dir) {
    std::ifstream in(fs::path(dir) / "summary.json");
    if (!in) return false;
    try {
        const Json summary = parseJson(in);
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
    lockExclusively();
    // A run stopped before its first checkpoint (bad input, divergence at step 1, killed at once) has
    // nothing to resume from: resuming it starts it over, so such a folder is never a dead end.
    if (mode == Mode::Resume && !hasLatestCheckpoint() && !hasResumableProgress(dir)) {
        if (isFinished(dir)) throw Error(dir + ": this run has finished (runs are immutable; pick a new folder)");
        mode = Mode::Rerun;
        startedOver_ = true;
    }
    removeAbandonedTemporaries(dir);
    // Starting over: the earlier attempt's sample grids and step checkpoints would mix with the new
    // ones (the GUI and the report read every file in these folders), so they go; metrics.csv and
    // log.txt are truncated below.
    if (mode == Mode::Rerun)
        for (const char* sub : {"samples", "checkpoints"})
            for (const auto& entry : fs::directory_iterator(fs::path(dir) / sub))
                if (entry.is_regular_file()) fs::remove(entry.path());
    if (mode == Mode::Resume) {
        auto configPath = fs::path(dir) / "config.json";
        if (fs::exists(configPath)) {
            std::ifstream in(configPath);
            try {
                Json previous = parseJson(in);
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

RunDirectory::~RunDirectory() {
    metrics_.close();
    log_.close();
    if (lockFd_ >= 0) ::close(lockFd_);  // releases the flock
}

void RunDirectory::lockExclusively() {
    const std::string path = (fs::path(dir_) / ".lock").string();
    lockFd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lockFd_ < 0) throw Error(dir_ + ": cannot create the run directory's lock file " + path);
    if (::flock(lockFd_, LOCK_EX | LOCK_NB) != 0) {
        ::close(lockFd_);
        lockFd_ = -1;
        throw Error(dir_ + ": another process is writing this run directory (wait for it to finish or stop it first)");
    }
}

std::string RunDirectory::checkpointPath(std::int64_t step) const {
    std::ostringstream s;
    s << "step_" << std::setw(6) << std::setfill('0') << step << ".coalesce";
    return (fs::path(checkpointsOf_.empty() ? dir_ : checkpointsOf_) / "checkpoints" / s.str()).string();
}

std::string RunDirectory::latestCheckpointPath() const {
    return (fs::path(checkpointsOf_.empty() ? dir_ : checkpointsOf_) / "checkpoints" / "latest.coalesce").string();
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
