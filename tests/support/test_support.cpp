#include "support/test_support.h"

#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "io/safetensors.h"
#include "metrics/optimal_transport.h"
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

std::string readBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void writeBytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void writeBigEndian32(std::ostream& out, uint32_t value) {
    const unsigned char b[4] = {static_cast<unsigned char>(value >> 24), static_cast<unsigned char>(value >> 16),
                                static_cast<unsigned char>(value >> 8), static_cast<unsigned char>(value)};
    out.write(reinterpret_cast<const char*>(b), 4);
}

double maxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

std::vector<double> toDoubles(const torch::Tensor& t) {
    auto flat = t.to(torch::kDouble).contiguous().view(-1);
    return std::vector<double>(flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
}

void writeMatrixText(const std::string& path, const torch::Tensor& t) {
    auto m = t.to(torch::kDouble).reshape({t.size(0), -1}).contiguous();
    std::ofstream out(path);
    out.precision(17);
    for (int64_t i = 0; i < m.size(0); ++i) {
        for (int64_t j = 0; j < m.size(1); ++j) out << (j ? " " : "") << m[i][j].item<double>();
        out << '\n';
    }
}

std::map<std::string, torch::Tensor> readSafetensorsTensors(const std::string& path) {
    SafetensorsFile f = readSafetensorsFile(path);
    std::map<std::string, torch::Tensor> out;
    for (const auto& e : f.entries) out[e.name] = f.tensor(e);
    return out;
}

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

double exactW1ToData(Generator& g, const Dataset& data, int64_t n) {
    torch::NoGradGuard noGrad;
    auto gen = makeCpuGenerator(99);
    g->eval();
    torch::Tensor fake = g->forward(g->sampleLatent(n, gen));
    g->train();
    return exactW1(fake, data.samples.narrow(0, 0, n)).value;
}

}  // namespace coalesce::test
