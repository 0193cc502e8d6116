// Runs a user's TorchScript generator in a separate worker process (`coalesce-torchscript-worker`,
// app/worker/): loading a TorchScript module compiles its code and sampling runs it, which is code
// execution — a hostile or broken module must not crash, hang or read the memory of the process that
// trains (or of the GUI). The worker is started with posix_spawn (no fork of a multi-threaded process),
// talks over a socket pair, and every answer has a time limit: a module that hangs is killed after
// `timeoutSeconds`, one that crashes is reported with its signal, one that throws with its message.
//
// Reading weights (`coalesce-torchscript-worker --weights-server`, one long-lived process for all the
// TorchScript files this process reads: starting one costs ~0.3 s, mostly loading LibTorch):
//   parent → request: u32 length + JSON {"archive": PATH, "result": PATH, "name": FILE}
//   worker → answer:  u32 length + JSON {"ok": true} (RESULT holds the parameters and buffers as
//                     safetensors) or {"ok": false, "error": "..."}; then it waits for the next request.
//
// Sampling (little-endian; `coalesce-torchscript-worker MODEL [--latent-dim N]`, stdin/stdout = socket):
//   worker → hello:   u32 length + JSON {"ok": true, "latent_dim": L, "shape": [C, H, W]} (a probe batch of
//                     2 ran) or {"ok": false, "error": "..."} (then it exits)
//   parent → request: i64 n (0 = quit), then n·L float32 latents
//   worker → answer:  u32 length + JSON {"ok": true, "shape": [n, C, H, W]} then the float32 outputs, or
//                     {"ok": false, "error": "..."} (the worker keeps serving)
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "core/error.h"

namespace coalesce {

// The worker program: $COALESCE_TORCHSCRIPT_WORKER, else coalesce-torchscript-worker next to the running
// executable, else in ../app/ from it (the build tree's tests). Error saying where it looked if none.
std::string torchScriptWorkerProgram();

// The message frame both ends use: u32 length (little-endian) + JSON text, at most kMaxWorkerMessage bytes
// (headers only; tensors follow them raw). Invalid UTF-8 is replaced, never an exception: LibTorch's
// messages quote a damaged archive's code/*.py, and file names need not be UTF-8.
constexpr uint32_t kMaxWorkerMessage = 1u << 20;
std::string frameWorkerMessage(const nlohmann::json& message);

// The worker program as a child process: started with posix_spawn with `args`, stdin and stdout a socket
// pair, stderr /dev/null. Reads have a time limit; a worker that is lost (died, hung, broke the protocol)
// is reported as WorkerProcess::Lost with one line saying what happened (the caller names the file).
class WorkerProcess {
public:
    struct Lost : Error {
        Lost(const std::string& why, int signal) : Error(why), signal(signal) {}
        int signal;  // the signal that ended the worker, 0 if none
    };
    explicit WorkerProcess(const std::vector<std::string>& args);
    ~WorkerProcess();  // closes the socket (the worker's cue to quit), kills it if it has not within a second
    WorkerProcess(const WorkerProcess&) = delete;
    WorkerProcess& operator=(const WorkerProcess&) = delete;

    void write(const void* data, size_t size);
    void writeMessage(const nlohmann::json& message);
    void read(void* data, size_t size, double timeoutSeconds, const char* what);
    nlohmann::json readMessage(double timeoutSeconds, const char* what);
    // True while the process has not exited (it may still be hung).
    bool running();
    int pid() const { return pid_; }
    const std::string& program() const { return program_; }

private:
    [[noreturn]] void lose(const std::string& why);
    std::string exitDescription();

    std::string program_;
    int fd_ = -1;
    int pid_ = -1;
    int exitSignal_ = 0;
};

// Reads a TorchScript archive's parameters and buffers in the long-lived weights worker: `archive` is the
// file the worker loads, `result` where it writes them (safetensors), `name` the file named in messages.
// One request at a time (thread-safe); a worker that crashed, hung (`timeoutSeconds`) or exited is
// replaced by a fresh one for the next request. Errors: the worker's message, or what became of it.
void readTorchScriptWeightsInWorker(const std::string& archive, const std::string& result, const std::string& name,
                                    double timeoutSeconds);

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
    int pid() const { return process_ ? process_->pid() : -1; }

    // z: n×L float (CPU) → the module's n×C×H×W float32 output (CPU). After a timeout or a crash the
    // worker is gone and every later call fails with the same error.
    torch::Tensor run(const torch::Tensor& z);

private:
    [[noreturn]] void fail(const std::string& why);

    std::string path_;
    double timeout_;
    std::unique_ptr<WorkerProcess> process_;
    int64_t latentDim_ = 0;
    std::vector<int64_t> shape_;
    std::string broken_;  // set once the worker is lost: every later call reports it
};

}  // namespace coalesce
