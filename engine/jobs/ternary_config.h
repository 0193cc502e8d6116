// The "ternarize" options shared by the ternarize job and the training jobs that ternarise during
// training (adapt, barycenter: METHOD.md stage 3's "during stage 2" mode):
//   {"method": "learned" | "twn" | "ttq", "keep_first_last_float": false, "keep_last_float": false,
//    "threshold_fraction": 0.05,
//    "threshold_init": "max_fraction" | "twn", "delta_grad_clamp": 1e-3, "alternating": true}
#pragma once
#include <memory>
#include <set>
#include <string>

#include "quant/ternary_layers.h"
#include "train/generator_transform.h"
#include "train/training_config.h"

namespace coalesce {

struct TernaryTrainingOptions {
    TernaryOptions ternary;
    // learned: Δ and the weights take alternating Adam steps (the paper); false = one Adam for both.
    bool alternating = true;
};

// Reads the keys above from `reader` (Error naming the field); `ternaryOptionKeys` lists them.
TernaryTrainingOptions readTernaryOptions(const ConfigReader& reader);
std::set<std::string> ternaryOptionKeys();
nlohmann::json toJson(const TernaryTrainingOptions& options);

// Ternarises G before training; generator.coalesce becomes the materialised ternary generator and
// generator.ctern (+ .report.json) the packed 2-bit file.
std::shared_ptr<const GeneratorTransform> makeTernaryTransform(const TernaryTrainingOptions& options);
// The transform for a job's optional "ternarize": {options} object (null when the key is absent).
std::shared_ptr<const GeneratorTransform> readTernarizeSection(const ConfigReader& job);

}  // namespace coalesce
