#include "io/torchscript_worker.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <torch/torch.h>

#include "core/error.h"

extern char** environ;

namespace coalesce {

namespace fs = std::filesystem;

namespace {

constexpr const char* kProgram = "coalesce-torchscript-worker";
constexpr uint32_t kMaxMessage = 1u << 20;  // JSON headers only; tensors follow them

bool isExecutable(const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

std::string shapeText(const std::vector<int64_t>& shape) {
    std::string s;
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? "×" : "") + std::to_string(shape[i]);
    return s;
}

}  // namespace

std::string torchScriptWorkerProgram() {
    if (const char* env = std::getenv("COALESCE_TORCHSCRIPT_WORKER"); env && *env) {
        if (!isExecutable(env)) throw Error(std::string("COALESCE_TORCHSCRIPT_WORKER=") + env + " is not an executable file");
        return env;
    }
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    std::vector<fs::path> tried;
    if (!ec) {
        tried = {self.parent_path() / kProgram, self.parent_path().parent_path() / "app" / kProgram};
        for (const auto& p : tried)
            if (isExecutable(p)) return p.string();
    }
    std::string where;
    for (const auto& p : tried) where += (where.empty() ? "" : ", ") + p.string();
    throw Error(std::string("cannot find the ") + kProgram + " program (looked at " + (where.empty() ? "nothing" : where) +
                "); it is built with coalesce-cli, or set COALESCE_TORCHSCRIPT_WORKER to its path");
}

TorchScriptWorker::TorchScriptWorker(const std::string& modelPath, int64_t latentDim, double timeoutSeconds)
    : path_(modelPath), timeout_(timeoutSeconds) {
    if (!(timeoutSeconds > 0) || timeoutSeconds > 86400)
        throw Error(modelPath + ": the worker time limit must be in (0, 86400] seconds, got " + std::to_string(timeoutSeconds));
    if (latentDim < 0 || latentDim > 65536) throw Error(modelPath + ": latent_dim must be in 1..65536 (or 0: read it from the module)");
    std::error_code ec;
    if (!fs::is_regular_file(modelPath, ec)) throw Error(modelPath + ": no such file");
    const std::string program = torchScriptWorkerProgram();

    int sockets[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0)
        throw Error(modelPath + ": cannot create a socket to talk to the TorchScript worker: " + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, sockets[1], 0);
    posix_spawn_file_actions_adddup2(&actions, sockets[1], 1);
    // LibTorch's own messages about a broken module would clutter the caller's output; the worker
    // reports what went wrong in the protocol.
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    std::vector<std::string> args{program, modelPath};
    if (latentDim > 0) {
        args.push_back("--latent-dim");
        args.push_back(std::to_string(latentDim));
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(sockets[1]);
    if (rc != 0) {
        ::close(sockets[0]);
        throw Error(modelPath + ": cannot start " + program + ": " + std::strerror(rc));
    }
    fd_ = sockets[0];
    pid_ = pid;

    const nlohmann::json hello = readMessage("loading the module");
    if (!hello.value("ok", false)) {
        const std::string why = hello.value("error", std::string("unknown error"));
        stop();
        throw Error(modelPath + ": " + why);
    }
    try {
        latentDim_ = hello.at("latent_dim").get<int64_t>();
        shape_ = hello.at("shape").get<std::vector<int64_t>>();
    } catch (const nlohmann::json::exception&) {
        stop();
        throw Error(modelPath + ": the TorchScript worker sent a malformed hello");
    }
}

TorchScriptWorker::~TorchScriptWorker() {
    if (fd_ >= 0 && broken_.empty()) {
        const int64_t quit = 0;
        (void)::send(fd_, &quit, sizeof quit, MSG_NOSIGNAL);
    }
    stop();
}

void TorchScriptWorker::stop() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (pid_ > 0) {
        int status = 0;
        for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) ::usleep(10'000);
        if (::waitpid(pid_, &status, WNOHANG) == 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
        }
    }
    pid_ = -1;
}

std::string TorchScriptWorker::exitDescription() {
    if (pid_ <= 0) return "it is gone";
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 200 && (done = ::waitpid(pid_, &status, WNOHANG)) == 0; ++i) ::usleep(10'000);
    if (done != pid_) return "it stopped answering";
    pid_ = -1;
    if (WIFSIGNALED(status)) return "it crashed (signal " + std::to_string(WTERMSIG(status)) + ")";
    if (WIFEXITED(status)) return "it exited with code " + std::to_string(WEXITSTATUS(status));
    return "it ended";
}

void TorchScriptWorker::fail(const std::string& why) {
    broken_ = path_ + ": TorchScript source: " + why;
    if (pid_ > 0) ::kill(pid_, SIGKILL);
    stop();
    throw Error(broken_);
}

void TorchScriptWorker::readExactly(void* data, size_t size, const char* what) {
    auto* out = static_cast<char*>(data);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_);
    while (size > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) {
            char limit[32];
            std::snprintf(limit, sizeof limit, "%g", timeout_);
            fail(std::string("no answer within ") + limit + " s while " + what + " (the module hangs or is far too slow); the worker was stopped");
        }
        pollfd p{fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
        if (ready < 0 && errno != EINTR) fail(std::string("lost the worker while ") + what + ": " + std::strerror(errno));
        if (ready <= 0) continue;
        const ssize_t got = ::recv(fd_, out, size, 0);
        if (got == 0) fail(std::string("the worker died while ") + what + ": " + exitDescription());
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            if (errno == ECONNRESET) fail(std::string("the worker died while ") + what + ": " + exitDescription());
            fail(std::string("lost the worker while ") + what + ": " + std::strerror(errno));
        }
        out += got;
        size -= static_cast<size_t>(got);
    }
}

void TorchScriptWorker::writeExactly(const void* data, size_t size) {
    const auto* in = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t sent = ::send(fd_, in, size, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            fail("the worker is gone (" + exitDescription() + ")");
        }
        in += sent;
        size -= static_cast<size_t>(sent);
    }
}

nlohmann::json TorchScriptWorker::readMessage(const char* what) {
    uint32_t length = 0;
    readExactly(&length, sizeof length, what);
    if (length == 0 || length > kMaxMessage) fail("the worker sent a malformed message");
    std::string text(length, '\0');
    readExactly(text.data(), length, what);
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
        fail("the worker sent a malformed message");
    }
}

torch::Tensor TorchScriptWorker::run(const torch::Tensor& z) {
    if (!broken_.empty()) throw Error(broken_);
    if (z.dim() != 2 || z.size(1) != latentDim_)
        throw Error(path_ + ": TorchScript source expects latents n×" + std::to_string(latentDim_) + ", got " +
                    c10::str(z.sizes()));
    const auto latents = z.to(torch::kCPU, torch::kFloat).contiguous();
    const int64_t n = latents.size(0);
    if (n == 0) return torch::empty({0, shape_[0], shape_[1], shape_[2]});
    writeExactly(&n, sizeof n);
    writeExactly(latents.data_ptr<float>(), static_cast<size_t>(latents.numel()) * sizeof(float));
    const nlohmann::json answer = readMessage("sampling");
    if (!answer.value("ok", false)) throw Error(path_ + ": the TorchScript module failed: " + answer.value("error", std::string("unknown error")));
    std::vector<int64_t> shape;
    try {
        shape = answer.at("shape").get<std::vector<int64_t>>();
    } catch (const nlohmann::json::exception&) {
        fail("the worker sent a malformed answer");
    }
    const std::vector<int64_t> expected{n, shape_[0], shape_[1], shape_[2]};
    if (shape != expected)
        fail("the module's output changed shape: " + shapeText(shape) + " for a batch of " + std::to_string(n) +
             ", expected " + shapeText(expected));
    auto out = torch::empty(shape, torch::kFloat);
    readExactly(out.data_ptr<float>(), static_cast<size_t>(out.numel()) * sizeof(float), "sampling");
    return out;
}

}  // namespace coalesce
