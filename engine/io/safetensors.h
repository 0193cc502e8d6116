// safetensors (https://github.com/huggingface/safetensors#format): 8-byte little-endian header length N,
// N bytes of JSON {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
// "__metadata__": {"<key>": "<string>"}}, then the raw little-endian tensor bytes. It is the layout of
// Coalesce's native checkpoints and of its generator exports for Python users.
//
// The parser trusts nothing: header length, JSON, nesting depth, dtypes, shapes, offsets and sizes are
// all checked against the file before a tensor is built, so a damaged file is a coalesce::Error naming
// the file and the problem, never a crash or a huge allocation.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

namespace coalesce {

struct SafetensorsEntry {
    std::string name;
    std::string dtype;  // safetensors dtype code: F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0;  // byte offsets into the data section
    std::uint64_t end = 0;
};

struct SafetensorsFile {
    std::string file;     // for messages
    std::string bytes;    // the whole file
    std::size_t dataStart = 0;
    std::map<std::string, std::string> metadata;  // "__metadata__"
    std::vector<SafetensorsEntry> entries;        // sorted by offset

    std::size_t dataSize() const { return bytes.size() - dataStart; }
    const char* data() const { return bytes.data() + dataStart; }
    const SafetensorsEntry* find(const std::string& name) const;
    // A new CPU tensor holding a copy of the entry's bytes.
    torch::Tensor tensor(const SafetensorsEntry& entry) const;
};

// Largest header accepted (the format's reference implementation uses the same 100 MB limit).
constexpr std::uint64_t kMaxSafetensorsHeader = 100ull * 1000 * 1000;

// True if the bytes start like a safetensors file (a plausible header length followed by '{').
bool looksLikeSafetensors(const std::string& bytes);

// Validates the structure (not any checksum: see checkpoint.cpp). `file` is used in messages.
SafetensorsFile parseSafetensors(std::string bytes, const std::string& file);
SafetensorsFile readSafetensorsFile(const std::string& path);

// Writes tensors (made contiguous, copied to CPU) in name order, atomically. If crcMetadataKey is
// non-empty, metadata[crcMetadataKey] is set to the zlib CRC-32 of the data section (8 hex digits).
void writeSafetensorsFile(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                          std::map<std::string, std::string> metadata, const std::string& crcMetadataKey = "");

std::string safetensorsDtypeCode(torch::ScalarType type);  // throws for types safetensors lacks

}  // namespace coalesce
