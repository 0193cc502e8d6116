#include "quant/packed_generator.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "core/checksum.h"
#include "core/error.h"
#include "core/json_text.h"
#include "io/model_files.h"
#include "quant/ternary_layers.h"
#include "run/run_directory.h"

namespace coalesce {

namespace {

constexpr char kMagic[8] = {'C', 'O', 'A', 'L', 'T', 'E', 'R', 'N'};
constexpr std::uint32_t kFormatVersion = 1;
constexpr std::size_t kPreambleBytes = 24;  // magic, version, crc, header length

void requireLittleEndianHost() {
    const std::uint16_t probe = 1;
    std::uint8_t first = 0;
    std::memcpy(&first, &probe, 1);
    if (first != 1) throw Error("packed ternary files: big-endian hosts are not supported");
}

void putU32(std::string& out, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
void putU64(std::string& out, std::size_t at, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
std::uint64_t getLE(const std::string& in, std::size_t at, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
    return v;
}


const char* dtypeName(torch::ScalarType t) {
    switch (t) {
        case torch::kFloat: return "float32";
        case torch::kDouble: return "float64";
        case torch::kLong: return "int64";
        default: return nullptr;
    }
}

std::optional<torch::ScalarType> dtypeFromName(const std::string& name) {
    if (name == "float32") return torch::kFloat;
    if (name == "float64") return torch::kDouble;
    if (name == "int64") return torch::kLong;
    return std::nullopt;
}

std::set<std::string> ternaryKinds() { return {"conv2d", "conv_transpose2d", "linear"}; }

// Names of a ternary layer's own parameters that never leave the training graph.
bool isQuantiserParameter(const std::string& name, const std::set<std::string>& ternaryLayerNames) {
    for (const char* suffix : {".weight", ".delta", ".w_pos", ".w_neg"}) {
        const std::string s(suffix);
        if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0 &&
            ternaryLayerNames.count(name.substr(0, name.size() - s.size())))
            return true;
    }
    return false;
}

// A lower bound on the number of conv / linear weights of a generator of this architecture (the
// layer shapes of models/networks.cpp). Checked against what a file holds before a generator is built,
// so that a tampered-but-checksummed architecture cannot make the loader allocate gigabytes.
std::uint64_t minimumWeightCount(const ArchSpec& arch) {
    std::uint64_t n = 0;
    std::uint64_t in = static_cast<std::uint64_t>(arch.latentDim);
    const std::uint64_t kernel = arch.isImage() ? 16 : 1;  // 4×4 transposed convolutions
    for (int w : arch.generatorWidths) {
        n += in * static_cast<std::uint64_t>(w) * kernel;
        in = static_cast<std::uint64_t>(w);
    }
    return n + in * static_cast<std::uint64_t>(arch.isImage() ? arch.channels : arch.dataDim) * kernel;
}

// Builds the float generator and checks that the packed contents cover its parameters and buffers
// exactly (names and shapes). `what` prefixes error messages (the file name when loading).
Generator buildGenerator(const PackedGenerator& packed, const std::string& what) {
    Generator g(packed.arch);
    torch::NoGradGuard noGrad;
    std::map<std::string, torch::Tensor> targets;
    for (const auto& p : g->named_parameters(true)) targets[p.key()] = p.value();
    for (const auto& b : g->named_buffers(true)) targets[b.key()] = b.value();

    std::set<std::string> filled;
    for (const auto& layer : packed.layers) {
        const std::string name = layer.name + ".weight";
        auto it = targets.find(name);
        if (it == targets.end())
            throw Error(what + ": ternary layer \"" + layer.name + "\" does not exist in a " + packed.arch.describe() +
                        " generator");
        if (it->second.sizes() != layer.codes.sizes())
            throw Error(what + ": ternary layer \"" + layer.name + "\" has shape " + c10::str(layer.codes.sizes()) +
                        ", the architecture expects " + c10::str(it->second.sizes()));
        if (!filled.insert(name).second) throw Error(what + ": ternary layer \"" + layer.name + "\" appears twice");
        auto codes = layer.codes.to(torch::kFloat);
        it->second.copy_(layer.scalePos * (codes == 1).to(torch::kFloat) -
                         layer.scaleNeg * (codes == -1).to(torch::kFloat));
    }
    for (const auto& [name, tensor] : packed.tensors) {
        auto it = targets.find(name);
        if (it == targets.end())
            throw Error(what + ": tensor \"" + name + "\" does not exist in a " + packed.arch.describe() + " generator");
        if (it->second.sizes() != tensor.sizes())
            throw Error(what + ": tensor \"" + name + "\" has shape " + c10::str(tensor.sizes()) +
                        ", the architecture expects " + c10::str(it->second.sizes()));
        if (!filled.insert(name).second) throw Error(what + ": \"" + name + "\" is stored both ternary and in float");
        it->second.copy_(tensor);
    }
    for (const auto& [name, _] : targets)
        if (!filled.count(name)) throw Error(what + ": \"" + name + "\" is missing");
    g->eval();
    return g;
}

std::uint64_t checkedNumel(const nlohmann::json& shape, const std::string& what) {
    if (!shape.is_array()) throw Error(what + ": \"shape\" must be an array");
    std::uint64_t n = 1;
    for (const auto& d : shape) {
        if (!d.is_number_integer() || d.get<std::int64_t>() < 0)
            throw Error(what + ": \"shape\" must hold non-negative integers");
        const auto v = d.get<std::uint64_t>();
        if (v != 0 && n > (std::uint64_t(1) << 40) / v) throw Error(what + ": \"shape\" is implausibly large");
        n *= v;
    }
    return n;
}

std::vector<int64_t> shapeOf(const nlohmann::json& shape) { return shape.get<std::vector<int64_t>>(); }

// Checks that [offset, offset+bytes) lies inside a data section of `dataBytes` bytes.
void checkRange(const nlohmann::json& entry, std::uint64_t expectedBytes, std::uint64_t dataBytes,
                const std::string& what) {
    if (!entry.contains("offset") || !entry["offset"].is_number_unsigned() || !entry.contains("bytes") ||
        !entry["bytes"].is_number_unsigned())
        throw Error(what + ": \"offset\" and \"bytes\" must be non-negative integers");
    const auto offset = entry["offset"].get<std::uint64_t>();
    const auto bytes = entry["bytes"].get<std::uint64_t>();
    if (bytes != expectedBytes)
        throw Error(what + ": holds " + std::to_string(bytes) + " bytes, its shape needs " + std::to_string(expectedBytes));
    if (offset > dataBytes || bytes > dataBytes - offset)
        throw Error(what + ": byte range [" + std::to_string(offset) + ", +" + std::to_string(bytes) +
                    ") lies outside the data section (" + std::to_string(dataBytes) + " bytes)");
}

float finiteFloat(const nlohmann::json& entry, const char* key, const std::string& what) {
    if (!entry.contains(key) || !entry[key].is_number()) throw Error(what + ": \"" + key + "\" must be a number");
    const double v = entry[key].get<double>();
    if (!std::isfinite(v) || std::abs(v) > std::numeric_limits<float>::max())
        throw Error(what + ": \"" + key + "\" is not a finite float");
    return static_cast<float>(v);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------

torch::Tensor packTernaryCodes(const torch::Tensor& codes) {
    auto c = codes.detach().to(torch::kCPU, torch::kInt).contiguous().view(-1);
    if (c.numel() > 0 && (c.abs() > 1).any().item<bool>())
        throw Error("packTernaryCodes: codes must be -1, 0 or +1");
    auto mapped = (c == 1).to(torch::kInt) + 2 * (c == -1).to(torch::kInt);  // 0, 1 (+1), 2 (−1)
    const int64_t padded = (c.numel() + 3) / 4 * 4;
    mapped = torch::constant_pad_nd(mapped, {0, padded - c.numel()}, 0).view({-1, 4});
    auto packed = mapped.select(1, 0) + mapped.select(1, 1) * 4 + mapped.select(1, 2) * 16 + mapped.select(1, 3) * 64;
    return packed.to(torch::kUInt8).contiguous();
}

torch::Tensor unpackTernaryCodes(const torch::Tensor& packed, std::int64_t count) {
    if (count < 0 || packed.numel() != (count + 3) / 4)
        throw Error("unpackTernaryCodes: " + std::to_string(packed.numel()) + " bytes cannot hold " +
                    std::to_string(count) + " codes");
    auto b = packed.to(torch::kCPU, torch::kInt).view({-1, 1});
    auto shifts = torch::tensor({0, 2, 4, 6}, torch::kInt).view({1, 4});
    auto c = torch::bitwise_and(torch::bitwise_right_shift(b, shifts), 3).view(-1).narrow(0, 0, count);
    if (count > 0 && (c == 3).any().item<bool>()) throw Error("invalid ternary code 3 (only 0, 1, 2 are used)");
    return ((c == 1).to(torch::kInt8) - (c == 2).to(torch::kInt8)).contiguous();
}

PackedGenerator packGenerator(const Generator& ternarized, nlohmann::json meta) {
    const auto layers = ternaryLayers(ternarized);
    if (layers.empty()) throw Error("pack: the generator is not ternarised (no ternary layer)");
    PackedGenerator packed;
    packed.arch = ternarized->spec();
    packed.method = toString(layers.front().second->method());
    packed.meta = std::move(meta);
    std::set<std::string> names;
    for (const auto& [name, layer] : layers) {
        const auto snap = layer->snapshot();
        PackedTernaryLayer p;
        p.name = name;
        p.kind = layer->layerKind();
        p.codes = snap.codes;
        p.scalePos = static_cast<float>(snap.scalePos);
        p.scaleNeg = static_cast<float>(snap.scaleNeg);
        p.threshold = static_cast<float>(snap.threshold);
        p.center = static_cast<float>(snap.center);
        packed.layers.push_back(std::move(p));
        names.insert(name);
    }
    torch::NoGradGuard noGrad;
    for (const auto& p : ternarized->named_parameters(true))
        if (!isQuantiserParameter(p.key(), names)) packed.tensors[p.key()] = p.value().detach().cpu().contiguous();
    for (const auto& b : ternarized->named_buffers(true))
        packed.tensors[b.key()] = b.value().detach().cpu().contiguous();
    return packed;
}

Generator unpackGenerator(const PackedGenerator& packed) { return buildGenerator(packed, "packed generator"); }

void registerPackedTernaryReader() {
    setPackedTernaryReader([](const std::string& path) {
        const PackedGenerator packed = loadPackedGenerator(path);
        LoadedGenerator out;
        out.generator = unpackGenerator(packed);
        out.format = ModelFileFormat::PackedTernary;
        out.archSource = "file";
        out.meta = {{"method", packed.method}, {"ternary_layers", packed.layers.size()}, {"meta", packed.meta}};
        return out;
    });
}

namespace {
// Any program that links this file reads .ctern files without further setup.
const bool packedTernaryReaderInstalled = (registerPackedTernaryReader(), true);
}  // namespace

std::int64_t savePackedGenerator(const std::string& path, const PackedGenerator& packed) {
    requireLittleEndianHost();
    std::string data;
    nlohmann::json ternary = nlohmann::json::array();
    for (const auto& layer : packed.layers) {
        const auto bytes = packTernaryCodes(layer.codes);
        ternary.push_back({{"name", layer.name},
                           {"kind", layer.kind},
                           {"shape", layer.codes.sizes().vec()},
                           {"offset", data.size()},
                           {"bytes", bytes.numel()},
                           {"scale_pos", layer.scalePos},
                           {"scale_neg", layer.scaleNeg},
                           {"threshold", layer.threshold},
                           {"center", layer.center}});
        data.append(reinterpret_cast<const char*>(bytes.data_ptr<std::uint8_t>()), bytes.numel());
    }
    nlohmann::json tensors = nlohmann::json::object();
    for (const auto& [name, tensor] : packed.tensors) {
        const char* dtype = dtypeName(tensor.scalar_type());
        if (!dtype) throw Error(path + ": tensor \"" + name + "\" has an unsupported dtype for a packed file");
        auto t = tensor.detach().cpu().contiguous();
        const auto bytes = static_cast<std::size_t>(t.numel()) * t.element_size();
        tensors[name] = {{"dtype", dtype}, {"shape", t.sizes().vec()}, {"offset", data.size()}, {"bytes", bytes}};
        data.append(static_cast<const char*>(t.data_ptr()), bytes);
    }
    const nlohmann::json header{{"format", "coalesce-ternary"}, {"version", kFormatVersion},
                                {"arch", packed.arch.toJson()}, {"method", packed.method},
                                {"data_bytes", data.size()}, {"meta", packed.meta},
                                {"ternary", ternary}, {"tensors", tensors}};
    const std::string headerText = header.dump();

    std::string file(kPreambleBytes, '\0');
    std::memcpy(&file[0], kMagic, 8);
    putU32(file, 8, kFormatVersion);
    putU64(file, 16, headerText.size());
    file += headerText;
    file += data;
    putU32(file, 12, crc32Of(file.data() + 16, file.size() - 16));
    writeFileAtomically(path, file);
    return static_cast<std::int64_t>(file.size());
}

namespace {

struct ByteRange {
    std::uint64_t begin, end;
    std::string name;
};

// A crafted header could point two entries at the same bytes (the checksum covers the header, but a
// file written by anything else than Coalesce passes it): refuse overlapping ranges.
void requireDisjoint(std::vector<ByteRange> ranges, const std::string& path) {
    std::sort(ranges.begin(), ranges.end(), [](const ByteRange& a, const ByteRange& b) { return a.begin < b.begin; });
    for (std::size_t i = 1; i < ranges.size(); ++i)
        if (ranges[i].begin < ranges[i - 1].end && ranges[i].begin < ranges[i].end)
            throw Error(path + ": the bytes of " + ranges[i - 1].name + " and " + ranges[i].name +
                        " overlap in the data section");
}

}  // namespace

PackedGenerator loadPackedGenerator(const std::string& path) {
    requireLittleEndianHost();
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open (missing or unreadable)");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    const std::string file = buffer.str();

    if (file.size() < kPreambleBytes)
        throw Error(path + ": truncated (" + std::to_string(file.size()) + " bytes; a packed ternary file has at least " +
                    std::to_string(kPreambleBytes) + ")");
    if (std::memcmp(file.data(), kMagic, 8) != 0)
        throw Error(path + ": not a packed ternary generator (wrong magic; expected \"COALTERN\")");
    const auto version = getLE(file, 8, 4);
    if (version != kFormatVersion)
        throw Error(path + ": packed format version " + std::to_string(version) + " is not supported (expected " +
                    std::to_string(kFormatVersion) + ")");
    const auto headerBytes = getLE(file, 16, 8);
    if (headerBytes > file.size() - kPreambleBytes)
        throw Error(path + ": truncated (header claims " + std::to_string(headerBytes) + " bytes, only " +
                    std::to_string(file.size() - kPreambleBytes) + " follow)");
    const auto storedCrc = static_cast<std::uint32_t>(getLE(file, 12, 4));
    if (crc32Of(file.data() + 16, file.size() - 16) != storedCrc)
        throw Error(path + ": checksum mismatch (the file is corrupt or truncated)");

    nlohmann::json header;
    try {
        header = parseJson(file.begin() + kPreambleBytes, file.begin() + kPreambleBytes + headerBytes);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": malformed header JSON (" + e.what() + ")");
    }
    const std::size_t dataStart = kPreambleBytes + headerBytes;
    const std::uint64_t dataBytes = file.size() - dataStart;

    PackedGenerator packed;
    std::vector<ByteRange> ranges;  // every entry's bytes in the data section: no two may share a byte
    try {
        if (!header.is_object() || header.value("format", "") != "coalesce-ternary")
            throw Error(path + ": header is not a coalesce-ternary header");
        if (!header.contains("data_bytes") || !header["data_bytes"].is_number_unsigned() ||
            header["data_bytes"].get<std::uint64_t>() != dataBytes)
            throw Error(path + ": data section has " + std::to_string(dataBytes) + " bytes, the header says " +
                        (header.contains("data_bytes") ? header["data_bytes"].dump() : std::string("nothing")));
        try {
            packed.arch = ArchSpec::fromJson(header.at("arch"));
        } catch (const Error& e) {
            throw Error(path + ": " + e.what());
        }
        packed.method = header.at("method").get<std::string>();
        try {
            parseTernaryMethod(packed.method);  // validates the name
        } catch (const Error& e) {
            throw Error(path + ": " + e.what());
        }
        packed.meta = header.value("meta", nlohmann::json::object());

        if (!header.at("ternary").is_array()) throw Error(path + ": \"ternary\" must be an array");
        for (const auto& entry : header["ternary"]) {
            PackedTernaryLayer layer;
            layer.name = entry.at("name").get<std::string>();
            const std::string what = path + ": ternary layer \"" + layer.name + "\"";
            layer.kind = entry.at("kind").get<std::string>();
            if (!ternaryKinds().count(layer.kind)) throw Error(what + ": unknown kind \"" + layer.kind + "\"");
            const auto count = checkedNumel(entry.at("shape"), what);
            checkRange(entry, (count + 3) / 4, dataBytes, what);
            const auto offset = entry["offset"].get<std::uint64_t>();
            auto bytes = torch::from_blob(const_cast<char*>(file.data() + dataStart + offset),
                                          {static_cast<int64_t>((count + 3) / 4)}, torch::kUInt8);
            try {
                layer.codes = unpackTernaryCodes(bytes, static_cast<int64_t>(count)).view(shapeOf(entry["shape"]));
            } catch (const Error& e) {
                throw Error(what + ": " + e.what());
            }
            layer.scalePos = finiteFloat(entry, "scale_pos", what);
            layer.scaleNeg = finiteFloat(entry, "scale_neg", what);
            layer.threshold = finiteFloat(entry, "threshold", what);
            layer.center = finiteFloat(entry, "center", what);
            // +1 / −1 codes stand for +α+ and −α−: a negative scale would flip a weight's sign.
            if (layer.scalePos < 0 || layer.scaleNeg < 0 || layer.threshold < 0)
                throw Error(what + ": scale_pos, scale_neg and threshold must be >= 0 (got " + std::to_string(layer.scalePos) +
                            ", " + std::to_string(layer.scaleNeg) + ", " + std::to_string(layer.threshold) + ")");
            ranges.push_back({offset, offset + (count + 3) / 4, "ternary layer \"" + layer.name + "\""});
            packed.layers.push_back(std::move(layer));
        }
        if (!header.at("tensors").is_object()) throw Error(path + ": \"tensors\" must be an object");
        for (const auto& [name, entry] : header["tensors"].items()) {
            const std::string what = path + ": tensor \"" + name + "\"";
            const auto dtype = dtypeFromName(entry.at("dtype").get<std::string>());
            if (!dtype) throw Error(what + ": unsupported dtype " + entry["dtype"].dump());
            const auto count = checkedNumel(entry.at("shape"), what);
            const auto elementBytes = static_cast<std::uint64_t>(c10::elementSize(*dtype));
            checkRange(entry, count * elementBytes, dataBytes, what);
            const auto offset = entry["offset"].get<std::uint64_t>();
            auto tensor = torch::empty(shapeOf(entry["shape"]), *dtype);  // memcpy: the bytes may be unaligned
            std::memcpy(tensor.data_ptr(), file.data() + dataStart + offset, count * elementBytes);
            packed.tensors[name] = tensor;
            ranges.push_back({offset, offset + count * elementBytes, "tensor \"" + name + "\""});
        }
        requireDisjoint(ranges, path);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": malformed header (" + e.what() + ")");
    }
    std::uint64_t stored = 0;
    for (const auto& layer : packed.layers) stored += static_cast<std::uint64_t>(layer.codes.numel());
    for (const auto& [_, tensor] : packed.tensors) stored += static_cast<std::uint64_t>(tensor.numel());
    if (stored < minimumWeightCount(packed.arch))
        throw Error(path + ": holds " + std::to_string(stored) + " values, fewer than the weights of a " +
                    packed.arch.describe() + " generator");
    buildGenerator(packed, path);  // names and shapes must match the architecture exactly
    return packed;
}

}  // namespace coalesce
