#include "core/atomic_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

namespace coalesce {

namespace fs = std::filesystem;

namespace {
std::string systemError(const std::string& what, const std::string& path) {
    return path + ": " + what + " (" + std::strerror(errno) + ")";
}

// The process umask without changing it: umask() can only be read by setting it, and another thread
// creating a file between the set and the restore would get mode 0666/0777. Linux ≥ 4.7 shows it in
// /proc/self/status; elsewhere it is read that racy way once, at the first save.
mode_t processUmask() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("Umask:", 0) == 0) return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
    static const mode_t once = [] {
        const mode_t mask = ::umask(0);
        ::umask(mask);
        return mask;
    }();
    return once;
}
}  // namespace

AtomicFileWriter::AtomicFileWriter(const std::string& path) : path_(path) {
    if (path.empty()) throw Error("cannot save: empty file name");
    std::string pattern = path + ".tmp-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    fd_ = ::mkstemp(buffer.data());
    if (fd_ < 0) throw Error(systemError("cannot create a temporary file to save to", path));
    tempPath_ = buffer.data();
    // mkstemp creates 0600; saved models should be as readable as any other file the user writes.
    ::fchmod(fd_, 0666 & ~processUmask());
}

AtomicFileWriter::~AtomicFileWriter() {
    if (!committed_) discard();
}

void AtomicFileWriter::discard() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!tempPath_.empty()) ::unlink(tempPath_.c_str());
    tempPath_.clear();
}

void AtomicFileWriter::write(const void* data, std::size_t size) {
    if (fd_ < 0) throw Error(path_ + ": write after commit or failure");
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd_, p, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            std::string message = systemError("write failed", path_);
            discard();
            throw Error(message);
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
}

void AtomicFileWriter::commit() {
    if (fd_ < 0) throw Error(path_ + ": commit after failure");
    if (::fsync(fd_) != 0) {
        std::string message = systemError("fsync failed", path_);
        discard();
        throw Error(message);
    }
    if (::close(fd_) != 0) {
        fd_ = -1;
        std::string message = systemError("close failed", path_);
        discard();
        throw Error(message);
    }
    fd_ = -1;
    if (::rename(tempPath_.c_str(), path_.c_str()) != 0) {
        std::string message = systemError("cannot replace the file", path_);
        discard();
        throw Error(message);
    }
    committed_ = true;
    // Make the rename itself durable.
    fs::path dir = fs::path(path_).parent_path();
    if (dir.empty()) dir = ".";
    int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (dirFd >= 0) {
        ::fsync(dirFd);
        ::close(dirFd);
    }
}

void replaceFileAtomically(const std::string& path, const void* data, std::size_t size) {
    AtomicFileWriter writer(path);
    writer.write(data, size);
    writer.commit();
}

std::string readFileBytes(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw Error(path + ": no such file");
    if (fs::is_directory(path, ec)) throw Error(path + ": is a directory, not a file");
    // A FIFO would block forever and a device never ends (/dev/zero): only regular files are read.
    if (!fs::is_regular_file(path, ec)) throw Error(path + ": not a regular file (a device, FIFO or socket)");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(systemError("cannot open", path));
    std::string bytes;
    in.seekg(0, std::ios::end);
    std::streamoff size = in.tellg();
    if (size < 0) throw Error(systemError("cannot read", path));
    bytes.resize(static_cast<std::size_t>(size));
    in.seekg(0, std::ios::beg);
    if (size > 0 && !in.read(&bytes[0], size)) throw Error(systemError("read failed", path));
    return bytes;
}

std::string humanBytes(double bytes, double unitOf) {
    char buffer[64];
    const double scale = unitOf >= 0 ? unitOf : bytes;
    if (scale < 1000) std::snprintf(buffer, sizeof buffer, "%.0f bytes", bytes);
    else if (scale < 1e6) std::snprintf(buffer, sizeof buffer, "%.1f kB", bytes / 1e3);
    else if (scale < 1e9) std::snprintf(buffer, sizeof buffer, "%.1f MB", bytes / 1e6);
    else std::snprintf(buffer, sizeof buffer, "%.2f GB", bytes / 1e9);
    return buffer;
}

}  // namespace coalesce
