// coalesce-torchscript-worker MODEL [--latent-dim N]: loads a user's TorchScript generator and runs it
// for the process that started it, over stdin/stdout (a socket pair). The protocol and the reasons for a
// separate process are in engine/io/torchscript_worker.h; this is the only place that runs a user's
// TorchScript code.
// coalesce-torchscript-worker --weights-server: loads TorchScript archives on request (compiles their
// code, runs none of it) and writes their parameters and buffers as safetensors (io/torchscript.h).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <torch/script.h>
#include <torch/torch.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "io/safetensors.h"
#include "io/torch_pickle.h"
#include "io/torchscript.h"
#include "io/torchscript_worker.h"
#include "io/zip_archive.h"

namespace {

bool writeAll(const void* data, size_t size) {
    const auto* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(1, p, size);
        if (n <= 0) return false;
        p += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

bool readAll(void* data, size_t size) {
    auto* p = static_cast<char*>(data);
    while (size > 0) {
        const ssize_t n = ::read(0, p, size);
        if (n <= 0) return false;
        p += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

bool sendMessage(const nlohmann::json& message) {
    const std::string frame = coalesce::frameWorkerMessage(message);
    return writeAll(frame.data(), frame.size());
}

// One line saying why: LibTorch's interpreter errors start with "The following operation failed in the
// TorchScript interpreter." and a TorchScript traceback, and end with the module's own message.
std::string firstLine(const std::string& text) {
    if (text.find("Traceback") == std::string::npos) return text.substr(0, text.find('\n'));
    std::string last;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
    return last;
}

// The module's output for z as float32 N×C×H×W, or an exception saying what is wrong with it.
torch::Tensor generate(torch::jit::Module& module, const torch::Tensor& z) {
    torch::NoGradGuard noGrad;
    const c10::IValue result = module.forward({z});
    if (!result.isTensor()) throw std::runtime_error("forward(z) must return a tensor, it returned " + result.tagKind());
    torch::Tensor out = result.toTensor();
    if (out.dim() != 4)
        throw std::runtime_error("forward(z) must return images B×C×H×W, it returned shape " + c10::str(out.sizes()));
    if (out.size(0) != z.size(0))
        throw std::runtime_error("forward(z) returned " + std::to_string(out.size(0)) + " images for " +
                                 std::to_string(z.size(0)) + " latents");
    if (out.size(1) != 1 && out.size(1) != 3)
        throw std::runtime_error("images must have 1 or 3 channels, the module makes " + std::to_string(out.size(1)));
    if (out.size(2) < 4 || out.size(3) < 4 || out.size(2) > 1024 || out.size(3) > 1024)
        throw std::runtime_error("images must be 4..1024 pixels a side, the module makes " + c10::str(out.sizes()));
    return out.to(torch::kCPU, torch::kFloat).contiguous();
}

// --weights-server: answers weight-reading requests until stdin closes (io/torchscript_worker.h).
int serveWeights() {
    struct rlimit noCore {0, 0};  // a crafted archive that crashes LibTorch leaves no core file
    ::setrlimit(RLIMIT_CORE, &noCore);
    for (;;) {
        uint32_t length = 0;
        if (!readAll(&length, sizeof length)) return 0;  // the parent is done (or gone)
        if (length == 0 || length > coalesce::kMaxWorkerMessage) return 3;
        std::string text(length, '\0');
        if (!readAll(text.data(), length)) return 0;
        nlohmann::json answer;
        try {
            const nlohmann::json request = nlohmann::json::parse(text);
            const std::string archivePath = request.at("archive"), result = request.at("result"), name = request.at("name");
            std::ifstream in(archivePath, std::ios::binary);
            std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
            const coalesce::ZipArchive archive(std::move(bytes), name);
            coalesce::checkTorchScriptPickles(archive);
            const coalesce::TorchScriptWeights w = coalesce::readTorchScriptWeightsInThisProcess(archive);
            coalesce::writeSafetensorsFile(result, w.tensors, {{"coalesce.json", w.coalesceJson}});
            answer = {{"ok", true}};
        } catch (const std::exception& e) {
            answer = {{"ok", false}, {"error", std::string(e.what())}};
        }
        if (!sendMessage(answer)) return 0;
    }
}

}  // namespace

int main(int argc, char** argv) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a module (or a compile) that hangs must not outlive a killed parent
    if (argc == 2 && std::strcmp(argv[1], "--weights-server") == 0) {
        at::set_num_threads(1);
        return serveWeights();
    }
    if (argc != 2 && argc != 4) {
        std::fprintf(stderr, "usage: coalesce-torchscript-worker MODEL [--latent-dim N]\n"
                             "       coalesce-torchscript-worker --weights-server\n"
                             "(started by Coalesce to run a TorchScript generator in its own process)\n");
        return 2;
    }
    const std::string path = argv[1];
    int64_t latentDim = 0;
    if (argc == 4) {
        if (std::strcmp(argv[2], "--latent-dim") != 0) return 2;
        latentDim = std::atoll(argv[3]);
    }
    at::set_num_threads(1);  // shares the machine with the training process
    torch::jit::Module module;
    std::vector<int64_t> shape;
    try {
        std::ifstream in(path, std::ios::binary);
        std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        if (!in.good() && !in.eof()) throw std::runtime_error("cannot read the file");
        if (!coalesce::ZipArchive::looksLikeZip(bytes))
            throw std::runtime_error("not a TorchScript archive (torch.jit.save writes a zip file)");
        coalesce::ZipArchive archive(bytes, path);    // structure and CRCs
        coalesce::checkTorchScriptPickles(archive);  // no pickle may call anything but tensor rebuilds
        std::istringstream stream(archive.bytes());
        module = torch::jit::load(stream, torch::Device(torch::kCPU));
        module.eval();
        if (latentDim <= 0) {
            if (!module.hasattr("latent_dim") || !module.attr("latent_dim").isInt())
                throw std::runtime_error("the module has no integer attribute latent_dim: give the latent size (\"latent_dim\")");
            latentDim = module.attr("latent_dim").toInt();
        }
        if (latentDim < 1 || latentDim > 65536) throw std::runtime_error("latent_dim " + std::to_string(latentDim) + " is out of range");
        const torch::Tensor probe = generate(module, torch::randn({2, latentDim}));
        shape = {probe.size(1), probe.size(2), probe.size(3)};
    } catch (const c10::Error& e) {
        sendMessage({{"ok", false}, {"error", "cannot run the TorchScript module: " + firstLine(e.what_without_backtrace())}});
        return 1;
    } catch (const std::exception& e) {
        sendMessage({{"ok", false}, {"error", firstLine(e.what())}});
        return 1;
    }
    if (!sendMessage({{"ok", true}, {"latent_dim", latentDim}, {"shape", shape}})) return 1;

    for (;;) {
        int64_t n = 0;
        if (!readAll(&n, sizeof n) || n <= 0) return 0;  // quit, or the parent is gone
        if (n > (int64_t{1} << 20)) return 3;
        torch::Tensor z = torch::empty({n, latentDim}, torch::kFloat);
        if (!readAll(z.data_ptr<float>(), static_cast<size_t>(z.numel()) * sizeof(float))) return 0;
        torch::Tensor out;
        std::string error;
        try {
            out = generate(module, z);
        } catch (const c10::Error& e) {
            error = firstLine(e.what_without_backtrace());
        } catch (const std::exception& e) {
            error = firstLine(e.what());
        }
        if (!error.empty()) {
            if (!sendMessage({{"ok", false}, {"error", error}})) return 0;
            continue;
        }
        if (!sendMessage({{"ok", true}, {"shape", out.sizes().vec()}}) ||
            !writeAll(out.data_ptr<float>(), static_cast<size_t>(out.numel()) * sizeof(float)))
            return 0;
    }
}
