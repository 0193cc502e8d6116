#include "io/model_files.h"

#include <atomic>
#include <filesystem>
#include <set>

#include <torch/torch.h>

#include "core/atomic_file.h"
#include "core/checksum.h"
#include "core/error.h"
#include "core/json_text.h"
#include "io/checkpoint.h"
#include "io/file_sniffing.h"
#include "io/safetensors.h"
#include "io/state_dict.h"
#include "io/torch_pickle.h"
#include "io/torchscript.h"
#include "io/zip_archive.h"

namespace coalesce {

namespace fs = std::filesystem;

namespace {

constexpr const char* kGeneratorExportFormat = "coalesce-generator";

// A file read once and parsed as far as its format allows without building tensors.
struct OpenedModelFile {
    ModelFileFormat format = ModelFileFormat::CoalesceCheckpoint;
    std::optional<SafetensorsFile> safetensors;
    std::optional<ZipArchive> zip;
    std::string legacyBytes;
};

[[noreturn]] void notAModelFile(const std::string& path, const std::string& bytes, const std::string& detail = "") {
    throw Error(path + ": not a model file Coalesce can read (it is " + describeFileContent(bytes) + detail +
                "); supported: .coalesce checkpoints, packed ternary .ctern files, safetensors, TorchScript (torch.jit.save) "
                "and torch.save state_dicts");
}

constexpr char kPackedTernaryMagic[] = "COALTERN";  // quant/packed_generator.h

std::atomic<PackedTernaryReader>& packedTernaryReader() {
    static std::atomic<PackedTernaryReader> reader{nullptr};
    return reader;
}

LoadedGenerator loadPackedTernary(const std::string& path) {
    const PackedTernaryReader reader = packedTernaryReader().load();
    if (!reader)
        throw Error(path + ": a packed ternary generator (.ctern); this program was built without its reader "
                           "(quant/packed_generator.h: registerPackedTernaryReader)");
    return reader(path);
}

OpenedModelFile openModelFile(const std::string& path) {
    std::string bytes = readFileBytes(path);
    OpenedModelFile f;
    if (bytes.compare(0, 8, kPackedTernaryMagic) == 0) {  // the reader re-reads and checks the whole file
        f.format = ModelFileFormat::PackedTernary;
        return f;
    }
    // safetensors: little-endian header length, then '{'. A damaged header is reported precisely.
    if (bytes.size() >= 9 && bytes[8] == '{') {
        f.safetensors = parseSafetensors(std::move(bytes), path);
        auto format = f.safetensors->metadata.find("format");
        f.format = format != f.safetensors->metadata.end() && format->second == "coalesce-checkpoint"
                       ? ModelFileFormat::CoalesceCheckpoint
                       : ModelFileFormat::Safetensors;
        return f;
    }
    if (ZipArchive::looksLikeZip(bytes)) {
        f.zip.emplace(std::move(bytes), path);
        const std::string root = f.zip->rootFolder().empty() ? "" : f.zip->rootFolder() + "/";
        bool code = false;
        for (const auto& e : f.zip->entries())
            if (e.name.compare(0, root.size() + 5, root + "code/") == 0) code = true;
        if (code || f.zip->find(root + "constants.pkl")) f.format = ModelFileFormat::TorchScript;
        else if (f.zip->find(root + "data.pkl")) f.format = ModelFileFormat::TorchSave;
        else notAModelFile(path, f.zip->bytes(), " without PyTorch's data.pkl or code/");
        return f;
    }
    if (looksLikeLegacyTorchSave(bytes)) {
        f.format = ModelFileFormat::TorchSaveLegacy;
        f.legacyBytes = std::move(bytes);
        return f;
    }
    notAModelFile(path, bytes);
}

std::string dtypeName(torch::ScalarType type) {
    switch (type) {
        case torch::kFloat32: return "float32";
        case torch::kFloat64: return "float64";
        case torch::kFloat16: return "float16";
        case torch::kBFloat16: return "bfloat16";
        case torch::kInt64: return "int64";
        case torch::kInt32: return "int32";
        case torch::kInt16: return "int16";
        case torch::kInt8: return "int8";
        case torch::kUInt8: return "uint8";
        case torch::kBool: return "bool";
        default: return c10::toString(type);
    }
}

ArchSpec archFromJsonText(const std::string& text, const std::string& where) {
    try {
        nlohmann::json j = parseJson(text);
        if (j.is_object() && j.contains("arch")) j = j["arch"];
        return ArchSpec::fromJson(j);
    } catch (const nlohmann::json::exception& e) {
        throw Error(where + ": architecture is not valid JSON (" + e.what() + ")");
    } catch (const Error& e) {
        throw Error(where + ": " + e.what());
    }
}

std::string sidecarPath(const std::string& path) {
    fs::path p(path);
    return (p.has_extension() ? p.replace_extension(".json") : fs::path(path + ".json")).string();
}

// ---- torch.save contents ------------------------------------------------------------------------

void collectModuleTensors(const PickleValue* module, const std::string& prefix, TensorMap& out, int depth,
                          std::set<const PickleValue*>& visited) {
    if (!module || module->kind != PickleValue::Kind::Object || !module->state || depth > 32 ||
        !visited.insert(module).second)
        return;
    for (const char* group : {"_parameters", "_buffers"})
        if (const PickleValue* d = module->state->get(group))
            for (const auto& [k, v] : d->dict)
                if (k->kind == PickleValue::Kind::String && v->kind == PickleValue::Kind::Tensor) out[prefix + k->text] = v->tensor;
    if (const PickleValue* children = module->state->get("_modules"))
        for (const auto& [k, v] : children->dict)
            if (k->kind == PickleValue::Kind::String) collectModuleTensors(v, prefix + k->text + ".", out, depth + 1, visited);
}

TensorMap tensorsOfDict(const PickleValue* dict) {
    TensorMap out;
    for (const auto& [k, v] : dict->dict)
        if (k->kind == PickleValue::Kind::String && v->kind == PickleValue::Kind::Tensor) out[k->text] = v->tensor;
    return out;
}

// Finds generator weights in what torch.save stored: a state_dict, a dict holding one under a usual
// name (a training checkpoint), or a whole pickled nn.Module.
TensorMap generatorTensorsFromPickle(const PickledFile& pickled, const std::string& path) {
    const PickleValue* root = pickled.root;
    auto fromValue = [](const PickleValue* v) -> TensorMap {
        if (v->kind == PickleValue::Kind::Dict) return tensorsOfDict(v);
        TensorMap out;
        std::set<const PickleValue*> visited;
        collectModuleTensors(v, "", out, 0, visited);
        return out;
    };
    if (root->kind == PickleValue::Kind::Dict) {
        TensorMap direct = tensorsOfDict(root);
        if (!direct.empty()) return direct;
        // Usual names in training scripts; "modelG" is the paper's reference implementation (v1 pickles the
        // whole nn.Module there, v2 its state_dict).
        for (const char* key : {"generator", "generator_state_dict", "modelG", "model_G", "netG", "net_G", "G",
                                "G_state_dict", "gen", "g_ema", "G_ema", "state_dict", "model_state_dict", "model"})
            if (const PickleValue* v = root->get(key)) {
                TensorMap found = fromValue(v);
                if (!found.empty()) return found;
            }
        std::string keys;
        int shown = 0;
        for (const auto& [k, v] : root->dict) {
            if (k->kind != PickleValue::Kind::String) continue;
            if (shown++ == 8) {
                keys += ", ...";
                break;
            }
            keys += (keys.empty() ? "" : ", ") + k->text;
        }
        throw Error(path + ": no generator weights found in this torch.save file: a dict with keys " +
                    (keys.empty() ? "(none)" : keys) +
                    "; expected a state_dict or a dict holding one under 'generator', 'modelG', 'netG', 'G' or 'state_dict'");
    }
    TensorMap module = fromValue(root);
    if (!module.empty()) return module;
    throw Error(path + ": no generator weights found in this torch.save file: it holds a " + describePickleValue(root) +
                ", not a state_dict");
}

// ---- everything but native checkpoints ----------------------------------------------------------

struct ForeignWeights {
    TensorMap raw;  // as named in the file
    std::optional<ArchSpec> arch;
    std::string archSource;  // "file" / "sidecar" when the file says what it is
    nlohmann::json meta = nlohmann::json::object();
};

ForeignWeights readForeignWeights(OpenedModelFile& f, const std::string& path) {
    ForeignWeights w;
    switch (f.format) {
        case ModelFileFormat::Safetensors: {
            const SafetensorsFile& st = *f.safetensors;
            if (auto crc = st.metadata.find("data_crc32"); crc != st.metadata.end() && crc->second != crc32Hex(st.data(), st.dataSize()))
                throw Error(path + ": checksum mismatch (data CRC-32 " + crc32Hex(st.data(), st.dataSize()) + ", header says " +
                            crc->second + "): the file is corrupt");
            for (const auto& e : st.entries) w.raw[e.name] = st.tensor(e);
            if (auto arch = st.metadata.find("arch"); arch != st.metadata.end()) {
                w.arch = archFromJsonText(arch->second, path + " (metadata 'arch')");
                w.archSource = "file";
            } else if (const std::string sidecar = sidecarPath(path); sidecar != path && fs::exists(sidecar)) {
                w.arch = archFromJsonText(readFileBytes(sidecar), sidecar);
                w.archSource = "sidecar";
            }
            if (auto meta = st.metadata.find("meta"); meta != st.metadata.end()) {
                try {
                    w.meta = parseJson(meta->second);
                } catch (const nlohmann::json::exception&) {
                    w.meta = {{"meta", meta->second}};
                }
            }
            break;
        }
        case ModelFileFormat::TorchScript: {
            TorchScriptWeights ts = readTorchScriptWeights(*f.zip);
            w.raw = std::move(ts.tensors);
            if (!ts.coalesceJson.empty()) {
                w.arch = archFromJsonText(ts.coalesceJson, path + " (extra/coalesce.json)");
                w.archSource = "file";
                try {
                    w.meta = parseJson(ts.coalesceJson).value("meta", nlohmann::json::object());
                } catch (const nlohmann::json::exception&) {
                }
            }
            break;
        }
        case ModelFileFormat::TorchSave: w.raw = generatorTensorsFromPickle(readTorchSaveZip(*f.zip), path); break;
        case ModelFileFormat::TorchSaveLegacy:
            w.raw = generatorTensorsFromPickle(readTorchSaveLegacy(f.legacyBytes, path), path);
            break;
        case ModelFileFormat::CoalesceCheckpoint:
        case ModelFileFormat::PackedTernary: throw Error(path + ": internal: native file read as foreign");
    }
    return w;
}

// Decides the architecture (hint > file > inferred) and loads the weights strictly.
LoadedGenerator generatorFromForeign(const ForeignWeights& w, ModelFileFormat format, const std::string& path,
                                     const std::optional<ArchSpec>& hint) {
    const TensorMap tensors = normalizeGeneratorNames(w.raw);
    std::string why;
    const std::optional<ArchSpec> inferred = inferGeneratorArch(tensors, &why);
    LoadedGenerator out;
    out.format = format;
    out.meta = w.meta;
    ArchSpec arch;
    if (hint) {
        if (w.arch && !sameGenerator(*w.arch, *hint))
            throw Error(path + ": holds a " + archLabel(*w.arch, true) + " generator, not the expected " + archLabel(*hint, true));
        arch = *hint;
        out.archSource = "hint";
    } else if (w.arch) {
        arch = *w.arch;
        out.archSource = w.archSource;
    } else if (inferred) {
        arch = *inferred;
        out.archSource = "inferred";
    } else {
        throw Error(path + ": cannot tell the generator architecture from the tensors (" + why +
                    "); give the architecture explicitly");
    }
    double values = 0;
    for (const auto& [name, t] : tensors) values += static_cast<double>(t.numel());
    requireArchFitsFile(arch, values, path);
    Generator g(arch);
    std::string mismatchHint;
    if (inferred && !sameGenerator(*inferred, arch))
        mismatchHint = "file looks like " + archLabel(*inferred, true) + ", not " + archLabel(arch, true) + "?";
    loadTensorsIntoModule(tensors, *g, path, "", mismatchHint, /*zeroMissingLayerBiases=*/true);
    g->eval();
    out.generator = g;
    return out;
}

template <typename F>
auto translatingTorchErrors(const std::string& path, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const Error&) {
        throw;
    } catch (const c10::Error& e) {
        std::string what = e.what_without_backtrace();
        throw Error(path + ": " + what.substr(0, what.find('\n')));
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": " + e.what());
    } catch (const std::bad_alloc&) {
        throw Error(path + ": out of memory while reading the file");
    }
}

nlohmann::json tensorListing(const TensorMap& tensors) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [name, t] : tensors)
        list.push_back({{"name", name}, {"dtype", dtypeName(t.scalar_type())}, {"shape", t.sizes().vec()}});
    return list;
}

}  // namespace

std::string modelFileFormatName(ModelFileFormat format) {
    switch (format) {
        case ModelFileFormat::CoalesceCheckpoint: return "coalesce-checkpoint";
        case ModelFileFormat::Safetensors: return "safetensors";
        case ModelFileFormat::TorchScript: return "torchscript";
        case ModelFileFormat::TorchSave: return "torch-save";
        case ModelFileFormat::TorchSaveLegacy: return "torch-save-legacy";
        case ModelFileFormat::PackedTernary: return "coalesce-ternary";
    }
    return "unknown";
}

ModelFileFormat detectModelFileFormat(const std::string& path) {
    return translatingTorchErrors(path, [&] { return openModelFile(path).format; });
}

void setPackedTernaryReader(PackedTernaryReader reader) { packedTernaryReader().store(reader); }

LoadedGenerator loadGeneratorFile(const std::string& path, const std::optional<ArchSpec>& archHint) {
    return translatingTorchErrors(path, [&] {
        OpenedModelFile f = openModelFile(path);
        if (f.format == ModelFileFormat::PackedTernary) {
            LoadedGenerator out = loadPackedTernary(path);
            if (archHint && !sameGenerator(out.generator->spec(), *archHint))
                throw Error(path + ": holds a " + archLabel(out.generator->spec(), true) + " generator, not the expected " +
                            archLabel(*archHint, true));
            return out;
        }
        if (f.format != ModelFileFormat::CoalesceCheckpoint) return generatorFromForeign(readForeignWeights(f, path), f.format, path, archHint);
        f.safetensors.reset();
        Checkpoint checkpoint = loadCheckpoint(path);
        if (archHint && !sameGenerator(checkpoint.arch, *archHint))
            throw Error(path + ": holds a " + archLabel(checkpoint.arch, true) + " generator, not the expected " +
                        archLabel(*archHint, true));
        LoadedGenerator out;
        out.format = ModelFileFormat::CoalesceCheckpoint;
        out.archSource = "file";
        out.meta = checkpoint.meta;
        double values = 0;
        for (const auto& [name, t] : checkpoint.tensors)
            if (name.compare(0, 10, "generator.") == 0) values += static_cast<double>(t.numel());
        requireArchFitsFile(checkpoint.arch, values, path);
        out.generator = Generator(checkpoint.arch);
        restoreModule(checkpoint, "generator", *out.generator, path);
        out.generator->eval();
        return out;
    });
}

nlohmann::json describeModelFile(const std::string& path) {
    return translatingTorchErrors(path, [&] {
        nlohmann::json out;
        out["file"] = path;
        std::error_code ec;
        out["size_bytes"] = fs::file_size(path, ec);
        OpenedModelFile f = openModelFile(path);
        out["format"] = modelFileFormatName(f.format);

        TensorMap tensors;
        std::optional<ArchSpec> arch;
        std::string archSource = "unknown";
        nlohmann::json meta = nlohmann::json::object();
        std::string problem;
        if (f.format == ModelFileFormat::PackedTernary) {
            // Described through the unpacked generator: its float tensors are what inference computes with.
            LoadedGenerator loaded = loadPackedTernary(path);
            arch = loaded.generator->spec();
            archSource = "file";
            meta = loaded.meta;
            for (const auto& p : loaded.generator->named_parameters()) tensors["generator." + p.key()] = p.value();
            for (const auto& b : loaded.generator->named_buffers()) tensors["generator." + b.key()] = b.value();
        } else if (f.format == ModelFileFormat::CoalesceCheckpoint) {
            f.safetensors.reset();
            Checkpoint checkpoint = loadCheckpoint(path);
            tensors = checkpoint.tensors;
            arch = checkpoint.arch;
            archSource = "file";
            meta = checkpoint.meta;
            if (hasModule(checkpoint, "generator")) {
                try {
                    loadGeneratorFile(path);
                } catch (const Error& e) {
                    problem = e.what();
                }
            } else {
                problem = "the checkpoint holds no generator";
            }
        } else {
            ForeignWeights w = readForeignWeights(f, path);
            tensors = w.raw;
            meta = w.meta;
            try {
                LoadedGenerator loaded = generatorFromForeign(w, f.format, path, std::nullopt);
                arch = loaded.generator->spec();
                archSource = loaded.archSource;
            } catch (const Error& e) {
                problem = e.what();
                arch = w.arch;
                if (arch) archSource = w.archSource;
            }
        }
        out["arch"] = arch ? arch->toJson() : nlohmann::json();
        out["arch_description"] = arch ? arch->describe() : "unknown";
        out["arch_source"] = archSource;
        if (archSource == "inferred")
            out["note"] = "architecture inferred from the weights; critic widths are not stored with a generator (the preset's are shown)";
        out["generator_parameters"] =
            arch ? nlohmann::json(static_cast<int64_t>(generatorElementCount(*arch, false))) : nlohmann::json();
        nlohmann::json modules = nlohmann::json::object();
        for (const auto& [name, t] : tensors) {
            const std::string group = name.substr(0, name.find('.'));
            auto& m = modules[group];
            if (m.is_null()) m = {{"tensors", 0}, {"elements", 0}};
            m["tensors"] = m["tensors"].get<int64_t>() + 1;
            m["elements"] = m["elements"].get<int64_t>() + t.numel();
        }
        out["modules"] = modules;
        out["tensors"] = tensorListing(tensors);
        out["meta"] = meta;
        if (!problem.empty()) out["problem"] = problem;
        return out;
    });
}

void exportGeneratorSafetensors(const Generator& generator, const std::string& path, const nlohmann::json& meta) {
    const std::string sidecar = sidecarPath(path);
    if (sidecar == path) throw Error(path + ": the safetensors export needs a name that does not end in .json");
    const nlohmann::json arch = generator->spec().toJson();
    translatingTorchErrors(path, [&] {
        writeSafetensorsFile(path, moduleTensors(*generator),
                             {{"format", kGeneratorExportFormat}, {"version", "1"}, {"arch", arch.dump()}, {"meta", meta.dump()}},
                             "data_crc32");
        nlohmann::json description{{"format", kGeneratorExportFormat},
                                   {"version", 1},
                                   {"weights", fs::path(path).filename().string()},
                                   {"arch", arch},
                                   {"meta", meta}};
        replaceFileAtomically(sidecar, description.dump(2) + "\n");
        return 0;
    });
}

void exportGeneratorTorchScript(const Generator& generator, const std::string& path, const nlohmann::json& meta) {
    const nlohmann::json description{
        {"format", kGeneratorExportFormat}, {"version", 1}, {"arch", generator->spec().toJson()}, {"meta", meta}};
    translatingTorchErrors(path, [&] {
        writeTorchScriptGenerator(*generator, path, description.dump());
        return 0;
    });
}

void exportGeneratorStateDict(const Generator& generator, const std::string& path) {
    translatingTorchErrors(path, [&] {
        c10::Dict<std::string, torch::Tensor> stateDict;
        for (auto& [name, tensor] : moduleTensors(*generator)) stateDict.insert(name, tensor);
        const std::vector<char> bytes = torch::pickle_save(stateDict);
        replaceFileAtomically(path, bytes.data(), bytes.size());
        return 0;
    });
}

}  // namespace coalesce
