#include "core/runtime.h"

#include <dlfcn.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <torch/torch.h>
#include <torch/version.h>

#include "core/error.h"

namespace coalesce {

int configureThreads(int threads) {
    if (threads < 0) throw Error("threads: must be >= 0 (0 = all cores), got " + std::to_string(threads));
    int n = threads == 0 ? static_cast<int>(std::thread::hardware_concurrency()) : threads;
    if (n <= 0) n = 1;
    torch::set_num_threads(n);
    return torch::get_num_threads();
}

torch::Device resolveDevice(const std::string& device) {
    if (device.empty() || device == "auto")
        return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    try {
        torch::Device d(device);
        if (d.is_cuda() && !torch::cuda::is_available())
            throw Error("device '" + device + "': CUDA is not available in this LibTorch build or on this machine");
        return d;
    } catch (const c10::Error&) {
        throw Error("device '" + device + "': not a device name (use auto, cpu, cuda or cuda:N)");
    }
}

namespace {
struct CpuInfo {
    std::string model;  // "" where /proc/cpuinfo is not readable
    std::set<std::string> flags;
};
const CpuInfo& cpuInfo() {
    static const CpuInfo info = [] {
        CpuInfo c;
        std::ifstream in("/proc/cpuinfo");
        std::string line;
        while (std::getline(in, line) && (c.model.empty() || c.flags.empty())) {
            const auto colon = line.find(':');
            if (colon == std::string::npos) continue;
            const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
            const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
            if (key == "model name" && c.model.empty()) c.model = value;
            if (key == "flags" && c.flags.empty()) {
                std::istringstream words(value);
                for (std::string w; words >> w;) c.flags.insert(w);
            }
        }
        return c;
    }();
    return info;
}
}  // namespace

std::string describeCpu() {
    const CpuInfo& cpu = cpuInfo();
    if (cpu.model.empty()) return "unknown CPU";
    std::string isa = "no avx2";
    for (const char* f : {"amx_bf16", "avx512_bf16", "avx512f", "avx2"})
        if (cpu.flags.count(f)) {
            isa = std::string(f) == "amx_bf16" ? "amx" : std::string(f) == "avx512f" ? "avx512" : f;
            break;
        }
    return cpu.model + " (" + isa + ")";
}

bool cpuHasBf16Instructions() { return cpuInfo().flags.count("amx_bf16") || cpuInfo().flags.count("avx512_bf16"); }

std::string describeAllocator() {
    // gperftools exports its entry points under tc_* names as well; present = it serves malloc here.
    return dlsym(RTLD_DEFAULT, "tc_malloc") ? "tcmalloc" : "system malloc";
}

std::string describeRuntime(const torch::Device& device) {
    std::string s = "LibTorch " + std::string(TORCH_VERSION) + ", " + device.str() + ", " +
                    std::to_string(torch::get_num_threads()) + " threads";
    if (device.is_cpu()) s += ", " + describeCpu();
    return s + ", " + describeAllocator();
}

}  // namespace coalesce
