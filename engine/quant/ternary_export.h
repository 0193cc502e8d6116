// Writing a ternarised generator as a packed .ctern file, checked and measured: shared by the
// "ternarize" job and stage-2 adaptation with ternarisation (jobs/ternary_config.h).
#pragma once
#include <string>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "models/networks.h"

namespace coalesce {

struct PackedExport {
    std::string path;
    int64_t packedBytes = 0;      // the .ctern file on disk
    int64_t floatBytes = 0;       // the same generator as a float Coalesce file (generator only)
    double roundTripMaxAbs = 0;   // max |packed(z) − ternarised(z)| over the check latents
    nlohmann::json sizes;         // packed/float file bytes, whole-file ratio, ternary-weight bytes and ratio
};

// Packs `ternarized` into `path` (atomic), reloads it and checks that the unpacked generator reproduces
// ternarized(z) for `checkLatent` (eval mode, same device as given) within 1e-4, else coalesce::Error.
// `floatReference` is written to a temporary file next to `path` to measure the float size, then removed.
PackedExport exportPackedGenerator(Generator ternarized, const Generator& floatReference, const std::string& path,
                                   const nlohmann::json& meta, const torch::Tensor& checkLatent);

}  // namespace coalesce
