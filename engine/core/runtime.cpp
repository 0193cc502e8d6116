#include "core/runtime.h"

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

std::string describeRuntime(const torch::Device& device) {
    std::string s = "LibTorch " + std::string(TORCH_VERSION) + ", " + device.str() + ", " +
                    std::to_string(torch::get_num_threads()) + " threads";
    return s;
}

}  // namespace coalesce
