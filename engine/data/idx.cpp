#include "data/idx.h"

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <utility>

#include <zlib.h>

#include "core/error.h"
#include "data/digest.h"

namespace coalesce {

namespace fs = std::filesystem;

namespace {

std::string hex32(std::uint32_t value) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08X", value);
    return buf;
}

std::vector<std::uint8_t> readWholeFile(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw Error(path + ": no such file");
    if (fs::is_directory(path, ec)) throw Error(path + ": is a directory, expected an IDX file");
    const auto size = fs::file_size(path, ec);
    if (ec) throw Error(path + ": cannot read (" + ec.message() + ")");
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) throw Error(path + ": cannot open for reading");
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
    const std::size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    if (got != bytes.size()) throw Error(path + ": read error after " + std::to_string(got) + " bytes");
    return bytes;
}

bool isGzip(const std::vector<std::uint8_t>& bytes, std::size_t at = 0) {
    return bytes.size() >= at + 2 && bytes[at] == 0x1f && bytes[at + 1] == 0x8b;
}

std::vector<std::uint8_t> gunzip(const std::vector<std::uint8_t>& in, const std::string& path) {
    // The gzip trailer holds the uncompressed size mod 2^32: a good first allocation.
    std::size_t hint = 1 << 16;
    if (in.size() >= 18) {
        const std::size_t n = in.size();
        hint = std::max<std::size_t>(hint, (std::size_t(in[n - 1]) << 24 | std::size_t(in[n - 2]) << 16 |
                                            std::size_t(in[n - 3]) << 8 | std::size_t(in[n - 4])) + 1);
    }
    constexpr std::size_t kChunk = std::size_t{1} << 30;  // z_stream counts are 32-bit
    std::vector<std::uint8_t> out(hint);
    z_stream s{};
    if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK) throw Error(path + ": zlib initialisation failed");
    std::size_t inPos = 0, produced = 0;
    auto fail = [&](const std::string& why) {
        inflateEnd(&s);
        throw Error(path + ": " + why);
    };
    for (;;) {
        if (s.avail_in == 0 && inPos < in.size()) {
            const std::size_t take = std::min(kChunk, in.size() - inPos);
            s.next_in = const_cast<Bytef*>(in.data() + inPos);
            s.avail_in = static_cast<uInt>(take);
            inPos += take;
        }
        if (produced == out.size()) out.resize(out.size() * 2);
        s.next_out = out.data() + produced;
        s.avail_out = static_cast<uInt>(std::min(kChunk, out.size() - produced));
        const int ret = inflate(&s, Z_NO_FLUSH);
        produced = static_cast<std::size_t>(s.next_out - out.data());
        if (ret == Z_STREAM_END) {
            const std::size_t consumed = inPos - s.avail_in;
            if (consumed == in.size()) break;
            if (!isGzip(in, consumed))  // gzip allows concatenated members; anything else is damage
                fail("corrupt gzip file: " + std::to_string(in.size() - consumed) +
                     " unexpected bytes after the compressed data");
            inflateReset(&s);
        } else if (ret == Z_BUF_ERROR) {
            if (s.avail_in == 0 && inPos == in.size())
                fail("truncated gzip file: the compressed data ends after " + std::to_string(in.size()) +
                     " bytes, before the end of the stream");
        } else if (ret == Z_DATA_ERROR) {
            fail(std::string("corrupt gzip data (zlib: ") + (s.msg ? s.msg : "invalid data") + ")");
        } else if (ret == Z_MEM_ERROR) {
            fail("out of memory while decompressing");
        } else if (ret != Z_OK) {
            fail("gzip decompression failed (zlib error " + std::to_string(ret) + ")");
        } else if (s.avail_in == 0 && inPos == in.size() && s.avail_out > 0) {
            fail("truncated gzip file: the compressed data ends after " + std::to_string(in.size()) +
                 " bytes, before the end of the stream");
        }
    }
    inflateEnd(&s);
    out.resize(produced);
    return out;
}

std::vector<std::uint8_t> readContent(const std::string& path, std::string* fileSha256, bool* wasGzipped) {
    auto bytes = readWholeFile(path);
    if (fileSha256) *fileSha256 = sha256Hex(bytes.data(), bytes.size());
    *wasGzipped = isGzip(bytes);
    return *wasGzipped ? gunzip(bytes, path) : bytes;
}

std::uint32_t bigEndian32(const std::uint8_t* p) {
    return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | std::uint32_t(p[3]);
}

const char* kindName(int dimensions) { return dimensions == 3 ? "IDX images" : dimensions == 1 ? "IDX labels" : "IDX data"; }

std::string describeDeclared(const std::vector<std::int64_t>& dims, std::uint64_t bytes) {
    std::string what;
    if (dims.size() == 3)
        what = std::to_string(dims[0]) + " images of " + std::to_string(dims[1]) + "×" + std::to_string(dims[2]);
    else if (dims.size() == 1)
        what = std::to_string(dims[0]) + " labels";
    else {
        what = "an array of ";
        for (std::size_t i = 0; i < dims.size(); ++i) what += (i ? "×" : "") + std::to_string(dims[i]);
    }
    return what + " (" + std::to_string(bytes) + " bytes)";
}

IdxArray parseIdx(const std::string& path, int dimensions) {
    IdxArray result;
    bool wasGzipped = false;
    auto content = readContent(path, &result.fileSha256, &wasGzipped);
    const std::uint32_t expectedMagic = 0x0800u | static_cast<std::uint32_t>(dimensions);
    const std::string expected = " (expected " + hex32(expectedMagic) + " for " + kindName(dimensions) + ")";
    if (content.size() < 4)
        throw Error(path + ": truncated: " + std::to_string(content.size()) +
                    " bytes, too short for an IDX header" + expected);
    const std::uint32_t magic = bigEndian32(content.data());
    if (magic != expectedMagic) {
        std::string why = path + ": wrong magic " + hex32(magic) + expected;
        if (content[0] != 0 || content[1] != 0)
            why += ": not an IDX file";
        else if (content[2] != 0x08)
            why += ": element type 0x" + hex32(content[2]).substr(8) + " is not unsigned bytes (0x08)";
        else if (content[3] == 1)
            why += ": this is an IDX label file (were images and labels swapped?)";
        else if (content[3] == 3)
            why += ": this is an IDX image file (were images and labels swapped?)";
        else
            why += ": " + std::to_string(content[3]) + " dimensions, expected " + std::to_string(dimensions);
        throw Error(why);
    }
    const std::size_t headerBytes = 4 + 4 * static_cast<std::size_t>(dimensions);
    if (content.size() < headerBytes)
        throw Error(path + ": truncated: " + std::to_string(content.size()) + " bytes, but the IDX header of " +
                    kindName(dimensions) + " needs " + std::to_string(headerBytes));
    std::uint64_t declared = 1;
    for (int i = 0; i < dimensions; ++i) {
        const std::uint32_t d = bigEndian32(content.data() + 4 + 4 * i);
        if (d == 0) throw Error(path + ": header declares size 0 for dimension " + std::to_string(i + 1) + " (empty data)");
        result.dims.push_back(d);
        if (declared > (std::uint64_t{1} << 44) / d)  // 16 TiB: clearly a damaged header
            throw Error(path + ": header declares an impossible size (" + std::to_string(d) + " in dimension " +
                        std::to_string(i + 1) + ")");
        declared *= d;
    }
    const std::uint64_t present = content.size() - headerBytes;
    const std::string after = wasGzipped ? " (after decompression)" : "";
    if (present < declared)
        throw Error(path + ": truncated: header says " + describeDeclared(result.dims, declared) + " but only " +
                    std::to_string(present) + " bytes follow" + after);
    if (present > declared)
        throw Error(path + ": " + std::to_string(present - declared) + " unexpected bytes after the data: header says " +
                    describeDeclared(result.dims, declared) + " but " + std::to_string(present) + " bytes follow" + after);
    content.erase(content.begin(), content.begin() + static_cast<std::ptrdiff_t>(headerBytes));  // no second 47 MB buffer
    result.values = std::move(content);
    return result;
}

struct CacheEntry {
    std::string canonicalPath;
    std::uintmax_t size;
    fs::file_time_type modified;
    int dimensions;
    std::shared_ptr<const IdxArray> array;
};
std::mutex cacheMutex;
std::vector<CacheEntry> cache;  // most recent last
constexpr std::size_t kCacheEntries = 6;  // train + test images and labels fit with room to spare

}  // namespace

std::vector<std::uint8_t> readFileMaybeGzipped(const std::string& path, std::string* fileSha256) {
    bool wasGzipped = false;
    return readContent(path, fileSha256, &wasGzipped);
}

std::shared_ptr<const IdxArray> readIdx(const std::string& path, int dimensions) {
    std::error_code ec;
    const fs::path canonical = fs::canonical(path, ec);
    if (ec) {
        if (!fs::exists(path)) throw Error(path + ": no such file");
        throw Error(path + ": cannot resolve path (" + ec.message() + ")");
    }
    const auto size = fs::file_size(canonical, ec);
    const auto modified = fs::last_write_time(canonical, ec);
    {
        std::lock_guard<std::mutex> lock(cacheMutex);
        for (auto it = cache.begin(); it != cache.end(); ++it)
            if (it->canonicalPath == canonical.string() && it->size == size && it->modified == modified &&
                it->dimensions == dimensions) {
                auto hit = *it;
                cache.erase(it);
                cache.push_back(hit);
                return hit.array;
            }
    }
    auto array = std::make_shared<const IdxArray>(parseIdx(path, dimensions));
    std::lock_guard<std::mutex> lock(cacheMutex);
    if (cache.size() >= kCacheEntries) cache.erase(cache.begin());
    cache.push_back({canonical.string(), size, modified, dimensions, array});
    return array;
}

void clearIdxCache() {
    std::lock_guard<std::mutex> lock(cacheMutex);
    cache.clear();
}

}  // namespace coalesce
