// A strict, read-only ZIP reader for PyTorch files (torch.save since PyTorch 1.6, TorchScript archives,
// torch::pickle_save). It exists so that no byte of an untrusted file reaches LibTorch's own zip and
// pickle readers unchecked: the end-of-central-directory record, every central and local header, the
// entry ranges (inside the file, not overlapping) and every entry's CRC-32 are verified here first.
// A truncated or bit-flipped file is therefore a coalesce::Error naming the file, never a crash.
// Torch-free (zlib only). Supports stored and deflated entries, data descriptors and zip64 records.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace coalesce {

struct ZipEntry {
    std::string name;
    std::uint16_t method = 0;  // 0 stored, 8 deflate
    std::uint32_t crc32 = 0;
    std::uint64_t compressedSize = 0;
    std::uint64_t size = 0;        // uncompressed
    std::uint64_t dataOffset = 0;  // of the (compressed) data in the file
};

class ZipArchive {
public:
    // True if the bytes start with a local file header or an end-of-central-directory record ("PK").
    static bool looksLikeZip(const std::string& bytes);
    // Parses and validates everything (including all CRCs). `file` is used in messages.
    ZipArchive(std::string bytes, std::string file);

    const std::vector<ZipEntry>& entries() const { return entries_; }
    const ZipEntry* find(const std::string& name) const;
    // The entry's uncompressed bytes (already CRC-checked by the constructor).
    std::string read(const ZipEntry& entry) const;
    std::string read(const std::string& name) const;  // throws Error if absent
    // The common top-level folder of all entries ("archive" for "archive/data.pkl"), or "" if none.
    const std::string& rootFolder() const { return root_; }
    const std::string& bytes() const { return bytes_; }
    const std::string& file() const { return file_; }

private:
    void parse();

    std::string bytes_;
    std::string file_;
    std::vector<ZipEntry> entries_;
    std::string root_;
};

}  // namespace coalesce
