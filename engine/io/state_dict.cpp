#include "io/state_dict.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <torch/torch.h>

#include "core/error.h"

namespace coalesce {

std::string shapeText(c10::IntArrayRef sizes) {
    std::string s = "[";
    for (size_t i = 0; i < sizes.size(); ++i) s += (i ? "," : "") + std::to_string(sizes[i]);
    return s + "]";
}

std::string firstNonFiniteTensor(const TensorMap& tensors) {
    for (const auto& [name, t] : tensors) {
        if (!t.defined() || !t.is_floating_point()) continue;
        const int64_t bad = (~torch::isfinite(t)).sum().item<int64_t>();
        if (bad > 0) return name + " (" + std::to_string(bad) + " of " + std::to_string(t.numel()) + " values are NaN/Inf)";
    }
    return {};
}

void loadTensorsIntoModule(const TensorMap& tensors, torch::nn::Module& module, const std::string& file,
                           const std::string& prefix, const std::string& hint, bool zeroMissingLayerBiases) {
    std::vector<std::pair<std::string, torch::Tensor>> targets;
    for (auto& p : module.named_parameters(true)) targets.emplace_back(p.key(), p.value());
    for (auto& b : module.named_buffers(true)) targets.emplace_back(b.key(), b.value());

    std::vector<std::string> problems;
    std::set<std::string> used, zeroed;
    for (const auto& [name, target] : targets) {
        auto it = tensors.find(name);
        if (it == tensors.end()) {
            // PyTorch < 0.4.1 did not save BatchNorm's counter; it only matters for momentum=None.
            if (name.size() >= 19 && name.compare(name.size() - 19, 19, "num_batches_tracked") == 0) continue;
            if (zeroMissingLayerBiases && name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) {
                auto weight = tensors.find(name.substr(0, name.size() - 4) + "weight");
                if (weight != tensors.end() && weight->second.defined() && weight->second.dim() >= 2) {
                    zeroed.insert(name);
                    continue;
                }
            }
            problems.push_back(prefix + name + ": missing from the file");
            continue;
        }
        used.insert(name);
        const torch::Tensor& source = it->second;
        if (!source.defined()) {
            problems.push_back(prefix + name + ": undefined tensor in the file");
        } else if (source.sizes() != target.sizes()) {
            problems.push_back(prefix + name + ": shape " + shapeText(source.sizes()) + " in file, " +
                               shapeText(target.sizes()) + " expected");
        } else if (source.is_floating_point() != target.is_floating_point() || source.is_complex()) {
            problems.push_back(prefix + name + ": " + std::string(c10::toString(source.scalar_type())) + " in file, " +
                               c10::toString(target.scalar_type()) + " expected");
        }
    }
    for (const auto& [name, tensor] : tensors)
        if (!used.count(name)) problems.push_back(prefix + name + ": in the file but not part of this network");

    if (!problems.empty()) {
        std::string message = file + ": " + std::to_string(problems.size()) +
                               (problems.size() == 1 ? " tensor does" : " tensors do") + " not fit the network: ";
        const size_t shown = std::min<size_t>(problems.size(), 4);
        for (size_t i = 0; i < shown; ++i) message += (i ? "; " : "") + problems[i];
        if (problems.size() > shown) message += "; and " + std::to_string(problems.size() - shown) + " more";
        if (!hint.empty()) message += " — " + hint;
        throw Error(message);
    }
    TensorMap usedTensors;
    for (const auto& name : used) usedTensors[name] = tensors.at(name);
    const std::string nonFinite = firstNonFiniteTensor(usedTensors);
    if (!nonFinite.empty()) throw Error(file + ": tensor " + prefix + nonFinite + ": the weights are not usable");
    torch::NoGradGuard noGrad;
    for (auto& [name, target] : targets) {
        auto it = tensors.find(name);
        if (it != tensors.end()) target.copy_(it->second);
        else if (zeroed.count(name)) target.zero_();
    }
}

TensorMap moduleTensors(const torch::nn::Module& module) {
    TensorMap out;
    for (const auto& p : module.named_parameters(true)) out[p.key()] = p.value().detach().to(torch::kCPU).clone();
    for (const auto& b : module.named_buffers(true)) out[b.key()] = b.value().detach().to(torch::kCPU).clone();
    return out;
}

namespace {

bool startsWith(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

std::string firstSegment(const std::string& name) { return name.substr(0, name.find('.')); }

bool isNumber(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

TensorMap normalizeGeneratorNames(const TensorMap& tensors) {
    TensorMap current;
    for (const auto& [name, t] : tensors) {
        std::string n = name;
        // Wrappers that insert a segment anywhere: DataParallel/DDP ("module.") and torch.compile.
        for (const std::string wrapper : {"module.", "_orig_mod."}) {
            for (size_t pos; (pos = n.find(wrapper)) != std::string::npos &&
                             (pos == 0 || n[pos - 1] == '.');)
                n.erase(pos, wrapper.size());
        }
        current[n] = t;
    }
    // A flat file holding a whole GAN: keep the generator's part.
    TensorMap generatorOnly;
    for (const auto& [name, t] : current)
        if (startsWith(name, "generator.")) generatorOnly[name] = t;
    if (!generatorOnly.empty()) current = generatorOnly;
    // Strip a first segment shared by every key ("generator.", "netG.", "G.", "model.") as long as
    // what remains still looks like a network ("net..." or a Sequential index).
    for (int round = 0; round < 3 && !current.empty(); ++round) {
        const std::string first = firstSegment(current.begin()->first);
        if (first == "net" || isNumber(first)) break;
        bool shared = true;
        for (const auto& [name, t] : current)
            if (!startsWith(name, first + ".")) shared = false;
        if (!shared) break;
        TensorMap stripped;
        for (const auto& [name, t] : current) stripped[name.substr(first.size() + 1)] = t;
        current = std::move(stripped);
    }
    TensorMap out;
    for (const auto& [name, t] : current) out[isNumber(firstSegment(name)) ? "net." + name : name] = t;
    return out;
}

std::optional<ArchSpec> inferGeneratorArch(const TensorMap& tensors, std::string* why) {
    auto reject = [&](const std::string& reason) -> std::optional<ArchSpec> {
        if (why) *why = reason;
        return std::nullopt;
    };
    // net.<index>.weight in layer order.
    std::map<int, torch::Tensor> weights;
    for (const auto& [name, t] : tensors) {
        if (!startsWith(name, "net.") || name.size() < 12 || name.compare(name.size() - 7, 7, ".weight") != 0) continue;
        const std::string index = name.substr(4, name.size() - 11);
        if (!isNumber(index) || index.size() > 4) continue;
        weights[std::stoi(index)] = t;
    }
    if (weights.empty()) return reject("no 'net.<i>.weight' tensors");
    std::vector<torch::Tensor> matrices, kernels;
    for (const auto& [index, w] : weights) {
        if (w.dim() == 2) matrices.push_back(w);
        else if (w.dim() == 4) kernels.push_back(w);
    }
    ArchSpec spec;
    if (!kernels.empty()) {
        // dcgan32 has 4 transposed convolutions (3 widths + the image layer), dcgan64 has 5.
        if (kernels.size() != 4 && kernels.size() != 5)
            return reject("dcgan32 generators have 4 transposed convolutions and dcgan64 generators 5, the file has " +
                          std::to_string(kernels.size()));
        for (size_t i = 0; i < kernels.size(); ++i) {
            if (kernels[i].size(2) != 4 || kernels[i].size(3) != 4)
                return reject("dcgan generators use 4×4 kernels, the file has " + shapeText(kernels[i].sizes()));
            if (i > 0 && kernels[i].size(0) != kernels[i - 1].size(1))
                return reject("convolution " + std::to_string(i) + " takes " + std::to_string(kernels[i].size(0)) +
                              " channels but the previous one makes " + std::to_string(kernels[i - 1].size(1)));
        }
        const std::string family = kernels.size() == 4 ? "dcgan32" : "dcgan64";
        spec = ArchSpec::preset(family, "small", 1);
        spec.latentDim = static_cast<int>(kernels[0].size(0));
        spec.generatorWidths.clear();
        for (size_t i = 0; i + 1 < kernels.size(); ++i) spec.generatorWidths.push_back(static_cast<int>(kernels[i].size(1)));
        spec.channels = static_cast<int>(kernels.back().size(1));
        // A generator file says nothing of its critic: take the critic of the preset with this generator.
        for (const auto& name : ArchSpec::presetNames(family)) {
            const auto preset = ArchSpec::preset(family, name, 1);
            if (preset.generatorWidths == spec.generatorWidths) {
                spec.criticWidths = preset.criticWidths;
                break;
            }
        }
    } else {
        if (matrices.size() < 2) return reject("an mlp2d generator needs at least two Linear layers");
        for (size_t i = 1; i < matrices.size(); ++i)
            if (matrices[i].size(1) != matrices[i - 1].size(0))
                return reject("Linear layer " + std::to_string(i) + " takes " + std::to_string(matrices[i].size(1)) +
                              " inputs but the previous one makes " + std::to_string(matrices[i - 1].size(0)));
        spec = ArchSpec::preset("mlp2d");
        spec.latentDim = static_cast<int>(matrices.front().size(1));
        spec.dataDim = static_cast<int>(matrices.back().size(0));
        spec.generatorWidths.clear();
        for (size_t i = 0; i + 1 < matrices.size(); ++i) spec.generatorWidths.push_back(static_cast<int>(matrices[i].size(0)));
    }
    try {
        return ArchSpec::fromJson(spec.toJson());
    } catch (const Error& e) {
        return reject(e.what());
    }
}

double generatorElementCount(const ArchSpec& spec, bool includeBuffers) {
    double total = 0, in = spec.latentDim;
    if (spec.isImage()) {
        for (int w : spec.generatorWidths) {
            total += in * w * 16 + w + 2.0 * w + (includeBuffers ? 2.0 * w + 1 : 0.0);  // ConvT, BN affine, BN stats
            in = w;
        }
        return total + in * spec.channels * 16 + spec.channels;
    }
    for (int w : spec.generatorWidths) {
        total += in * w + w;
        in = w;
    }
    return total + in * spec.dataDim + spec.dataDim;
}

void requireArchFitsFile(const ArchSpec& spec, double valuesInFile, const std::string& file) {
    const double needed = generatorElementCount(spec, true);
    // Anything up to ~200 MB is built anyway so that mismatches get the detailed per-tensor message.
    if (needed > 4 * valuesInFile + 5e7)
        throw Error(file + ": the architecture it names (" + archLabel(spec, true) + ") needs " +
                    std::to_string(static_cast<long long>(needed)) + " values but the file holds only " +
                    std::to_string(static_cast<long long>(valuesInFile)) + " (damaged file?)");
}

bool sameGenerator(const ArchSpec& a, const ArchSpec& b) {
    if (a.family != b.family || a.latentDim != b.latentDim || a.generatorWidths != b.generatorWidths) return false;
    return a.isImage() ? a.channels == b.channels && a.imageSize == b.imageSize : a.dataDim == b.dataDim;
}

std::string archLabel(const ArchSpec& spec, bool generatorOnly) {
    for (const auto& name : ArchSpec::presetNames(spec.family)) {
        ArchSpec preset;
        try {
            preset = ArchSpec::preset(spec.family, name, spec.isImage() ? spec.channels : 1);
        } catch (const Error&) {
            break;
        }
        if (generatorOnly ? sameGenerator(preset, spec) : preset == spec) {
            return spec.family + " " + name + (spec.channels == 3 ? " (3 channels)" : "");
        }
    }
    if (!generatorOnly) return spec.describe();
    std::string widths;
    for (size_t i = 0; i < spec.generatorWidths.size(); ++i)
        widths += (i ? "-" : "") + std::to_string(spec.generatorWidths[i]);
    if (spec.isImage())
        return spec.family + " " + std::to_string(spec.channels) + "×" + std::to_string(spec.imageSize) + "×" +
               std::to_string(spec.imageSize) + ", z=" + std::to_string(spec.latentDim) + ", G " + widths;
    return spec.family + " R^" + std::to_string(spec.dataDim) + ", z=" + std::to_string(spec.latentDim) + ", G " + widths;
}

}  // namespace coalesce
