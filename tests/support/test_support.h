// Helpers shared by the test suites: scratch directories, Python golden-value scripts, tiny data.
#pragma once
#include <string>

#include <torch/torch.h>

#include "data/dataset.h"

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
// n 2-D points from four Gaussians at (±2, ±2), std 0.1 (the toy trainer tests' data).
Dataset fourGaussians(int64_t n, uint64_t seed);

}  // namespace coalesce::test
