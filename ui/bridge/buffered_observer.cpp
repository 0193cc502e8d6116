#include "bridge/buffered_observer.h"

QImage toQImage(const coalesce::ImageU8& image) {
    const std::size_t expected = std::size_t(image.width) * std::size_t(image.height) * std::size_t(image.channels);
    if (image.width <= 0 || image.height <= 0 || image.pixels.size() != expected) return {};
    QImage::Format format;
    switch (image.channels) {
        case 1: format = QImage::Format_Grayscale8; break;
        case 3: format = QImage::Format_RGB888; break;
        case 4: format = QImage::Format_RGBA8888; break;
        default: return {};
    }
    // The wrapping constructor does not copy; copy() detaches so the QImage owns its pixels.
    const QImage view(image.pixels.data(), image.width, image.height, image.width * image.channels, format);
    return view.copy();
}

void BufferedObserver::push(JobEvent&& event) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) {
        ++dropped_;
        return;
    }
    // Consecutive progress reports collapse into the newest one: order relative to other events is
    // kept, and a job reporting progress every iteration cannot flood the GUI.
    if (event.type == JobEvent::Type::Progress && !pending_.empty() &&
        pending_.back().type == JobEvent::Type::Progress) {
        pending_.back() = std::move(event);
        return;
    }
    pending_.push_back(std::move(event));
}

void BufferedObserver::onProgress(std::int64_t done, std::int64_t total, const std::string& phase) {
    JobEvent e;
    e.type = JobEvent::Type::Progress;
    e.step = done;
    e.total = total;
    e.name = QString::fromStdString(phase);
    push(std::move(e));
}

void BufferedObserver::onMetric(const std::string& name, std::int64_t step, double value) {
    JobEvent e;
    e.type = JobEvent::Type::Metric;
    e.name = QString::fromStdString(name);
    e.step = step;
    e.value = value;
    push(std::move(e));
}

void BufferedObserver::onImage(const std::string& tag, std::int64_t step, const coalesce::ImageU8& image) {
    JobEvent e;
    e.type = JobEvent::Type::Image;
    e.name = QString::fromStdString(tag);
    e.step = step;
    e.image = toQImage(image);  // converted here, on the job's thread, not on the GUI thread
    push(std::move(e));
}

void BufferedObserver::onLog(coalesce::LogLevel level, const std::string& message) {
    JobEvent e;
    e.type = JobEvent::Type::Log;
    e.level = int(level);
    e.name = QString::fromStdString(message);
    push(std::move(e));
}

void BufferedObserver::onCheckpoint(std::int64_t step, const std::string& path) {
    JobEvent e;
    e.type = JobEvent::Type::Checkpoint;
    e.step = step;
    e.name = QString::fromStdString(path);
    push(std::move(e));
}

std::vector<JobEvent> BufferedObserver::take() {
    std::vector<JobEvent> out;
    std::lock_guard<std::mutex> lock(mutex_);
    out.swap(pending_);
    return out;
}

void BufferedObserver::close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
}

bool BufferedObserver::closed() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return closed_;
}

std::size_t BufferedObserver::droppedAfterClose() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return dropped_;
}
