// Evaluation metrics speed and feature-net quality (see bench/README.md, "bench_metrics"):
//   exact W1 (LEMON network simplex) for 500 / 1000 / 2000 points in 2-D and 1024-D (32×32 pixels),
//   sliced W1, FID, KID, precision/recall for 1000 vs 1000, the feature net's Fashion-MNIST test
//   accuracy (trained once and cached), a full Evaluator pass, and the metrics of real train images of
//   the reference classes vs other classes against the held-out reference.
//   build-*/bench/bench_metrics [--threads N] [--cache-dir DIR] [--retrain] [--skip-feature-net] [--repeats R]
// Median wall time of R runs, with the process CPU time beside it (the machine is shared).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/error.h"
#include "core/runtime.h"
#include "data/dataset.h"
#include "metrics/evaluator.h"
#include "metrics/feature_metrics.h"
#include "metrics/feature_net.h"
#include "metrics/optimal_transport.h"

using namespace coalesce;

namespace {

struct Timing {
    double wallMedian = 0, cpuMedian = 0;
};

Timing measure(int repeats, const std::function<void()>& body) {
    std::vector<double> wall, cpu;
    for (int r = 0; r < repeats; ++r) {
        const auto start = std::chrono::steady_clock::now();
        const std::clock_t cpuStart = std::clock();
        body();
        cpu.push_back(double(std::clock() - cpuStart) / CLOCKS_PER_SEC);
        wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(wall.begin(), wall.end());
    std::sort(cpu.begin(), cpu.end());
    return {wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

void report(const std::string& what, const Timing& t, const std::string& extra = "") {
    std::printf("%-46s %8.3f s wall %8.3f s cpu  %s\n", what.c_str(), t.wallMedian, t.cpuMedian, extra.c_str());
    std::fflush(stdout);
}

// Feature-net training takes minutes on a CPU: show its per-epoch log lines.
struct PrintLogs : JobObserver {
    void onLog(LogLevel, const std::string& message) override {
        std::printf("   %s\n", message.c_str());
        std::fflush(stdout);
    }
};

void printMetrics(const std::string& label, const std::map<std::string, double>& m) {
    std::printf("%-28s", label.c_str());
    for (const char* k : {"fid", "kid", "kid_se", "w1", "w1_features", "sliced_w1", "precision", "recall", "diversity"})
        if (m.count(k)) std::printf(" %s=%.4g", k, m.at(k));
    std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
    int threads = 0, repeats = 5;
    std::string cacheDir;
    bool retrain = false, skipFeatureNet = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc) threads = std::stoi(argv[++i]);
        else if (a == "--cache-dir" && i + 1 < argc) cacheDir = argv[++i];
        else if (a == "--repeats" && i + 1 < argc) repeats = std::stoi(argv[++i]);
        else if (a == "--retrain") retrain = true;
        else if (a == "--skip-feature-net") skipFeatureNet = true;
        else {
            std::fprintf(stderr, "usage: %s [--threads N] [--cache-dir DIR] [--retrain] [--skip-feature-net] [--repeats R]\n", argv[0]);
            return 2;
        }
    }
    try {
        std::printf("%s\n\n", describeRuntime(torch::Device(torch::kCPU)).c_str());
        configureThreads(threads);
        std::printf("threads in use: %d\n", torch::get_num_threads());
        torch::manual_seed(0);

        std::printf("\n== exact W1 (network simplex), median of %d (3 for 2000) ==\n", repeats);
        for (int64_t dim : {2, 1024}) {
            for (int64_t n : {500, 1000, 2000}) {
                auto x = dim == 2 ? torch::randn({n, 2}, torch::kDouble) : torch::rand({n, dim}, torch::kDouble) * 2 - 1;
                auto y = dim == 2 ? torch::randn({n, 2}, torch::kDouble) * 1.5 + 0.5
                                  : (torch::rand({n, dim}, torch::kDouble) * 2 - 1.2).clamp(-1, 1);
                ExactW1Result r;
                auto t = measure(n == 2000 ? 3 : repeats, [&] { r = exactW1(x, y); });
                char extra[96];
                std::snprintf(extra, sizeof extra, "W1=%.6g, plan support %lld", r.value, static_cast<long long>(r.planSupport));
                report("exact W1 " + std::to_string(n) + " x " + std::to_string(n) + ", " + std::to_string(dim) + "-D", t, extra);
            }
        }

        std::printf("\n== 1000 vs 1000 ==\n");
        auto px = torch::rand({1000, 1024}) * 2 - 1, py = (torch::rand({1000, 1024}) * 2 - 1.2).clamp(-1, 1);
        report("sliced W1, 1024-D, 256 projections", measure(repeats, [&] { slicedW1(px, py, {256, 0}); }));
        auto fx = torch::relu(torch::randn({1000, 128})), fy = torch::relu(torch::randn({1000, 128}) + 0.1);
        report("FID, 128-D features", measure(repeats, [&] { frechetDistance(fx, fy); }));
        report("KID, 128-D, 10 subsets", measure(repeats, [&] { kernelInceptionDistance(fx, fy, {10, 0}); }));
        report("precision/recall, 128-D, k=3", measure(repeats, [&] { precisionRecall(fx, fy, 3); }));

        if (skipFeatureNet) return 0;
        std::printf("\n== feature net (fashion-mnist:train, all classes) ==\n");
        FeatureNetRequest request;
        request.cacheDir = cacheDir;
        const auto started = std::chrono::steady_clock::now();
        const std::clock_t cpuStart = std::clock();
        PrintLogs logs;
        auto net = obtainFeatureNet(request, &logs, nullptr, retrain);
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::printf("obtained in %.1f s wall, %.1f s cpu (%s)\n", wall, double(std::clock() - cpuStart) / CLOCKS_PER_SEC,
                    retrain ? "retrained" : "cache hit or first training");
        std::printf("feature net: %s\n", net.info.dump().c_str());
        auto test = loadDataset("fashion-mnist:test");
        const double accuracy = classificationAccuracy(net.net, test);
        std::printf("Fashion-MNIST test accuracy: %.2f %% (%lld images)\n", 100 * accuracy, static_cast<long long>(test.size()));

        std::printf("\n== Evaluator, default protocol (%s) ==\n", EvaluationProtocol().toJson().dump().c_str());
        EvaluatorOptions options;
        options.cacheDir = cacheDir;
        EvaluationProtocol protocol;
        const auto arch = ArchSpec::preset("dcgan32", "small", 1);
        std::unique_ptr<Evaluator> evaluator;
        report("Evaluator construction (reference, feature net)",
               measure(1, [&] { evaluator = std::make_unique<Evaluator>(protocol, arch, options); }));
        Generator g(arch);
        EvaluationResult result;
        report("Evaluator::evaluate (untrained small G)", measure(3, [&] { result = evaluator->evaluate(g); }));
        for (const auto& [stage, s] : result.seconds) std::printf("   %-28s %.3f s\n", stage.c_str(), s);
        printMetrics("untrained G vs test 8,9", result.metrics);

        // Separation: real training images of the reference classes vs of other classes.
        auto train = loadDataset("fashion-mnist:train");
        auto own = kShotSubset(filterClasses(train, {8, 9}), 1000, 1).samples;
        auto others = kShotSubset(filterClasses(train, {0, 1, 2, 3}), 1000, 1).samples;
        auto sources = kShotSubset(filterClasses(train, {4, 5, 6, 7}), 1000, 1).samples;
        printMetrics("train 8,9 vs test 8,9", evaluator->evaluateSamples(own).metrics);
        printMetrics("train 0-3 vs test 8,9", evaluator->evaluateSamples(others).metrics);
        printMetrics("train 4-7 vs test 8,9", evaluator->evaluateSamples(sources).metrics);
    } catch (const Error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    return 0;
}
