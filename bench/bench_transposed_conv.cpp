// Transposed convolution: torch::conv_transpose2d (what nn::ConvTranspose2d runs) against Coalesce's
// Conv2d formulation (models/transposed_conv.h), forward + backward, for every layer of the dcgan32
// generator (small and paper presets) at batch 64. Median of --repeats timings per layer; the ratio is
// the speed-up of the Conv2d formulation (the matrix product for the first layer, sub-pixel Conv2d for
// the others); TransposedConvAlgorithm::Auto uses the sub-pixel form only with more than one thread.
//
//   bench_transposed_conv [--threads 0] [--repeats 5] [--batch 64] [--forward-only 1]
// --forward-only 1: the forward alone under NoGrad (how frozen source generators and evaluations run).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/runtime.h"
#include "models/arch_spec.h"
#include "models/transposed_conv.h"

using namespace coalesce;

namespace {

template <typename F>
double medianSeconds(int repeats, F&& f) {
    f();  // warm-up (allocations, OpenMP pool)
    std::vector<double> t;
    for (int i = 0; i < repeats; ++i) {
        const auto start = std::chrono::steady_clock::now();
        f();
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    int threads = 0, repeats = 5;
    int64_t batch = 64;
    bool forwardOnly = false;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i], value = argv[i + 1];
        if (key == "--threads") threads = std::stoi(value);
        else if (key == "--repeats") repeats = std::stoi(value);
        else if (key == "--batch") batch = std::stoll(value);
        else if (key == "--forward-only") forwardOnly = value == "1";
        else {
            std::fprintf(stderr, "unknown option %s\n", key.c_str());
            return 2;
        }
    }
    const int used = configureThreads(threads);
    std::printf("batch %lld, %d threads, median of %d (%s)\n", static_cast<long long>(batch), used, repeats,
                forwardOnly ? "forward only, NoGrad" : "forward + backward");
    std::printf("%-7s %-22s %12s %12s %8s\n", "preset", "layer", "torch (ms)", "coalesce (ms)", "ratio");
    for (const char* preset : {"small", "paper"}) {
        const ArchSpec spec = ArchSpec::preset("dcgan32", preset, 1);
        std::vector<int64_t> widths(spec.generatorWidths.begin(), spec.generatorWidths.end());
        widths.push_back(spec.channels);
        int64_t in = spec.latentDim, size = 1;
        double totalTorch = 0, totalOurs = 0;
        for (size_t i = 0; i < widths.size(); ++i) {
            const int64_t stride = i == 0 ? 1 : 2, padding = i == 0 ? 0 : 1;
            torch::manual_seed(1);
            auto x = torch::randn({batch, in, size, size}).requires_grad_();
            auto w = torch::randn({in, widths[i], 4, 4}).mul_(0.02).requires_grad_();
            auto b = torch::zeros({widths[i]}).requires_grad_();
            auto run = [&](TransposedConvAlgorithm algorithm) {
                return medianSeconds(repeats, [&] {
                    if (forwardOnly) {
                        torch::NoGradGuard noGrad;
                        transposedConv2d(x, w, b, stride, padding, algorithm);
                    } else {
                        transposedConv2d(x, w, b, stride, padding, algorithm).sum().backward();
                    }
                });
            };
            const double a = run(TransposedConvAlgorithm::Torch), c = run(TransposedConvAlgorithm::SubPixel);
            const int64_t outSize = i == 0 ? 4 : size * 2;
            char name[64];
            std::snprintf(name, sizeof name, "%lld->%lld, %lldx%lld", static_cast<long long>(in),
                          static_cast<long long>(widths[i]), static_cast<long long>(outSize), static_cast<long long>(outSize));
            std::printf("%-7s %-22s %12.2f %12.2f %7.1fx\n", preset, name, 1e3 * a, 1e3 * c, a / c);
            totalTorch += a;
            totalOurs += c;
            in = widths[i];
            size = outSize;
        }
        std::printf("%-7s %-22s %12.2f %12.2f %7.1fx\n", preset, "all layers", 1e3 * totalTorch, 1e3 * totalOurs, totalTorch / totalOurs);
    }
    return 0;
}
