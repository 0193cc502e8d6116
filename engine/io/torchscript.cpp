#include "io/torchscript.h"

#include <filesystem>
#include <sstream>

#if defined(__unix__) || defined(__APPLE__)
#include <stdlib.h>  // mkdtemp
#endif

#include <torch/script.h>
#include <torch/torch.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "io/torch_pickle.h"
#include "io/torchscript_worker.h"
#include "io/zip_archive.h"

namespace coalesce {

namespace fs = std::filesystem;

namespace {

// LibTorch's messages often start with a blank line (TorchScript compile errors do), so the first line
// alone said nothing: take the first line with text on it, cut to a readable length.
std::string reasonLine(const std::string& text) {
    std::size_t start = 0;
    while (start < text.size()) {
        const auto end = text.find('\n', start);
        std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (line.find_first_not_of(" \t\r") != std::string::npos) {
            // "… found 'x' here:" points at source lines that follow; the pointer alone reads oddly.
            if (line.size() > 6 && line.compare(line.size() - 6, 6, " here:") == 0) line.resize(line.size() - 6);
            return line.size() > 300 ? line.substr(0, 300) + "…" : line;
        }
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return "LibTorch gave no reason";
}

using JitModule = torch::jit::Module;

JitModule newModule(const std::string& className, const std::shared_ptr<torch::jit::CompilationUnit>& cu) {
    JitModule m("__torch__.coalesce." + className, cu, /*shouldMangle=*/true);
    // Module.train()/eval() (C++ and Python) set this attribute on every submodule.
    m.register_attribute("training", c10::BoolType::get(), false);
    return m;
}

torch::Tensor copyOf(const torch::Tensor& t) { return t.detach().to(torch::kCPU).clone(); }

// One TorchScript module per layer of the generator's Sequential, mirroring torch.nn's classes.
JitModule layerModule(torch::nn::Module& layer, const std::shared_ptr<torch::jit::CompilationUnit>& cu) {
    if (auto* conv = layer.as<torch::nn::ConvTranspose2d>()) {
        const auto& o = conv->options;
        const auto* paddingArray = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
        if (!paddingArray || o.groups() != 1 || o.dilation()->at(0) != 1 || o.output_padding()->at(0) != 0 ||
            o.stride()->at(0) != o.stride()->at(1) || (*paddingArray)->at(0) != (*paddingArray)->at(1))
            throw Error("TorchScript export: unsupported ConvTranspose2d options");
        const auto stride = o.stride()->at(0), padding = (*paddingArray)->at(0);
        JitModule m = newModule("ConvTranspose2d", cu);
        m.register_parameter("weight", copyOf(conv->weight), false);
        m.register_parameter("bias", copyOf(conv->bias), false);
        m.define("def forward(self, x: Tensor) -> Tensor:\n"
                 "    return torch.conv_transpose2d(x, self.weight, self.bias, [" + std::to_string(stride) + ", " +
                 std::to_string(stride) + "], [" + std::to_string(padding) + ", " + std::to_string(padding) +
                 "], [0, 0], 1, [1, 1])\n");
        return m;
    }
    if (auto* bn = layer.as<torch::nn::BatchNorm2d>()) {
        const auto& o = bn->options;
        if (!o.affine() || !o.track_running_stats() || !o.momentum())
            throw Error("TorchScript export: only affine BatchNorm2d with running statistics is supported");
        JitModule m = newModule("BatchNorm2d", cu);
        m.register_parameter("weight", copyOf(bn->weight), false);
        m.register_parameter("bias", copyOf(bn->bias), false);
        m.register_buffer("running_mean", copyOf(bn->running_mean));
        m.register_buffer("running_var", copyOf(bn->running_var));
        m.register_buffer("num_batches_tracked", copyOf(bn->num_batches_tracked));
        std::ostringstream src;
        src.precision(17);
        src << "def forward(self, x: Tensor) -> Tensor:\n"
               "    if self.training:\n"
               "        self.num_batches_tracked.add_(1)\n"
               "    return torch.batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var, "
               "self.training, "
            << *o.momentum() << ", " << o.eps() << ", True)\n";
        m.define(src.str());
        return m;
    }
    if (auto* linear = layer.as<torch::nn::Linear>()) {
        JitModule m = newModule("Linear", cu);
        m.register_parameter("weight", copyOf(linear->weight), false);
        m.register_parameter("bias", copyOf(linear->bias), false);
        m.define("def forward(self, x: Tensor) -> Tensor:\n    return torch.linear(x, self.weight, self.bias)\n");
        return m;
    }
    if (layer.as<torch::nn::ReLU>()) {
        JitModule m = newModule("ReLU", cu);
        m.define("def forward(self, x: Tensor) -> Tensor:\n    return torch.relu(x)\n");
        return m;
    }
    if (layer.as<torch::nn::Tanh>()) {
        JitModule m = newModule("Tanh", cu);
        m.define("def forward(self, x: Tensor) -> Tensor:\n    return torch.tanh(x)\n");
        return m;
    }
    throw Error("TorchScript export: layer type " + layer.name() + " is not supported");
}

}  // namespace

namespace {

#if defined(__unix__) || defined(__APPLE__)
// torch::jit::load compiles the archive's code/*.py with LibTorch's TorchScript front end, which is not
// hardened against crafted input: fuzzing (tests/engine/test_checkpoint_fuzz.cpp) found sources that pass
// every archive and pickle check yet make it segfault. So the load runs in the weights worker (one
// long-lived process, io/torchscript_worker.h), which hands back the parameters and buffers as a
// safetensors file; a crash or a hang there becomes an Error here, and the next read starts a fresh
// worker. The worker reads a copy of exactly the bytes checked here.
constexpr double kWorkerTimeoutSeconds = 120;

TorchScriptWeights loadInWorkerProcess(const ZipArchive& archive) {
    const std::string& file = archive.file();
    std::string pattern = (fs::temp_directory_path() / "coalesce-torchscript-XXXXXX").string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (!::mkdtemp(buffer.data())) throw Error(file + ": cannot create a temporary folder to read the TorchScript archive safely");
    struct RemoveOnExit {
        fs::path dir;
        ~RemoveOnExit() {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    } cleanup{buffer.data()};
    const std::string input = (cleanup.dir / "archive.pt").string(), result = (cleanup.dir / "result").string();
    replaceFileAtomically(input, archive.bytes());

    readTorchScriptWeightsInWorker(input, result, file, kWorkerTimeoutSeconds);
    SafetensorsFile weights = readSafetensorsFile(result);
    TorchScriptWeights out;
    for (const auto& e : weights.entries) out.tensors[e.name] = weights.tensor(e);
    out.coalesceJson = weights.metadata.count("coalesce.json") ? weights.metadata.at("coalesce.json") : "";
    return out;
}
#endif

}  // namespace

TorchScriptWeights readTorchScriptWeightsInThisProcess(const ZipArchive& archive) {
    const std::string& file = archive.file();
    TorchScriptWeights out;
    try {
        std::istringstream in(archive.bytes());
        torch::jit::ExtraFilesMap extra{{"coalesce.json", ""}};
        JitModule module = torch::jit::load(in, torch::Device(torch::kCPU), extra);
        for (const auto& p : module.named_parameters(/*recurse=*/true)) out.tensors[p.name] = p.value.detach().clone();
        for (const auto& b : module.named_buffers(/*recurse=*/true)) out.tensors[b.name] = b.value.detach().clone();
        out.coalesceJson = extra["coalesce.json"];
    } catch (const c10::Error& e) {
        throw Error(file + ": cannot read the TorchScript module: " + reasonLine(e.what_without_backtrace()));
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(file + ": cannot read the TorchScript module: " + reasonLine(e.what()));
    }
    return out;
}

TorchScriptWeights readTorchScriptWeights(const ZipArchive& archive) {
    checkTorchScriptPickles(archive);
#if defined(__unix__) || defined(__APPLE__)
    return loadInWorkerProcess(archive);
#else
    return readTorchScriptWeightsInThisProcess(archive);
#endif
}

void writeTorchScriptGenerator(const GeneratorImpl& generator, const std::string& path, const std::string& coalesceJson) {
    const ArchSpec& spec = generator.spec();
    auto cu = std::make_shared<torch::jit::CompilationUnit>();
    std::ostringstream bytes;
    try {
        JitModule net = newModule("Sequential", cu);
        std::string sequentialForward = "def forward(self, x: Tensor) -> Tensor:\n";
        size_t index = 0;
        for (const auto& layer : generator.net->children()) {
            const std::string name = std::to_string(index++);
            net.register_module(name, layerModule(*layer, cu));
            sequentialForward += "    x = getattr(self, \"" + name + "\").forward(x)\n";
        }
        sequentialForward += "    return x\n";
        net.define(sequentialForward);

        JitModule top = newModule("Generator", cu);
        top.register_module("net", net);
        top.register_attribute("latent_dim", c10::IntType::get(), static_cast<int64_t>(spec.latentDim));
        top.register_attribute("coalesce_arch", c10::StringType::get(), coalesceJson);
        if (spec.isImage())
            top.define("def forward(self, z: Tensor) -> Tensor:\n"
                       "    return self.net.forward(z.view([z.size(0), z.size(1), 1, 1]))\n");
        else
            top.define("def forward(self, z: Tensor) -> Tensor:\n    return self.net.forward(z)\n");
        top.eval();
        top.save(bytes, torch::jit::ExtraFilesMap{{"coalesce.json", coalesceJson}});
    } catch (const c10::Error& e) {
        throw Error(path + ": TorchScript export failed: " + reasonLine(e.what_without_backtrace()));
    }
    replaceFileAtomically(path, bytes.str());
}

}  // namespace coalesce
