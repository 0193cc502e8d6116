// Adam state in a Coalesce checkpoint under readable names (io/checkpoint.h conventions):
//   "<prefix>.<parameter name>.exp_avg", ".exp_avg_sq", ".step" (int64, 1 element)
// e.g. "optim.generator.net.0.weight.exp_avg". Parameters Adam has not stepped yet have no entries.
// Restoring into a fresh Adam over the same module makes the next step() identical to an
// uninterrupted run (LibTorch keys its per-parameter state by tensor identity, so it cannot be copied
// between optimizer instances by name without this).
#pragma once
#include <string>

#include <torch/nn/module.h>
#include <torch/optim/adam.h>

#include "io/checkpoint.h"

namespace coalesce {

void storeAdamState(Checkpoint& checkpoint, const std::string& prefix, const torch::optim::Adam& optimizer,
                    const torch::nn::Module& module);
// Throws coalesce::Error naming `fileForMessages` if an entry has the wrong shape.
void restoreAdamState(const Checkpoint& checkpoint, const std::string& prefix, torch::optim::Adam& optimizer,
                      const torch::nn::Module& module, const std::string& fileForMessages);

}  // namespace coalesce
