// Coalesce's native model file (".coalesce"): one file holding the architecture JSON, the weights
// (generator and, optionally, critics), optimizer state for resume, and free-form metadata.
// Layout = safetensors (8-byte little-endian header length, JSON header, raw little-endian tensor
// bytes) so Python users can read it with a few lines (or the safetensors package); the header's
// "__metadata__" holds {"format": "coalesce-checkpoint", "version": "1", "arch": <json string>,
// "meta": <json string>, "data_crc32": <hex>}. The CRC over the data section is checked before any
// tensor is built, so a corrupt or truncated file is a clear Error, never a crash. Writes are atomic.
#pragma once
#include <map>
#include <string>

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "models/arch_spec.h"

namespace coalesce {

struct Checkpoint {
    ArchSpec arch;
    // Flat tensor map. Conventions: "generator.<param or buffer name>", "critic<k>.<name>",
    // "optim.generator.<name>.exp_avg" / ".exp_avg_sq" / ".step", "optim.critic<k>.<...>".
    std::map<std::string, torch::Tensor> tensors;
    nlohmann::json meta = nlohmann::json::object();  // step, job kind, config, metrics, ...
};

// Atomic: writes <path>.tmp-XXXX, fsyncs, renames over <path>. Tensors are stored contiguous on CPU
// (float32, float64, int64, int32, uint8 supported).
void saveCheckpoint(const std::string& path, const Checkpoint& checkpoint);
// Throws coalesce::Error naming the file and the problem (missing, not a Coalesce file, truncated,
// checksum mismatch, malformed header, unknown dtype, ...).
Checkpoint loadCheckpoint(const std::string& path);

// Prefix helpers: write a module's parameters+buffers under "<prefix>.", and read them back into a
// module of the same architecture, validating that every name exists with the right shape.
void storeModule(Checkpoint& checkpoint, const std::string& prefix, const torch::nn::Module& module);
void restoreModule(const Checkpoint& checkpoint, const std::string& prefix, torch::nn::Module& module,
                   const std::string& fileForMessages);
bool hasModule(const Checkpoint& checkpoint, const std::string& prefix);

}  // namespace coalesce
