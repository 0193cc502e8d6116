#include "support/test_support.h"

#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "train/sample_source.h"

namespace coalesce::test {

std::string scratchDir(const std::string& name) {
    static std::atomic<int> counter{0};
    auto dir = std::filesystem::path(COALESCE_TEST_WORKDIR) /
               (name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir.string();
}

int runPython(const std::string& script, const std::string& args, std::string* output) {
    std::string cmd = std::string(COALESCE_PYTHON) + " " + sourcePath("tests/python/" + script) + " " + args;
    std::FILE* pipe = ::popen(cmd.c_str(), "r");
    if (!pipe) return -1;
    std::array<char, 4096> buf{};
    std::string out;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
    int status = ::pclose(pipe);
    if (output) *output = out;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string sourcePath(const std::string& relative) {
    return (std::filesystem::path(COALESCE_SOURCE_DIR) / relative).string();
}

bool haveFashionMnist() {
    return std::filesystem::exists(std::string(COALESCE_DATA_DIR) + "/fashion-mnist/train-images-idx3-ubyte.gz");
}

double relativeError(double a, double b) { return std::fabs(a - b) / std::max(std::fabs(b), 1e-300); }

Dataset fourGaussians(int64_t n, uint64_t seed) {
    auto gen = makeCpuGenerator(seed);
    auto corner = torch::randint(0, 4, {n}, gen, torch::kLong);
    auto means = torch::tensor({{2.0f, 2.0f}, {-2.0f, 2.0f}, {-2.0f, -2.0f}, {2.0f, -2.0f}});
    Dataset d;
    d.samples = means.index_select(0, corner) + 0.1 * torch::randn({n, 2}, gen, torch::kFloat);
    d.labels = corner;
    d.name = "four-gaussians";
    d.hash = "four-gaussians-" + std::to_string(seed) + "-" + std::to_string(n);
    return d;
}

}  // namespace coalesce::test
