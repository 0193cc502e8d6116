#include "train/memory_check.h"

#include <cstdio>
#include <fstream>
#include <string>

#include <torch/torch.h>

#include "core/atomic_file.h"
#include "core/error.h"

namespace coalesce {

namespace {

// Elements of every layer's output for one input sample.
std::int64_t activationElements(torch::nn::Sequential& net, torch::Tensor x) {
    std::int64_t total = 0;
    for (auto& layer : *net) {
        x = layer.forward(x);
        total += x.numel();
    }
    return total;
}

}  // namespace

double MemoryEstimate::bytesPerSample() const {
    return 4.0 * (2.0 * static_cast<double>(generatorActivations) + 6.0 * static_cast<double>(criticActivations));
}

MemoryEstimate estimateTrainingMemory(Generator generator, Critic critic) {
    torch::NoGradGuard noGrad;
    const bool generatorWasTraining = generator->is_training(), criticWasTraining = critic->is_training();
    // Eval mode: a batch of one through BatchNorm1d is an error in training mode, and no running
    // statistic may change.
    generator->eval();
    critic->eval();
    MemoryEstimate e;
    const ArchSpec& spec = generator->spec();
    torch::Tensor z = torch::zeros({1, spec.latentDim}, torch::TensorOptions().device(generator->device()));
    if (spec.isImage()) z = z.view({1, spec.latentDim, 1, 1});
    e.generatorActivations = activationElements(generator->net, z);
    const auto shape = spec.sampleShape();
    std::vector<std::int64_t> one{1};
    one.insert(one.end(), shape.begin(), shape.end());
    e.criticActivations = activationElements(critic->net, torch::zeros(one, z.options()));
    generator->train(generatorWasTraining);
    critic->train(criticWasTraining);
    return e;
}

double availableMemoryBytes() {
    std::ifstream in("/proc/meminfo");
    std::string key, unit;
    double value = 0;
    while (in >> key >> value >> unit)
        if (key == "MemAvailable:") return value * 1024.0;
    return 0;
}

void requireBatchFitsInMemory(Generator generator, Critic critic, std::int64_t batch,
                              const torch::Device& device) {
    if (!device.is_cpu()) return;
    const double available = availableMemoryBytes();
    if (available <= 0) return;
    const double perSample = estimateTrainingMemory(generator, critic).bytesPerSample();
    const double needed = perSample * static_cast<double>(batch);
    if (needed <= available) return;
    const auto fits = static_cast<long long>(available / perSample);
    throw Error("batch_size " + std::to_string(batch) + " needs at least " + humanBytes(needed) +
                " of memory for one training step (" + humanBytes(perSample) + " per sample), this machine has " +
                humanBytes(available) + " available: use a batch of at most " + std::to_string(fits));
}

}  // namespace coalesce
