// Refusing a batch that cannot fit, before allocating it: `batch_size 1000000000` (clamped to the
// dataset's 60 000) used to die deep in LibTorch with "[enforce fail at alloc_cpu.cpp:75]" after
// minutes of loading. The estimate counts the activations one sample leaves in G and in a critic
// (a forward of one sample, layer by layer) and scales them by what a WGAN-GP step keeps alive.
#pragma once
#include <cstdint>

#include <torch/types.h>

#include "models/networks.h"

namespace coalesce {

struct MemoryEstimate {
    std::int64_t generatorActivations = 0;  // float elements per sample, all layers of G
    std::int64_t criticActivations = 0;     // float elements per sample, all layers of one critic
    // Bytes a training step needs per sample: G's activations twice (the critic step's fake batch and the
    // generator step), the critic's six times (real, fake and interpolated batches, the gradient
    // penalty's double backward keeping its graph); float32. A lower bound, so that only batches that
    // surely cannot fit are refused.
    double bytesPerSample() const;
};

MemoryEstimate estimateTrainingMemory(Generator generator, Critic critic);
// Memory the system can still give (MemAvailable of /proc/meminfo); 0 when unknown.
double availableMemoryBytes();
// Throws Error naming the batch size, the estimate, what is available and the largest batch that fits
// when batch × bytesPerSample exceeds the available memory. CPU only (GPU memory is the device's).
void requireBatchFitsInMemory(Generator generator, Critic critic, std::int64_t batch,
                              const torch::Device& device);

}  // namespace coalesce
