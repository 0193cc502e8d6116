#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <torch/torch.h>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include "core/atomic_file.h"
#include "core/checksum.h"
#include "core/display_name.h"
#include "core/error.h"
#include "core/json_text.h"

namespace coalesce {

namespace {

struct DtypeInfo {
    const char* code;
    torch::ScalarType type;
    std::size_t size;
};
constexpr DtypeInfo kDtypes[] = {
    {"F32", torch::kFloat32, 4}, {"F64", torch::kFloat64, 8}, {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8}, {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},   {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

const DtypeInfo* dtypeByCode(const std::string& code) {
    for (const auto& d : kDtypes)
        if (code == d.code) return &d;
    return nullptr;
}

std::uint64_t readLittleEndian64(const char* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

// nlohmann's parser is iterative but destroying a deeply nested value recurses: refuse silly depths
// before parsing. Also tells a binary blob from JSON early.
void checkJsonNesting(const std::string& text, const std::string& file) {
    int depth = 0;
    bool inString = false, escaped = false;
    for (char c : text) {
        if (inString) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') inString = false;
            continue;
        }
        if (c == '"') inString = true;
        else if (c == '{' || c == '[') {
            if (++depth > 16) throw Error(file + ": malformed header: JSON nested deeper than 16 levels");
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
}

std::string shapeString(const std::vector<std::int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
    return s + "]";
}

SafetensorsEntry parseEntry(const std::string& name, const nlohmann::json& j, const std::string& file) {
    const std::string where = file + ": tensor " + quotedName(name);
    if (name.empty() || name.size() > 1024) throw Error(file + ": malformed header: tensor name empty or over 1024 bytes");
    if (!j.is_object()) throw Error(where + ": header entry is not an object");
    SafetensorsEntry e;
    e.name = name;
    auto dtype = j.find("dtype");
    if (dtype == j.end() || !dtype->is_string()) throw Error(where + ": missing or non-string 'dtype'");
    e.dtype = dtype->get<std::string>();
    const DtypeInfo* info = dtypeByCode(e.dtype);
    if (!info) throw Error(where + ": unsupported dtype " + quotedName(e.dtype));
    auto shape = j.find("shape");
    if (shape == j.end() || !shape->is_array()) throw Error(where + ": missing or non-array 'shape'");
    if (shape->size() > 16) throw Error(where + ": shape has " + std::to_string(shape->size()) + " dimensions (at most 16)");
    // Element count with overflow protection: every byte count must fit well inside 64 bits.
    std::uint64_t numel = 1;
    for (const auto& d : *shape) {
        if (!d.is_number_unsigned()) throw Error(where + ": shape entries must be non-negative integers");
        std::uint64_t dim = d.get<std::uint64_t>();
        if (dim > (1ull << 40)) throw Error(where + ": dimension " + std::to_string(dim) + " is implausibly large");
        e.shape.push_back(static_cast<std::int64_t>(dim));
        if (dim != 0 && numel > (1ull << 56) / dim) throw Error(where + ": shape " + shapeString(e.shape) + " is too large");
        numel *= dim;
    }
    auto offsets = j.find("data_offsets");
    if (offsets == j.end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
        !(*offsets)[1].is_number_unsigned())
        throw Error(where + ": 'data_offsets' must be two non-negative integers");
    e.begin = (*offsets)[0].get<std::uint64_t>();
    e.end = (*offsets)[1].get<std::uint64_t>();
    if (e.end < e.begin) throw Error(where + ": data_offsets end before they begin");
    if (e.end - e.begin != numel * info->size)
        throw Error(where + ": " + e.dtype + " " + shapeString(e.shape) + " needs " + std::to_string(numel * info->size) +
                    " bytes but data_offsets span " + std::to_string(e.end - e.begin));
    return e;
}

}  // namespace

std::string safetensorsDtypeCode(torch::ScalarType type) {
    for (const auto& d : kDtypes)
        if (d.type == type) return d.code;
    throw Error(std::string("safetensors cannot store tensors of type ") + c10::toString(type));
}


const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
    for (const auto& e : entries)
        if (e.name == name) return &e;
    return nullptr;
}

torch::Tensor SafetensorsFile::tensor(const SafetensorsEntry& entry) const {
    const DtypeInfo* info = dtypeByCode(entry.dtype);
    auto t = torch::empty(entry.shape, torch::TensorOptions().dtype(info->type));
    if (entry.end > entry.begin) std::memcpy(t.data_ptr(), data() + entry.begin, entry.end - entry.begin);
    return t;
}

bool looksLikeSafetensors(const std::string& bytes) {
    if (bytes.size() < 10) return false;
    std::uint64_t n = readLittleEndian64(bytes.data());
    return n >= 2 && n <= bytes.size() - 8 && bytes[8] == '{';
}

SafetensorsFile parseSafetensors(std::string bytes, const std::string& file) {
    static_assert(sizeof(float) == 4, "safetensors stores IEEE floats");
    {
        const std::uint16_t probe = 1;
        if (*reinterpret_cast<const unsigned char*>(&probe) != 1)
            throw Error(file + ": reading safetensors on a big-endian machine is not supported");
    }
    SafetensorsFile f;
    f.file = file;
    if (bytes.size() < 8)
        throw Error(file + ": truncated: " + std::to_string(bytes.size()) + " bytes, too short for a header");
    const std::uint64_t headerLength = readLittleEndian64(bytes.data());
    if (headerLength > kMaxSafetensorsHeader)
        throw Error(file + ": malformed header: declared header length " + humanBytes(double(headerLength)) +
                    " exceeds the 100 MB limit (not a safetensors file?)");
    if (headerLength > bytes.size() - 8)
        throw Error(file + ": truncated: header declares " + humanBytes(double(headerLength)) + " of JSON but only " +
                    humanBytes(double(bytes.size() - 8), double(headerLength)) + " follow");
    if (headerLength < 2) throw Error(file + ": malformed header: " + std::to_string(headerLength) + " bytes of JSON");
    std::string headerText = bytes.substr(8, headerLength);
    checkJsonNesting(headerText, file);
    nlohmann::json header;
    try {
        header = parseJson(headerText);
    } catch (const nlohmann::json::exception& e) {
        throw Error(file + ": malformed header: invalid JSON (" + e.what() + ")");
    }
    if (!header.is_object()) throw Error(file + ": malformed header: JSON is not an object");

    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == "__metadata__") {
            if (!it->is_object()) throw Error(file + ": malformed header: __metadata__ is not an object");
            for (auto m = it->begin(); m != it->end(); ++m) {
                if (!m->is_string()) throw Error(file + ": malformed header: __metadata__." + m.key() + " is not a string");
                f.metadata[m.key()] = m->get<std::string>();
            }
            continue;
        }
        f.entries.push_back(parseEntry(it.key(), *it, file));
    }
    f.dataStart = 8 + static_cast<std::size_t>(headerLength);
    const std::uint64_t present = bytes.size() - f.dataStart;

    std::sort(f.entries.begin(), f.entries.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    std::uint64_t declared = 0;
    const SafetensorsEntry* previous = nullptr;
    for (const auto& e : f.entries) {
        if (previous && e.begin < previous->end && e.end > e.begin)
            throw Error(file + ": malformed header: tensors " + quotedName(previous->name) + " and " + quotedName(e.name) +
                        "' overlap in the data section");
        if (e.end > e.begin) previous = &e;
        declared = std::max(declared, e.end);
    }
    if (declared > present)
        throw Error(file + ": truncated: header declares " + humanBytes(double(declared)) + " of tensor data but only " +
                    humanBytes(double(present), double(declared)) + " present");
    if (present > declared)
        throw Error(file + ": " + std::to_string(present - declared) +
                    " unexpected bytes after the tensor data (damaged or not a safetensors file)");
    f.bytes = std::move(bytes);
    return f;
}

SafetensorsFile readSafetensorsFile(const std::string& path) { return parseSafetensors(readFileBytes(path), path); }

void writeSafetensorsFile(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                          std::map<std::string, std::string> metadata, const std::string& crcMetadataKey) {
    nlohmann::json header = nlohmann::json::object();
    std::string data;
    std::size_t total = 0;
    std::vector<torch::Tensor> contiguous;
    contiguous.reserve(tensors.size());
    for (const auto& [name, tensor] : tensors) {
        if (name.empty() || name == "__metadata__") throw Error(path + ": cannot save a tensor named '" + name + "'");
        if (!tensor.defined()) throw Error(path + ": tensor '" + name + "' is undefined");
        contiguous.push_back(tensor.detach().to(torch::kCPU).contiguous());
        total += contiguous.back().nbytes();
    }
    data.reserve(total);
    std::size_t index = 0;
    for (const auto& [name, tensor] : tensors) {
        (void)tensor;
        const auto& t = contiguous[index++];
        const std::size_t begin = data.size();
        data.append(static_cast<const char*>(t.data_ptr()), t.nbytes());
        header[name] = {{"dtype", safetensorsDtypeCode(t.scalar_type())},
                        {"shape", t.sizes().vec()},
                        {"data_offsets", {begin, data.size()}}};
    }
    if (!crcMetadataKey.empty()) metadata[crcMetadataKey] = crc32Hex(data.data(), data.size());
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::string headerText = header.dump();
    headerText.append((8 - headerText.size() % 8) % 8, ' ');  // the format recommends 8-byte alignment
    char length[8];
    std::uint64_t n = headerText.size();
    for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((n >> (8 * i)) & 0xff);

    AtomicFileWriter writer(path);
    writer.write(length, 8);
    writer.write(headerText);
    writer.write(data);
    writer.commit();
}

}  // namespace coalesce
