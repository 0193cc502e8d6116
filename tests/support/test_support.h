// Helpers shared by the test suites: scratch directories, Python golden-value scripts, tiny data.
#pragma once
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/job.h"
#include "data/dataset.h"
#include "models/networks.h"

namespace coalesce::test {

// A fresh empty directory under the test work dir, unique per call (removed at the next run).
std::string scratchDir(const std::string& name);
// Runs Debian's python3 on tests/python/<script> with args; returns exit code, stdout into *output.
int runPython(const std::string& script, const std::string& args, std::string* output = nullptr);
// Path of a file in the source tree (e.g. "tests/data/x.png").
std::string sourcePath(const std::string& relative);
// True if Debian's Fashion-MNIST package is installed (tests that need it QSKIP otherwise).
bool haveFashionMnist();
// Relative error |a-b| / max(|b|, tiny).
double relativeError(double a, double b);
// A file's bytes ("" if it cannot be read) / a file replaced by bytes.
std::string readBytes(const std::string& path);
void writeBytes(const std::string& path, const std::string& bytes);
bool contains(const std::string& text, const std::string& part);
// A big-endian 32-bit word (IDX headers).
void writeBigEndian32(std::ostream& out, uint32_t value);
// max |a - b| in double precision.
double maxAbsDiff(const torch::Tensor& a, const torch::Tensor& b);
// All elements in row-major order, as doubles.
std::vector<double> toDoubles(const torch::Tensor& t);
// A tensor as a text matrix (one row per line, rows = first dimension) for the Python reference scripts.
void writeMatrixText(const std::string& path, const torch::Tensor& t);
// Every tensor of a .safetensors file, by name.
std::map<std::string, torch::Tensor> readSafetensorsTensors(const std::string& path);
// n 2-D points from four Gaussians at (±2, ±2), std 0.1 (the toy trainer tests' data).
Dataset fourGaussians(int64_t n, uint64_t seed);
// Exact W1 between n samples of g (fixed seed, eval mode) and the first n points of data.
double exactW1ToData(Generator& g, const Dataset& data, int64_t n = 500);
// A job observer that ignores everything.
struct SilentObserver : JobObserver {};

}  // namespace coalesce::test
