#include "progress_bar.h"

#include <cstdio>
#include <iomanip>
#include <sstream>

namespace coalesce::cli {

using Clock = std::chrono::steady_clock;

ProgressBar::ProgressBar(bool tty, bool quiet) : tty_(tty), quiet_(quiet), phaseStart_(Clock::now()) {}

ProgressBar::~ProgressBar() { finish(); }

std::string ProgressBar::formatDuration(double seconds) {
    if (!(seconds >= 0) || seconds > 99 * 3600) return "--:--";
    long s = static_cast<long>(seconds + 0.5);
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%02ld:%02ld", s / 60, s % 60);
    return buf;
}

void ProgressBar::onProgress(std::int64_t done, std::int64_t total, const std::string& phase) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (phase != phase_ || done < done_) {  // new phase (or a resumed run): restart the rate clock
        if (lineOpen_ && tty_) std::fputc('\n', stderr);
        lineOpen_ = false;
        phase_ = phase;
        phaseStart_ = Clock::now();
        phaseStartDone_ = done;
        lastDraw_ = {};
    }
    done_ = done;
    total_ = total;
    draw(done == total);
}

void ProgressBar::onMetric(const std::string& name, std::int64_t, double value) {
    std::lock_guard<std::mutex> lock(mutex_);
    latest_[name] = value;
}

void ProgressBar::onLog(LogLevel level, const std::string& message) {
    if (quiet_ && level < LogLevel::Warning) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (level == LogLevel::Error) errorsShown_.push_back(message);
    if (lineOpen_ && tty_) std::fputs("\r\033[K", stderr);
    std::fprintf(stderr, "%s%s\n", level >= LogLevel::Warning ? (std::string(toString(level)) + ": ").c_str() : "",
                 message.c_str());
    lineOpen_ = false;
    if (tty_) draw(true);
}

bool ProgressBar::errorShown(const std::string& message) const {
    for (const auto& shown : errorsShown_)
        if (shown.size() >= message.size() && shown.compare(shown.size() - message.size(), message.size(), message) == 0)
            return true;
    return false;
}

std::string ProgressBar::metricsSummary() const {
    // The few numbers a user watches: generator loss, each critic's W1 estimate, the latest FID of a
    // run's live evaluation ("eval/fid") or of an experiment's runs ("fid/<run>").
    std::ostringstream s;
    int shown = 0;
    for (const auto& [name, v] : latest_) {
        const bool watched = name.rfind("loss_g", 0) == 0 || name.rfind("w_hat", 0) == 0 || name.rfind("fid", 0) == 0 || name == "eval/fid";
        if (!watched) continue;
        if (shown++ == 4) break;
        s << ' ' << name << '=' << std::setprecision(4) << v;
    }
    return s.str();
}

void ProgressBar::draw(bool force) {
    if (quiet_ || total_ <= 0) return;
    const auto now = Clock::now();
    const double sinceDraw = std::chrono::duration<double>(now - lastDraw_).count();
    if (!force && sinceDraw < (tty_ ? 0.1 : 10.0)) return;
    lastDraw_ = now;
    const double elapsed = std::chrono::duration<double>(now - phaseStart_).count();
    const double rate = elapsed > 0 ? (done_ - phaseStartDone_) / elapsed : 0.0;
    const double eta = rate > 0 ? (total_ - done_) / rate : -1;
    const double frac = std::min(1.0, static_cast<double>(done_) / total_);
    std::ostringstream line;
    line << (phase_.empty() ? "" : phase_ + " ");
    if (tty_) {
        const int width = 28, filled = static_cast<int>(frac * width);
        line << '[' << std::string(filled, '#') << std::string(width - filled, '.') << "] ";
    }
    line << std::setw(3) << static_cast<int>(frac * 100) << "% " << done_ << '/' << total_ << ' ' << std::fixed
         << std::setprecision(rate < 10 ? 2 : 1) << rate << " it/s ETA " << formatDuration(eta)
         << " elapsed " << formatDuration(elapsed) << metricsSummary();
    if (tty_) {
        std::fprintf(stderr, "\r\033[K%s", line.str().c_str());
        lineOpen_ = true;
    } else {
        std::fprintf(stderr, "%s\n", line.str().c_str());
    }
    std::fflush(stderr);
}

void ProgressBar::finish() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (lineOpen_ && tty_) std::fputc('\n', stderr);
    lineOpen_ = false;
}

}  // namespace coalesce::cli
