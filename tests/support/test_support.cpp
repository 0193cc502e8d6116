#include "support/test_support.h"

#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>

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

}  // namespace coalesce::test
