#include "io/checkpoint.h"

#include <torch/torch.h>

#include "core/atomic_file.h"
#include "core/checksum.h"
#include "core/display_name.h"
#include "core/error.h"
#include "core/json_text.h"
#include "io/file_sniffing.h"
#include "io/safetensors.h"
#include "io/state_dict.h"
#include "models/networks.h"

namespace coalesce {

namespace {

constexpr const char* kFormat = "coalesce-checkpoint";
constexpr int kVersion = 1;

nlohmann::json parseMetadataJson(const SafetensorsFile& f, const std::string& key) {
    auto it = f.metadata.find(key);
    if (it == f.metadata.end()) throw Error(f.file + ": malformed Coalesce checkpoint: metadata " + quotedName(key) + " is missing");
    try {
        return parseJson(it->second);
    } catch (const nlohmann::json::exception& e) {
        throw Error(f.file + ": malformed Coalesce checkpoint: metadata " + quotedName(key) + " is not valid JSON (" + e.what() + ")");
    }
}

// What the network stored under a prefix was built from, if the module tells us.
const ArchSpec* moduleArch(const torch::nn::Module& module) {
    if (auto* g = dynamic_cast<const GeneratorImpl*>(&module)) return &g->spec();
    if (auto* d = dynamic_cast<const CriticImpl*>(&module)) return &d->spec();
    return nullptr;
}

}  // namespace

void saveCheckpoint(const std::string& path, const Checkpoint& checkpoint) {
    // Validate the architecture before writing: a file that cannot be read back is worse than none.
    ArchSpec::fromJson(checkpoint.arch.toJson());
    const std::string nonFinite = firstNonFiniteTensor(checkpoint.tensors);
    if (!nonFinite.empty())
        throw Error(path + ": not written: tensor " + nonFinite + " (training diverged; the previous checkpoint is kept)");
    std::map<std::string, std::string> metadata{
        {"format", kFormat},
        {"version", std::to_string(kVersion)},
        {"arch", checkpoint.arch.toJson().dump()},
        {"meta", checkpoint.meta.dump()},
    };
    try {
        writeSafetensorsFile(path, checkpoint.tensors, std::move(metadata), "data_crc32");
    } catch (const Error& e) {
        const std::string what = e.what();
        throw Error(what.compare(0, path.size(), path) == 0 ? what : path + ": " + what);
    }
}

Checkpoint loadCheckpoint(const std::string& path) {
    std::string bytes = readFileBytes(path);
    // A safetensors file starts with its header length and '{' at byte 8; anything else is some other
    // kind of file (a truncated header is reported precisely by the parser below).
    if (bytes.size() < 9 || bytes[8] != '{') {
        if (bytes.size() < 8) throw Error(path + ": truncated: " + std::to_string(bytes.size()) + " bytes, not a Coalesce checkpoint");
        throw Error(path + ": not a Coalesce checkpoint (the file is " + describeFileContent(bytes) + ")");
    }
    SafetensorsFile f = parseSafetensors(std::move(bytes), path);

    auto format = f.metadata.find("format");
    if (format == f.metadata.end() || format->second != kFormat)
        throw Error(path + ": not a Coalesce checkpoint (a safetensors file without Coalesce metadata; "
                           "it can be loaded as a generator with an architecture)");
    auto version = f.metadata.find("version");
    if (version == f.metadata.end()) throw Error(path + ": malformed Coalesce checkpoint: no version");
    if (version->second != std::to_string(kVersion))
        throw Error(path + ": checkpoint format version " + version->second + " is not supported by this Coalesce (reads version " +
                    std::to_string(kVersion) + "; a newer Coalesce wrote it?)");
    auto crc = f.metadata.find("data_crc32");
    if (crc == f.metadata.end()) throw Error(path + ": malformed Coalesce checkpoint: no data_crc32");
    const std::string actual = crc32Hex(f.data(), f.dataSize());
    std::string expected = crc->second;
    for (auto& c : expected) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (actual != expected)
        throw Error(path + ": checksum mismatch (data CRC-32 " + actual + ", header says " + crc->second +
                    "): the file is corrupt");

    Checkpoint checkpoint;
    try {
        checkpoint.arch = ArchSpec::fromJson(parseMetadataJson(f, "arch"));
    } catch (const Error& e) {
        const std::string what = e.what();
        throw Error(what.compare(0, path.size(), path) == 0 ? what : path + ": " + what);
    }
    checkpoint.meta = f.metadata.count("meta") ? parseMetadataJson(f, "meta") : nlohmann::json::object();
    if (!checkpoint.meta.is_object()) throw Error(path + ": malformed Coalesce checkpoint: 'meta' is not a JSON object");
    for (const auto& e : f.entries) checkpoint.tensors[e.name] = f.tensor(e);
    const std::string nonFinite = firstNonFiniteTensor(checkpoint.tensors);
    if (!nonFinite.empty()) throw Error(path + ": tensor " + nonFinite + ": the weights are not usable");
    return checkpoint;
}

void storeModule(Checkpoint& checkpoint, const std::string& prefix, const torch::nn::Module& module) {
    // Remove what an earlier store under this prefix left, so the file holds exactly this module.
    for (auto it = checkpoint.tensors.begin(); it != checkpoint.tensors.end();)
        it = it->first.compare(0, prefix.size() + 1, prefix + ".") == 0 ? checkpoint.tensors.erase(it) : std::next(it);
    for (auto& [name, tensor] : moduleTensors(module)) checkpoint.tensors[prefix + "." + name] = tensor;
}

bool hasModule(const Checkpoint& checkpoint, const std::string& prefix) {
    auto it = checkpoint.tensors.lower_bound(prefix + ".");
    return it != checkpoint.tensors.end() && it->first.compare(0, prefix.size() + 1, prefix + ".") == 0;
}

void restoreModule(const Checkpoint& checkpoint, const std::string& prefix, torch::nn::Module& module,
                   const std::string& fileForMessages) {
    if (!hasModule(checkpoint, prefix))
        throw Error(fileForMessages + ": the checkpoint holds no '" + prefix + "' weights");
    TensorMap tensors;
    for (auto it = checkpoint.tensors.lower_bound(prefix + ".");
         it != checkpoint.tensors.end() && it->first.compare(0, prefix.size() + 1, prefix + ".") == 0; ++it)
        tensors[it->first.substr(prefix.size() + 1)] = it->second;
    std::string hint;
    if (const ArchSpec* expected = moduleArch(module); expected && *expected != checkpoint.arch)
        hint = "file is " + archLabel(checkpoint.arch) + ", not " + archLabel(*expected) + "?";
    loadTensorsIntoModule(tensors, module, fileForMessages, prefix + ".", hint);
}

}  // namespace coalesce
