// How long loading Fashion-MNIST takes: cold (read + gunzip + SHA-256 + tensor conversion) and warm
// (IDX cache hit, tensor conversion only). Target: the 60k training split in under 2 s cold.
//   build-*/bench/bench_data_load [spec] [repeats]
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include <torch/torch.h>

#include "core/error.h"
#include "data/dataset.h"
#include "data/idx.h"

int main(int argc, char** argv) {
    const std::string spec = argc > 1 ? argv[1] : "fashion-mnist:train";
    const int repeats = argc > 2 ? std::stoi(argv[2]) : 3;
    std::printf("torch threads: %d\n", torch::get_num_threads());
    try {
        for (int r = 0; r < repeats; ++r) {
            for (bool cold : {true, false}) {
                if (cold) coalesce::clearIdxCache();
                const auto start = std::chrono::steady_clock::now();
                const std::clock_t cpuStart = std::clock();
                auto data = coalesce::loadDataset(spec);
                const double cpu = double(std::clock() - cpuStart) / CLOCKS_PER_SEC;
                const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                // CPU time (all threads) next to wall time: on a shared machine the wall time lies.
                std::printf("%s %-5s %8.3f s wall %8.3f s cpu  (%lld samples, hash %.12s…)\n", spec.c_str(),
                            cold ? "cold" : "warm", seconds, cpu, static_cast<long long>(data.size()), data.hash.c_str());
            }
        }
    } catch (const coalesce::Error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    return 0;
}
