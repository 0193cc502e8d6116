#include "io/zip_archive.h"

#include <algorithm>
#include <cstring>
#include <set>

#include <zlib.h>

#include "core/checksum.h"
#include "core/display_name.h"
#include "core/error.h"

namespace coalesce {

namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::uint32_t kCentralHeader = 0x02014b50;
constexpr std::uint32_t kEndOfCentralDirectory = 0x06054b50;
constexpr std::uint32_t kZip64EndOfCentralDirectory = 0x06064b50;
constexpr std::uint32_t kZip64Locator = 0x07064b50;
constexpr std::size_t kMaxEntries = 1'000'000;
constexpr std::uint64_t kMaxEntrySize = 1ull << 36;  // 64 GB: far beyond any model; guards zip bombs

// Bounds-checked little-endian reads from the file.
class Cursor {
public:
    Cursor(const std::string& bytes, const std::string& file) : bytes_(bytes), file_(file) {}
    void require(std::uint64_t offset, std::uint64_t length, const char* what) const {
        if (offset > bytes_.size() || length > bytes_.size() - offset)
            throw Error(file_ + ": truncated or damaged ZIP archive: " + what + " at byte " + std::to_string(offset) +
                        " lies beyond the end of the file (" + std::to_string(bytes_.size()) + " bytes)");
    }
    std::uint64_t read(std::uint64_t offset, int width) const {
        require(offset, width, "a header field");
        std::uint64_t v = 0;
        for (int i = width - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes_[offset + i]);
        return v;
    }
    std::uint16_t u16(std::uint64_t offset) const { return static_cast<std::uint16_t>(read(offset, 2)); }
    std::uint32_t u32(std::uint64_t offset) const { return static_cast<std::uint32_t>(read(offset, 4)); }
    std::uint64_t u64(std::uint64_t offset) const { return read(offset, 8); }

private:
    const std::string& bytes_;
    const std::string& file_;
};

// Inflates raw deflate data into exactly `expectedSize` bytes, or throws.
std::string inflateExactly(const char* data, std::uint64_t size, std::uint64_t expectedSize, const std::string& where) {
    std::string out(expectedSize, '\0');
    z_stream stream{};
    if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) throw Error(where + ": cannot initialise zlib");
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    std::uint64_t inLeft = size, outLeft = expectedSize;
    int status = Z_OK;
    while (status == Z_OK) {
        if (stream.avail_in == 0) {
            stream.avail_in = static_cast<uInt>(std::min<std::uint64_t>(inLeft, 1u << 30));
            inLeft -= stream.avail_in;
        }
        if (stream.avail_out == 0) {
            stream.avail_out = static_cast<uInt>(std::min<std::uint64_t>(outLeft, 1u << 30));
            outLeft -= stream.avail_out;
        }
        const uInt inBefore = stream.avail_in, outBefore = stream.avail_out;
        status = inflate(&stream, Z_NO_FLUSH);
        if (status == Z_BUF_ERROR || (status == Z_OK && stream.avail_in == inBefore && stream.avail_out == outBefore)) {
            // No progress: either the input ended early or the output would exceed the declared size.
            status = Z_DATA_ERROR;
        }
    }
    const bool complete = status == Z_STREAM_END && stream.total_out == expectedSize;
    inflateEnd(&stream);
    if (!complete) throw Error(where + ": compressed data is damaged or does not match its declared size");
    return out;
}

}  // namespace

bool ZipArchive::looksLikeZip(const std::string& bytes) {
    return bytes.size() >= 4 && bytes[0] == 'P' && bytes[1] == 'K' &&
           ((bytes[2] == 3 && bytes[3] == 4) || (bytes[2] == 5 && bytes[3] == 6));
}

ZipArchive::ZipArchive(std::string bytes, std::string file) : bytes_(std::move(bytes)), file_(std::move(file)) {
    parse();
}

void ZipArchive::parse() {
    const Cursor c(bytes_, file_);
    const std::string bad = file_ + ": damaged ZIP archive: ";
    if (bytes_.size() < 22) throw Error(file_ + ": truncated: " + std::to_string(bytes_.size()) + " bytes is too short for a ZIP archive");

    // The end-of-central-directory record must end exactly at the end of the file (after its comment):
    // a truncated file or one with bytes appended is rejected rather than guessed at.
    std::uint64_t eocd = 0;
    bool found = false;
    const std::uint64_t lowest = bytes_.size() >= 22 + 65535 ? bytes_.size() - 22 - 65535 : 0;
    for (std::uint64_t pos = bytes_.size() - 22 + 1; pos-- > lowest;) {
        if (c.u32(pos) == kEndOfCentralDirectory && pos + 22 + c.u16(pos + 20) == bytes_.size()) {
            eocd = pos;
            found = true;
            break;
        }
    }
    if (!found)
        throw Error(file_ + ": truncated or damaged ZIP archive: no end-of-central-directory record at the end of the file");
    if (c.u16(eocd + 4) != 0 || c.u16(eocd + 6) != 0) throw Error(bad + "multi-disk archives are not supported");
    std::uint64_t count = c.u16(eocd + 10);
    if (c.u16(eocd + 8) != count) throw Error(bad + "inconsistent entry counts");
    std::uint64_t cdSize = c.u32(eocd + 12);
    std::uint64_t cdOffset = c.u32(eocd + 16);
    std::uint64_t cdLimit = eocd;  // the central directory ends where the next record starts

    const bool zip64 = count == 0xffff || cdSize == 0xffffffff || cdOffset == 0xffffffff ||
                       (eocd >= 20 && c.u32(eocd - 20) == kZip64Locator);
    if (zip64) {
        if (eocd < 20 || c.u32(eocd - 20) != kZip64Locator) throw Error(bad + "zip64 locator missing");
        const std::uint64_t record = c.u64(eocd - 20 + 8);
        if (record > eocd - 20 || eocd - 20 - record < 56 || c.u32(record) != kZip64EndOfCentralDirectory)
            throw Error(bad + "zip64 end-of-central-directory record missing or misplaced");
        count = c.u64(record + 32);
        if (c.u64(record + 24) != count) throw Error(bad + "inconsistent zip64 entry counts");
        cdSize = c.u64(record + 40);
        cdOffset = c.u64(record + 48);
        cdLimit = record;
    }
    if (count > kMaxEntries) throw Error(bad + std::to_string(count) + " entries is implausibly many");
    if (cdOffset > cdLimit || cdSize != cdLimit - cdOffset)
        throw Error(bad + "central directory offset/size do not match the file (truncated or bytes inserted?)");

    std::set<std::string> names;
    std::uint64_t pos = cdOffset;
    entries_.reserve(static_cast<std::size_t>(count));
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::string where = bad + "central directory entry " + std::to_string(i);
        c.require(pos, 46, "a central directory entry");
        if (pos + 46 > cdLimit || c.u32(pos) != kCentralHeader) throw Error(where + " has a bad signature");
        const std::uint16_t flags = c.u16(pos + 8);
        ZipEntry e;
        e.method = c.u16(pos + 10);
        e.crc32 = c.u32(pos + 16);
        e.compressedSize = c.u32(pos + 20);
        e.size = c.u32(pos + 24);
        const std::uint16_t nameLength = c.u16(pos + 28), extraLength = c.u16(pos + 30), commentLength = c.u16(pos + 32);
        std::uint64_t localOffset = c.u32(pos + 42);
        const std::uint64_t next = pos + 46 + nameLength + extraLength + commentLength;
        if (next > cdLimit) throw Error(where + " runs past the central directory");
        if (nameLength == 0) throw Error(where + " has an empty name");
        e.name = bytes_.substr(pos + 46, nameLength);
        if (e.name.find('\0') != std::string::npos) throw Error(where + " has a name containing a NUL byte");
        // zip64 extended information: the 0xffffffff fields follow, in this order.
        for (std::uint64_t x = pos + 46 + nameLength; x + 4 <= pos + 46 + nameLength + extraLength;) {
            const std::uint16_t id = c.u16(x), length = c.u16(x + 2);
            if (x + 4 + length > pos + 46 + nameLength + extraLength) throw Error(where + " has a malformed extra field");
            if (id == 0x0001) {
                std::uint64_t y = x + 4, end = x + 4 + length;
                auto take = [&](std::uint64_t& field) {
                    if (field != 0xffffffff) return;
                    if (y + 8 > end) throw Error(where + " has a short zip64 extra field");
                    field = c.u64(y);
                    y += 8;
                };
                take(e.size);
                take(e.compressedSize);
                take(localOffset);
            }
            x += 4 + length;
        }
        if (flags & 0x1) throw Error(file_ + ": encrypted ZIP entries are not supported (" + quotedName(e.name) + ")");
        if (e.method != 0 && e.method != 8)
            throw Error(where + " (" + quotedName(e.name) + ") uses compression method " + std::to_string(e.method) +
                        " (only stored and deflate are supported)");
        if (e.method == 0 && e.compressedSize != e.size) throw Error(where + " (" + quotedName(e.name) + ") has inconsistent sizes");
        if (e.size > kMaxEntrySize) throw Error(where + " (" + quotedName(e.name) + ") declares an implausible size");
        if (!names.insert(e.name).second) throw Error(bad + "duplicate entry " + quotedName(e.name));

        // The local header must agree with the central one.
        const std::string local = bad + "local header of " + quotedName(e.name);
        c.require(localOffset, 30, "a local header");
        if (c.u32(localOffset) != kLocalHeader) throw Error(local + " has a bad signature");
        if (c.u16(localOffset + 8) != e.method) throw Error(local + " disagrees on the compression method");
        const std::uint16_t localNameLength = c.u16(localOffset + 26), localExtraLength = c.u16(localOffset + 28);
        c.require(localOffset + 30, localNameLength, "an entry name");
        if (bytes_.compare(localOffset + 30, localNameLength, e.name) != 0) throw Error(local + " has a different name");
        if (!(c.u16(localOffset + 6) & 0x8)) {  // sizes and CRC are in the local header (no data descriptor)
            const std::uint64_t localCompressed = c.u32(localOffset + 18), localSize = c.u32(localOffset + 22);
            if (c.u32(localOffset + 14) != e.crc32 ||
                (localCompressed != 0xffffffff && localCompressed != e.compressedSize) ||
                (localSize != 0xffffffff && localSize != e.size))
                throw Error(local + " disagrees with the central directory");
        }
        e.dataOffset = localOffset + 30 + localNameLength + localExtraLength;
        if (e.dataOffset > cdOffset || e.compressedSize > cdOffset - e.dataOffset)
            throw Error(file_ + ": truncated or damaged ZIP archive: data of " + quotedName(e.name) + " runs past the central directory");
        entries_.push_back(std::move(e));
        entries_.back().name.shrink_to_fit();
        (void)localOffset;
        pos = next;
    }
    if (pos != cdLimit) throw Error(bad + "central directory size does not match its entries");

    // Entry data must not overlap (a classic zip-bomb and confusion trick).
    std::vector<const ZipEntry*> byOffset;
    for (const auto& e : entries_) byOffset.push_back(&e);
    std::sort(byOffset.begin(), byOffset.end(), [](auto* a, auto* b) { return a->dataOffset < b->dataOffset; });
    for (size_t i = 1; i < byOffset.size(); ++i)
        if (byOffset[i - 1]->dataOffset + byOffset[i - 1]->compressedSize > byOffset[i]->dataOffset)
            throw Error(bad + "entries '" + byOffset[i - 1]->name + "' and '" + byOffset[i]->name + "' overlap");

    for (const auto& e : entries_) {
        const char* data = bytes_.data() + e.dataOffset;
        std::uint32_t crc;
        if (e.method == 0) {
            crc = crc32Of(data, e.size);
        } else {
            if (e.size > 1000 * std::max<std::uint64_t>(e.compressedSize, 1) + 4096)
                throw Error(bad + quotedName(e.name) + " declares an implausible compression ratio");
            std::string inflated = inflateExactly(data, e.compressedSize, e.size, file_ + ": " + quotedName(e.name));
            crc = crc32Of(inflated.data(), inflated.size());
        }
        if (crc != e.crc32)
            throw Error(file_ + ": checksum mismatch in ZIP entry " + quotedName(e.name) + " (file is corrupt)");
    }

    // PyTorch archives keep everything under one folder named after the file it was first saved as.
    if (!entries_.empty()) {
        const auto slash = entries_.front().name.find('/');
        std::string root = slash == std::string::npos ? "" : entries_.front().name.substr(0, slash);
        for (const auto& e : entries_)
            if (root.empty() || e.name.compare(0, root.size() + 1, root + "/") != 0) {
                root.clear();
                break;
            }
        root_ = root;
    }
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
    for (const auto& e : entries_)
        if (e.name == name) return &e;
    return nullptr;
}

std::string ZipArchive::read(const ZipEntry& entry) const {
    const char* data = bytes_.data() + entry.dataOffset;
    if (entry.method == 0) return std::string(data, entry.size);
    return inflateExactly(data, entry.compressedSize, entry.size, file_ + ": '" + entry.name + "'");
}

std::string ZipArchive::read(const std::string& name) const {
    const ZipEntry* e = find(name);
    if (!e) throw Error(file_ + ": ZIP entry " + quotedName(name) + " is missing");
    return read(*e);
}

}  // namespace coalesce
