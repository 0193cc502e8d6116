// Runs a user's TorchScript generator in a separate worker process (`coalesce-torchscript-worker`,
// app/worker/): loading a TorchScript module compiles its code and sampling runs it, which is code
// execution — a hostile or broken module must not crash, hang or read the memory of the process that
// trains (or of the GUI). The worker is started with posix_spawn (no fork of a multi-threaded process),
// talks over a socket pair, and every answer has a time limit: a module that hangs is killed after
// `timeoutSeconds`, one that crashes is reported with its signal, one that throws with its message.
//
// Protocol (little-endian; `coalesce-torchscript-worker MODEL [--latent-dim N]`, stdin/stdout = socket):
//   worker → hello:   u32 length + JSON {"ok": true, "latent_dim": L, "shape": [C, H, W]} (a probe batch of
//                     2 ran) or {"ok": false, "error": "..."} (then it exits)
//   parent → request: i64 n (0 = quit), then n·L float32 latents
//   worker → answer:  u32 length + JSON {"ok": true, "shape": [n, C, H, W]} then the float32 outputs, or
//                     {"ok": false, "error": "..."} (the worker keeps serving)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

namespace coalesce {

// The worker program: $COALESCE_TORCHSCRIPT_WORKER, else coalesce-torchscript-worker next to the running
// executable, else in ../app/ from it (the build tree's tests). Error saying where it looked if none.
std::string torchScriptWorkerProgram();

class TorchScriptWorker {
public:
    // Starts the worker on `modelPath` and waits (up to timeoutSeconds) for its hello; latentDim 0 = read
    // the module's integer attribute `latent_dim`. Errors name the file and say what went wrong.
    TorchScriptWorker(const std::string& modelPath, int64_t latentDim, double timeoutSeconds);
    ~TorchScriptWorker();  // asks the worker to quit, kills it if it does not within a second
    TorchScriptWorker(const TorchScriptWorker&) = delete;
    TorchScriptWorker& operator=(const TorchScriptWorker&) = delete;

    int64_t latentDim() const { return latentDim_; }
    const std::vector<int64_t>& outputShape() const { return shape_; }  // {C, H, W} of one sample
    const std::string& modelPath() const { return path_; }
    int pid() const { return pid_; }

    // z: n×L float (CPU) → the module's n×C×H×W float32 output (CPU). After a timeout or a crash the
    // worker is gone and every later call fails with the same error.
    torch::Tensor run(const torch::Tensor& z);

private:
    nlohmann::json readMessage(const char* what);
    void readExactly(void* data, size_t size, const char* what);
    void writeExactly(const void* data, size_t size);
    [[noreturn]] void fail(const std::string& why);
    std::string exitDescription();
    void stop();

    std::string path_;
    double timeout_;
    int fd_ = -1;
    int pid_ = -1;
    int64_t latentDim_ = 0;
    std::vector<int64_t> shape_;
    std::string broken_;  // set once the worker is lost: every later call reports it
};

}  // namespace coalesce
