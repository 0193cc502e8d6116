// Generator and critic networks built from an ArchSpec (pytorch/examples' XImpl + TORCH_MODULE idiom).
// Layers live in a Sequential named "net" so parameter names match the Python definition in
// tests/python/coalesce_nets.py ("net.0.weight", "net.1.running_mean", ...): state_dicts move both ways.
#pragma once
#include <torch/torch.h>

#include "models/arch_spec.h"

namespace coalesce {

struct GeneratorImpl : torch::nn::Module {
    explicit GeneratorImpl(const ArchSpec& spec);
    // z: B×latentDim → B×C×S×S in [-1, 1] (dcgan32: S = 32, dcgan64: S = 64; tanh) or B×dataDim (mlp2d, linear).
    torch::Tensor forward(const torch::Tensor& z);
    // Draws B latent vectors z ~ N(0, I) on the module's device (optionally from a seeded generator).
    torch::Tensor sampleLatent(int64_t batch, c10::optional<at::Generator> gen = c10::nullopt) const;
    torch::Device device() const;
    const ArchSpec& spec() const { return spec_; }

    ArchSpec spec_;
    torch::nn::Sequential net{nullptr};
};
TORCH_MODULE(Generator);

struct CriticImpl : torch::nn::Module {
    explicit CriticImpl(const ArchSpec& spec);
    // x: B×C×S×S or B×dataDim → B scores (no sigmoid; WGAN critic).
    torch::Tensor forward(const torch::Tensor& x);
    const ArchSpec& spec() const { return spec_; }

    ArchSpec spec_;
    torch::nn::Sequential net{nullptr};
};
TORCH_MODULE(Critic);

int64_t parameterCount(const torch::nn::Module& module);
// Copies parameters and buffers from `from` into `to` (same architecture), without autograd.
void copyWeights(const torch::nn::Module& from, torch::nn::Module& to);
// Deep copy of a generator (same device).
Generator cloneGenerator(const Generator& g);

}  // namespace coalesce
