// Crash-safe file replacement: data goes to a temporary file next to the target, is fsynced, and only
// then renamed over the target, so readers see either the old file or the complete new one, never a
// half-written file (also after a power cut or a full disk). Torch-free; usable by any module.
#pragma once
#include <cstddef>
#include <string>

namespace coalesce {

class AtomicFileWriter {
public:
    // Creates "<path>.tmp-XXXXXX" in the target's directory; throws coalesce::Error if it cannot.
    explicit AtomicFileWriter(const std::string& path);
    // Discards the temporary file unless commit() succeeded.
    ~AtomicFileWriter();
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    void write(const void* data, std::size_t size);  // throws coalesce::Error (e.g. disk full)
    void write(const std::string& bytes) { write(bytes.data(), bytes.size()); }
    // fsync, close, rename over the target, fsync the directory. After an exception the target is untouched.
    void commit();

    const std::string& path() const { return path_; }

private:
    void discard() noexcept;

    std::string path_;
    std::string tempPath_;
    int fd_ = -1;
    bool committed_ = false;
};

// One-shot convenience.
void replaceFileAtomically(const std::string& path, const void* data, std::size_t size);
inline void replaceFileAtomically(const std::string& path, const std::string& bytes) {
    replaceFileAtomically(path, bytes.data(), bytes.size());
}

// Reads a whole file; throws coalesce::Error naming the file when it is missing or unreadable.
std::string readFileBytes(const std::string& path);

// "1.2 MB", "340 bytes": sizes in messages people read. With unitOf >= 0 the unit is chosen for unitOf,
// so that two sizes compare at a glance ("1.2 MB ... only 0.3 MB").
std::string humanBytes(double bytes, double unitOf = -1);

}  // namespace coalesce
