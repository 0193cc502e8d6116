// Process-wide runtime settings taken from a job config: LibTorch threads and the compute device.
#pragma once
#include <string>

#include <torch/types.h>

namespace coalesce {

struct RuntimeOptions {
    int threads = 0;             // 0 = all cores (LibTorch starts with 1 intra-op thread here)
    std::string device = "auto"; // "auto" (CUDA if available), "cpu", "cuda", "cuda:N"
    std::string precision = "auto";  // training jobs: "auto" | "fp32" | "bf16" (train/mixed_precision.h)
};

// Applies the thread count; returns the number of threads now in use.
int configureThreads(int threads);
// Resolves a device string; throws coalesce::Error for "cuda" when CUDA is unavailable.
torch::Device resolveDevice(const std::string& device);
// "LibTorch 1.13.1, cpu, 2 threads, AMD EPYC (avx512_bf16), tcmalloc" — for config.json, run logs and the
// About dialog.
// The CPU is part of it because float results depend on it: one config with one thread count gives
// bit-identical runs on one machine, but oneDNN and OpenBLAS pick their kernels by the CPU's vector
// extensions, so the same run on another CPU differs from the first step on and a GAN amplifies that.
std::string describeRuntime(const torch::Device& device);
// "AMD EPYC (avx512_bf16)": the CPU model and the widest vector extension the math libraries can use
// (amx, avx512_bf16, avx512, avx2 or none); "unknown CPU" where /proc/cpuinfo is not readable.
std::string describeCpu();
// The allocator serving this process's malloc: "tcmalloc" (the programs link it: CMakeLists.txt,
// COALESCE_TCMALLOC) or "system malloc" (the benches, a build without gperftools). Part of
// describeRuntime because run times depend on it (bench/allocator.sh: up to 1.19x on a training loop).
std::string describeAllocator();
// Whether the CPU has bfloat16 arithmetic (AVX512-BF16 or AMX) that oneDNN uses for bf16 layers.
bool cpuHasBf16Instructions();

}  // namespace coalesce
