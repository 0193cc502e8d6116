// Generators from and to files other programs understand. Formats are recognised by content, never by
// the file name:
//   coalesce-checkpoint  native .coalesce (io/checkpoint.h): architecture + weights + metadata
//   safetensors          any safetensors file of generator weights, e.g. Coalesce's own export
//                        (architecture in its metadata or in a sidecar "<stem>.json", else inferred)
//   torchscript          an archive written by torch.jit.save (Python) or by exportGeneratorTorchScript
//   torch-save           a state_dict (or a dict holding one, or a whole pickled nn.Module) written by
//                        Python's torch.save, ZIP format (PyTorch >= 1.6) or the legacy stream format
//   coalesce-ternary     the packed 2-bit ternary generator (.ctern, quant/packed_generator.h), loaded as the
//                        float generator that computes what the packed one computes. Its reader lives in
//                        quant/ (which depends on io/) and is installed with setPackedTernaryReader.
// Foreign files need no architecture: it is inferred from the tensor shapes (dcgan32 widths, channels
// and latent size from the ConvTranspose2d weights; mlp2d from the Linear weights). A given archHint is
// checked against the file instead. Any problem -- wrong architecture or shapes, a damaged file, a PNG
// -- is a coalesce::Error naming the file; LibTorch errors are translated, never let through.
//
// Python side: tests/python/coalesce_nets.py defines the same networks (same parameter names), reads
// safetensors and .coalesce files; tests/python/interop.py shows both directions.
#pragma once
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "io/model_file_description.h"
#include "models/arch_spec.h"
#include "models/networks.h"

namespace coalesce {

enum class ModelFileFormat { CoalesceCheckpoint, Safetensors, TorchScript, TorchSave, TorchSaveLegacy, PackedTernary };

// Stable identifiers used in JSON and messages: "coalesce-checkpoint", "safetensors", "torchscript",
// "torch-save", "torch-save-legacy", "coalesce-ternary".
std::string modelFileFormatName(ModelFileFormat format);

// Throws Error for files that are none of the supported formats ("... it looks like a PNG image").
ModelFileFormat detectModelFileFormat(const std::string& path);

struct LoadedGenerator {
    Generator generator{nullptr};  // on the CPU, in eval mode
    ModelFileFormat format = ModelFileFormat::CoalesceCheckpoint;
    std::string archSource;        // "file", "sidecar", "hint" or "inferred"
    nlohmann::json meta = nlohmann::json::object();  // a Coalesce file's metadata, else {}
};

LoadedGenerator loadGeneratorFile(const std::string& path, const std::optional<ArchSpec>& archHint = std::nullopt);
// The loader of packed ternary files (quant/packed_generator.cpp installs it: registerPackedTernaryReader).
// Without one, such a file is refused with an error that says so.
using PackedTernaryReader = LoadedGenerator (*)(const std::string& path);
void setPackedTernaryReader(PackedTernaryReader reader);

inline Generator loadGenerator(const std::string& path, const std::optional<ArchSpec>& archHint = std::nullopt) {
    return loadGeneratorFile(path, archHint).generator;
}

// describeModelFile (for `coalesce-cli info` and the GUI) is declared in io/model_file_description.h.

// Exports (all atomic). Tensor names are the Python state_dict names ("net.0.weight").
// (a) safetensors with the architecture in its metadata (key "arch") plus a sidecar JSON
//     "<path without extension>.json" = {"arch": ..., "meta": ..., "format": "coalesce-generator"}.
void exportGeneratorSafetensors(const Generator& generator, const std::string& path,
                                const nlohmann::json& meta = nlohmann::json::object());
// (b) a TorchScript module: in Python, torch.jit.load(path).eval()(z) gives the generator's output; its
//     state_dict() loads into coalesce_nets.Generator. The architecture is in the archive's
//     extra/coalesce.json and in the module attribute coalesce_arch.
void exportGeneratorTorchScript(const Generator& generator, const std::string& path,
                                const nlohmann::json& meta = nlohmann::json::object());
// (c) a plain state_dict for torch.load(path) (a dict of tensors, written with torch::pickle_save).
void exportGeneratorStateDict(const Generator& generator, const std::string& path);

}  // namespace coalesce
