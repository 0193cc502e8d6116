// Process-wide runtime settings taken from a job config: LibTorch threads and the compute device.
#pragma once
#include <string>

#include <torch/types.h>

namespace coalesce {

struct RuntimeOptions {
    int threads = 0;             // 0 = all cores (LibTorch starts with 1 intra-op thread here)
    std::string device = "auto"; // "auto" (CUDA if available), "cpu", "cuda", "cuda:N"
};

// Applies the thread count; returns the number of threads now in use.
int configureThreads(int threads);
// Resolves a device string; throws coalesce::Error for "cuda" when CUDA is unavailable.
torch::Device resolveDevice(const std::string& device);
// "LibTorch 1.13.1, CPU, 2 threads" — for config.json and the About dialog.
std::string describeRuntime(const torch::Device& device);

}  // namespace coalesce
