#include "models/networks.h"

#include "core/error.h"
#include "models/transposed_conv.h"

namespace coalesce {

namespace nn = torch::nn;

GeneratorImpl::GeneratorImpl(const ArchSpec& spec) : spec_(spec) {
    net = nn::Sequential();
    if (spec.isImage()) {
        // z(100×1×1) → ConvT(s1,p0) 4×4 → ConvT(s2,p1) 8×8 → 16×16 [→ 32×32 (dcgan64)] → ConvT 32×32 (64×64)
        // → tanh: the paper's MNIST/CIFAR G with three widths, its LSUN G with four.
        const auto& w = spec.generatorWidths;
        int in = spec.latentDim;
        for (size_t i = 0; i < w.size(); ++i) {
            const bool first = i == 0;
            net->push_back(nn::ConvTranspose2d(
                nn::ConvTranspose2dOptions(in, w[i], 4).stride(first ? 1 : 2).padding(first ? 0 : 1)));
            net->push_back(nn::BatchNorm2d(w[i]));
            net->push_back(nn::ReLU());
            in = w[i];
        }
        net->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in, spec.channels, 4).stride(2).padding(1)));
        net->push_back(nn::Tanh());
    } else {
        int in = spec.latentDim;
        for (int width : spec.generatorWidths) {
            net->push_back(nn::Linear(in, width));
            net->push_back(nn::ReLU());
            in = width;
        }
        net->push_back(nn::Linear(in, spec.dataDim));
    }
    register_module("net", net);
}

torch::Tensor GeneratorImpl::forward(const torch::Tensor& z) {
    if (z.dim() != 2 || z.size(1) != spec_.latentDim)
        throw Error("generator: expected latent batch B×" + std::to_string(spec_.latentDim) + ", got " +
                    c10::str(z.sizes()));
    if (!spec_.isImage()) return net->forward(z);
    // The Sequential's layers one by one, so the transposed convolutions take the fast Conv2d path
    // (models/transposed_conv.h); parameters and their names stay those of the Sequential.
    torch::Tensor x = z.view({z.size(0), z.size(1), 1, 1});
    for (auto& layer : *net) {
        if (auto up = std::dynamic_pointer_cast<nn::ConvTranspose2dImpl>(layer.ptr()))
            x = transposedConv2d(x, up->weight, up->options.bias() ? up->bias : torch::Tensor(), up->options);
        else
            x = layer.forward(x);
    }
    return x;
}

torch::Device GeneratorImpl::device() const {
    auto params = parameters();
    return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

torch::Tensor GeneratorImpl::sampleLatent(int64_t batch, c10::optional<at::Generator> gen) const {
    auto cpu = torch::randn({batch, spec_.latentDim}, gen, torch::kFloat);
    return cpu.to(device());
}

CriticImpl::CriticImpl(const ArchSpec& spec) : spec_(spec) {
    net = nn::Sequential();
    if (spec.isImage()) {
        // Conv(s2,p1) 16×16 → 8×8 → 4×4 (from 64×64: one stage more) with affine InstanceNorm +
        // LeakyReLU(0.2), then Conv 4×4 valid → 1.
        const auto& w = spec.criticWidths;
        int in = spec.channels;
        for (int width : w) {
            net->push_back(nn::Conv2d(nn::Conv2dOptions(in, width, 4).stride(2).padding(1)));
            net->push_back(nn::InstanceNorm2d(nn::InstanceNorm2dOptions(width).affine(true)));
            net->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
            in = width;
        }
        net->push_back(nn::Conv2d(nn::Conv2dOptions(in, 1, 4).stride(1).padding(0)));
    } else {
        int in = spec.dataDim;
        for (int width : spec.criticWidths) {
            net->push_back(nn::Linear(in, width));
            net->push_back(nn::ReLU());
            in = width;
        }
        net->push_back(nn::Linear(in, 1));
    }
    register_module("net", net);
}

torch::Tensor CriticImpl::forward(const torch::Tensor& x) {
    return net->forward(x).view({x.size(0)});
}

int64_t parameterCount(const torch::nn::Module& module) {
    int64_t n = 0;
    for (const auto& p : module.parameters()) n += p.numel();
    return n;
}

void copyWeights(const torch::nn::Module& from, torch::nn::Module& to) {
    torch::NoGradGuard noGrad;
    auto src = from.named_parameters(true);
    for (auto& dst : to.named_parameters(true)) {
        const auto* s = src.find(dst.key());
        if (!s || s->sizes() != dst.value().sizes())
            throw Error("copyWeights: parameter '" + dst.key() + "' missing or of a different shape");
        dst.value().copy_(*s);
    }
    auto srcBuffers = from.named_buffers(true);
    for (auto& dst : to.named_buffers(true)) {
        const auto* s = srcBuffers.find(dst.key());
        if (!s || s->sizes() != dst.value().sizes())
            throw Error("copyWeights: buffer '" + dst.key() + "' missing or of a different shape");
        dst.value().copy_(*s);
    }
}

Generator cloneGenerator(const Generator& g) {
    Generator copy(g->spec());
    copy->to(g->device());
    copyWeights(*g, *copy);
    copy->train(g->is_training());
    return copy;
}

}  // namespace coalesce
