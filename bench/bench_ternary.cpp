// Ternary generators: real file sizes (float .coalesce vs packed .ctern) for the dcgan32 presets, the
// cost of ternarising on every forward pass (training) vs the float and the unpacked (deployment)
// generators, and pack/save/load times. Usage: bench_ternary [threads] [batch]
#include <chrono>
#include <cstdio>
#include <filesystem>

#include <torch/torch.h>

#include "models/networks.h"
#include "quant/packed_generator.h"
#include "quant/ternary_layers.h"
#include "train/training_job.h"

using namespace coalesce;
namespace fs = std::filesystem;

namespace {

template <typename F>
double secondsPer(int repeats, F&& f) {
    f();  // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < repeats; ++i) f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / repeats;
}

}  // namespace

int main(int argc, char** argv) {
    const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
    const int64_t batch = argc > 2 ? std::atoll(argv[2]) : 64;
    torch::set_num_threads(threads);
    const auto dir = fs::temp_directory_path() / ("bench_ternary-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::printf("threads %d, batch %lld\n", threads, static_cast<long long>(batch));
    std::printf("%-6s %-8s %12s %12s %7s %10s %10s %10s %9s %9s\n", "preset", "method", "float_B", "packed_B", "ratio",
                "fwd_float", "fwd_tern", "fwd_unpk", "save_s", "load_s");
    for (const std::string preset : {"small", "paper"}) {
        torch::manual_seed(1);
        Generator g(ArchSpec::preset("dcgan32", preset, 1));
        g->eval();
        const auto floatPath = (dir / (preset + ".coalesce")).string();
        writeGeneratorFile(floatPath, g, nlohmann::json::object());
        const auto floatBytes = static_cast<long long>(fs::file_size(floatPath));
        torch::NoGradGuard noGrad;
        auto z = g->sampleLatent(batch);
        const double fwdFloat = secondsPer(5, [&] { g->forward(z); });
        for (auto method : {TernaryMethod::Learned, TernaryMethod::Twn, TernaryMethod::Ttq}) {
            TernaryOptions options;
            options.method = method;
            auto tg = ternarizeGenerator(g, options);
            tg->eval();
            const double fwdTernary = secondsPer(5, [&] { tg->forward(z); });
            const auto path = (dir / (preset + "-" + toString(method) + ".ctern")).string();
            long long packedBytes = 0;
            const double save = secondsPer(3, [&] { packedBytes = savePackedGenerator(path, packGenerator(tg)); });
            Generator unpacked{nullptr};
            const double load = secondsPer(3, [&] { unpacked = unpackGenerator(loadPackedGenerator(path)); });
            const double fwdUnpacked = secondsPer(5, [&] { unpacked->forward(z); });
            std::printf("%-6s %-8s %12lld %12lld %7.2f %10.4f %10.4f %10.4f %9.4f %9.4f\n", preset.c_str(),
                        toString(method), floatBytes, packedBytes, double(floatBytes) / double(packedBytes), fwdFloat,
                        fwdTernary, fwdUnpacked, save, load);
        }
    }
    fs::remove_all(dir);
    return 0;
}
