// IDX files, the MNIST / Fashion-MNIST format (http://yann.lecun.com/exdb/mnist/), raw or gzipped:
// a big-endian magic 0x0000TTNN (TT = element type, 0x08 = unsigned byte; NN = number of dimensions),
// NN big-endian uint32 sizes, then the row-major elements. Only unsigned-byte files are accepted:
// images are 0x00000803 (N×rows×cols), labels 0x00000801 (N).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace coalesce {

struct IdxArray {
    std::vector<std::int64_t> dims;    // e.g. {60000, 28, 28}
    std::vector<std::uint8_t> values;  // product(dims) bytes, row-major
    std::string fileSha256;            // digest of the file as stored (the compressed bytes for .gz)
};

// Reads and validates an unsigned-byte IDX file with `dimensions` dimensions (3 = images, 1 = labels):
// magic, non-zero sizes, and the declared size against the bytes actually present (truncated or
// over-long files are rejected). Throws coalesce::Error naming the file. Successful reads are cached
// in-process, keyed by canonical path, size and modification time, so a second load of the 60k
// training images costs only the tensor conversion.
std::shared_ptr<const IdxArray> readIdx(const std::string& path, int dimensions);

// The whole file, gunzipped if it starts with the gzip magic (multi-member streams allowed).
// *fileSha256 (optional) receives the digest of the bytes on disk.
std::vector<std::uint8_t> readFileMaybeGzipped(const std::string& path, std::string* fileSha256 = nullptr);

void clearIdxCache();

}  // namespace coalesce
