// Training throughput: generator iterations per second of the WGAN-GP trainer (K critics (default 1), n_critic 5,
// batch 64, standard GP) for the dcgan32 `paper` and `small` presets on the CPU (or --device), with
// all cores unless --threads. Data are random images (the cost does not depend on their content).
// Timing: the trainer's per-iteration progress events are time-stamped; after --warmup iterations,
// --windows windows of --per-window iterations each are timed and the median window rate is reported.
//
//   bench_train [--preset paper|small|both] [--batch 64] [--n-critic 5] [--critics 1] [--warmup 2] [--windows 5]
//               [--per-window N] [--threads 0] [--device cpu] [--precision fp32|bf16|auto]
// bench/peer_train.py is the same work in plain PyTorch-Python; bench/peer_compare.sh alternates the two.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/runtime.h"
#include "train/multi_critic_trainer.h"

using namespace coalesce;
using Clock = std::chrono::steady_clock;

namespace {

// Process CPU time (user + system, all threads), seconds.
double cpuSeconds() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

struct StampObserver : JobObserver {
    std::vector<Clock::time_point> stamps;  // stamps[i] = when step i was reached
    std::vector<double> cpu;                // process CPU seconds then
    void onProgress(std::int64_t done, std::int64_t, const std::string&) override {
        if (static_cast<size_t>(done) >= stamps.size()) {
            stamps.resize(done + 1);
            cpu.resize(done + 1);
        }
        stamps[done] = Clock::now();
        cpu[done] = cpuSeconds();
    }
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

void benchPreset(const std::string& preset, int64_t batch, int nCritic, int critics, int64_t warmup, int64_t windows,
                 int64_t perWindow, const torch::Device& device, Precision precision) {
    ArchSpec spec = ArchSpec::preset("dcgan32", preset, 1);
    torch::manual_seed(1);
    Generator g(spec);
    Dataset data;
    data.samples = torch::rand({1024, 1, 32, 32}) * 2 - 1;
    data.labels = torch::zeros({1024}, torch::kLong);
    data.name = "random images";
    std::vector<CriticSource> sources;
    for (int k = 0; k < critics; ++k)  // every critic on the same random images; λ_k = 1/K
        sources.push_back({"random" + std::to_string(k), std::make_unique<DatasetSource>(data)});
    TrainerOptions o;
    o.iterations = warmup + windows * perWindow;
    o.batchSize = batch;
    o.nCritic = nCritic;
    o.sampleEvery = 0;
    o.checkpointEvery = 0;
    MultiCriticTrainer trainer(g, std::move(sources), {}, o, device);
    trainer.setPrecision(precision);
    StampObserver stamps;
    CancelToken cancel;
    trainer.train(stamps, cancel);
    std::vector<double> rates, cpuPerIteration;
    for (int64_t w = 0; w < windows; ++w) {
        const int64_t i = warmup + w * perWindow, j = warmup + (w + 1) * perWindow;
        rates.push_back(perWindow / std::chrono::duration<double>(stamps.stamps[j] - stamps.stamps[i]).count());
        cpuPerIteration.push_back((stamps.cpu[j] - stamps.cpu[i]) / perWindow);
    }
    // CPU seconds per iteration tell how busy the machine was: on an idle machine wall × threads ≈ CPU.
    std::printf("%-5s  G %.2fM / D %.2fM params, batch %lld, n_critic %d, %d critic(s), %s: median %.3f it/s "
                "(%.3f s/it wall, %.3f CPU-s/it, %s) over %lld windows of %lld iterations; windows:",
                preset.c_str(), parameterCount(*g) / 1e6, parameterCount(*trainer.critic(0)) / 1e6,
                static_cast<long long>(trainer.batchSize()), nCritic, critics, describeRuntime(device).c_str(), median(rates),
                1.0 / median(rates), median(cpuPerIteration), toString(precision), static_cast<long long>(windows),
                static_cast<long long>(perWindow));
    for (double r : rates) std::printf(" %.3f", r);
    std::printf("\n");
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    std::string preset = "both", device = "cpu", precision = "fp32";
    int64_t batch = 64, warmup = 2, windows = 5, perWindow = 0;
    int nCritic = 5, critics = 1, threads = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i], value = argv[i + 1];
        if (key == "--preset") preset = value;
        else if (key == "--batch") batch = std::stoll(value);
        else if (key == "--n-critic") nCritic = std::stoi(value);
        else if (key == "--warmup") warmup = std::stoll(value);
        else if (key == "--windows") windows = std::stoll(value);
        else if (key == "--per-window") perWindow = std::stoll(value);
        else if (key == "--critics") critics = std::stoi(value);
        else if (key == "--threads") threads = std::stoi(value);
        else if (key == "--device") device = value;
        else if (key == "--precision") precision = value;
        else {
            std::fprintf(stderr, "bench_train: unknown option %s\n", key.c_str());
            return 2;
        }
    }
    if (critics < 1) {
        std::fprintf(stderr, "bench_train: --critics must be >= 1\n");
        return 2;
    }
    try {
        configureThreads(threads);
        const torch::Device dev = resolveDevice(device);
        for (const std::string p : {"paper", "small"}) {
            if (preset != "both" && preset != p) continue;
            const int64_t n = perWindow > 0 ? perWindow : (p == "paper" ? 3 : 10);
            benchPreset(p, batch, nCritic, critics, warmup, windows, n, dev, resolvePrecision(precision, dev));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_train: %s\n", e.what());
        return 1;
    }
    return 0;
}
