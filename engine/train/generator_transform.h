// A change of the trained generator's parameterisation that the coalescence stages (train/) apply
// without knowing what it is: stage 2 with ternarisation (METHOD.md stage 3, "ternarize during
// adaptation") plugs in here from jobs/, so train/ does not depend on quant/.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "models/networks.h"

namespace coalesce {

class GeneratorTransform {
public:
    virtual ~GeneratorTransform() = default;
    // One line for logs, e.g. "ternary (learned threshold)".
    virtual std::string describe() const = 0;
    // The generator that is trained, built from the initial float generator (before training or resume).
    virtual Generator prepare(const Generator& initial) const = 0;
    // Parameters of `prepared` that get their own alternating Adam step (MultiCriticTrainer); may be empty.
    virtual std::vector<torch::Tensor> alternatingParameters(const Generator& prepared) const = 0;
    // A plain float generator computing what `trained` computes: written as generator.coalesce, so every
    // consumer of the run (evaluation, experiments, the GUI) sees the transformed model.
    virtual Generator exportable(const Generator& trained) const = 0;
    // Writes further artefacts into the run directory (e.g. the packed 2-bit file); returns their summary.
    virtual nlohmann::json writeArtifacts(const Generator& trained, const std::string& runDirectory) const = 0;
};

}  // namespace coalesce
