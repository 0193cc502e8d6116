// Exact W1 on given point sets, timed per solver: the engine's side of bench/w1_vs_pot.sh.
//   bench_w1 X.f64 Y.f64 N DIM [--threads 1] [--repeats 1]
// X and Y are raw little-endian float64, N×DIM each (written by bench/pot_w1.py). Prints, per solver,
// "engine <solver> W1 <value> seconds <median wall>" with the time of the whole exactW1 call (cost matrix
// included, as POT's side includes ot.dist).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/runtime.h"
#include "metrics/optimal_transport.h"

using namespace coalesce;

namespace {

torch::Tensor readPoints(const std::string& path, int64_t n, int64_t dim) {
    std::ifstream in(path, std::ios::binary);
    auto t = torch::empty({n, dim}, torch::kDouble);
    in.read(reinterpret_cast<char*>(t.data_ptr<double>()), static_cast<std::streamsize>(n * dim * sizeof(double)));
    if (!in) throw std::runtime_error(path + ": expected " + std::to_string(n * dim) + " float64 values");
    return t;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: bench_w1 X.f64 Y.f64 N DIM [--threads 1] [--repeats 1]\n");
        return 2;
    }
    int threads = 1, repeats = 1;
    for (int i = 5; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        if (key == "--threads") threads = std::stoi(argv[i + 1]);
        else if (key == "--repeats") repeats = std::stoi(argv[i + 1]);
    }
    try {
        configureThreads(threads);
        const int64_t n = std::stoll(argv[3]), dim = std::stoll(argv[4]);
        const auto x = readPoints(argv[1], n, dim), y = readPoints(argv[2], n, dim);
        {  // the cost matrix alone, as exactW1 computes it (float64, BLAS expansion)
            const auto start = std::chrono::steady_clock::now();
            auto cost = euclideanDistances(x, y);
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            std::printf("engine cost_matrix W1 %.12g seconds %.4f\n", cost.mean().item<double>(), s);
        }
        for (auto [name, solver] : {std::pair{"assignment", TransportSolver::Assignment},
                                    std::pair{"network_simplex", TransportSolver::NetworkSimplex}}) {
            std::vector<double> seconds;
            double value = 0;
            for (int r = 0; r < repeats; ++r) {
                const auto start = std::chrono::steady_clock::now();
                value = exactW1(x, y, solver).value;
                seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
            }
            std::sort(seconds.begin(), seconds.end());
            std::printf("engine %s W1 %.12g seconds %.4f\n", name, value, seconds[seconds.size() / 2]);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_w1: %s\n", e.what());
        return 1;
    }
    return 0;
}
