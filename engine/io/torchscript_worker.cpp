#include "io/torchscript_worker.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>

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

std::string frameWorkerMessage(const nlohmann::json& message) {
    const std::string text = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    const auto length = static_cast<uint32_t>(text.size());
    std::string frame(reinterpret_cast<const char*>(&length), sizeof length);
    return frame + text;
}

// --- WorkerProcess ------------------------------------------------------------------------------------
WorkerProcess::WorkerProcess(const std::vector<std::string>& args) : program_(torchScriptWorkerProgram()) {
    int sockets[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0)
        throw Error(std::string("cannot create a socket to talk to the TorchScript worker: ") + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, sockets[1], 0);
    posix_spawn_file_actions_adddup2(&actions, sockets[1], 1);
    // LibTorch's own messages about a broken module would clutter the caller's output; the worker
    // reports what went wrong in the protocol.
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    std::vector<std::string> all{program_};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, program_.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(sockets[1]);
    if (rc != 0) {
        ::close(sockets[0]);
        throw Error("cannot start " + program_ + ": " + std::strerror(rc));
    }
    fd_ = sockets[0];
    pid_ = pid;
}

WorkerProcess::~WorkerProcess() {
    if (fd_ >= 0) ::close(fd_);
    if (pid_ > 0) {
        int status = 0;
        for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) ::usleep(10'000);
        if (::waitpid(pid_, &status, WNOHANG) == 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
        }
    }
}

bool WorkerProcess::running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return true;
    pid_ = -1;
    return false;
}

std::string WorkerProcess::exitDescription() {
    if (pid_ <= 0) return "it is gone";
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 200 && (done = ::waitpid(pid_, &status, WNOHANG)) == 0; ++i) ::usleep(10'000);
    if (done != pid_) return "it stopped answering";
    pid_ = -1;
    if (WIFSIGNALED(status)) {
        exitSignal_ = WTERMSIG(status);
        return "it crashed (signal " + std::to_string(exitSignal_) + ")";
    }
    if (WIFEXITED(status)) return "it exited with code " + std::to_string(WEXITSTATUS(status));
    return "it ended";
}

void WorkerProcess::lose(const std::string& why) {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }
    throw Lost(why, exitSignal_);
}

void WorkerProcess::read(void* data, size_t size, double timeoutSeconds, const char* what) {
    auto* out = static_cast<char*>(data);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeoutSeconds);
    while (size > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) {
            char limit[32];
            std::snprintf(limit, sizeof limit, "%g", timeoutSeconds);
            lose(std::string("no answer within ") + limit + " s while " + what + " (the module hangs or is far too slow); the worker was stopped");
        }
        pollfd p{fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
        if (ready < 0 && errno != EINTR) lose(std::string("lost the worker while ") + what + ": " + std::strerror(errno));
        if (ready <= 0) continue;
        const ssize_t got = ::recv(fd_, out, size, 0);
        if (got == 0) lose(std::string("the worker died while ") + what + ": " + exitDescription());
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            if (errno == ECONNRESET) lose(std::string("the worker died while ") + what + ": " + exitDescription());
            lose(std::string("lost the worker while ") + what + ": " + std::strerror(errno));
        }
        out += got;
        size -= static_cast<size_t>(got);
    }
}

void WorkerProcess::write(const void* data, size_t size) {
    const auto* in = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t sent = ::send(fd_, in, size, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            lose("the worker is gone (" + exitDescription() + ")");
        }
        in += sent;
        size -= static_cast<size_t>(sent);
    }
}

void WorkerProcess::writeMessage(const nlohmann::json& message) {
    const std::string frame = frameWorkerMessage(message);
    write(frame.data(), frame.size());
}

nlohmann::json WorkerProcess::readMessage(double timeoutSeconds, const char* what) {
    uint32_t length = 0;
    read(&length, sizeof length, timeoutSeconds, what);
    if (length == 0 || length > kMaxWorkerMessage) lose("the worker sent a malformed message");
    std::string text(length, '\0');
    read(text.data(), length, timeoutSeconds, what);
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
        lose("the worker sent a malformed message");
    }
}

// --- the weights worker ----------------------------------------------------------------------------
void readTorchScriptWeightsInWorker(const std::string& archive, const std::string& result, const std::string& name,
                                    double timeoutSeconds) {
    // Never destroyed: at exit the kernel closes the socket and the worker, reading EOF, quits; a
    // destructor could run while another thread is still inside a read.
    static std::mutex* mutex = new std::mutex;
    static WorkerProcess* worker = nullptr;
    std::lock_guard<std::mutex> lock(*mutex);
    auto replace = [&] {
        delete worker;
        worker = nullptr;
    };
    nlohmann::json answer;
    try {
        // A worker that has exited, or one of another program ($COALESCE_TORCHSCRIPT_WORKER changed), is replaced.
        if (worker && (!worker->running() || worker->program() != torchScriptWorkerProgram())) replace();
        if (!worker) worker = new WorkerProcess({"--weights-server"});
        worker->writeMessage({{"archive", archive}, {"result", result}, {"name", name}});
        answer = worker->readMessage(timeoutSeconds, "reading the archive");
    } catch (const WorkerProcess::Lost& lost) {
        replace();
        if (lost.signal != 0)
            throw Error(name + ": LibTorch crashed while reading this TorchScript archive (signal " + std::to_string(lost.signal) +
                        "); the file is damaged or not a valid TorchScript module");
        throw Error(name + ": reading the TorchScript archive failed: " + lost.what());
    } catch (const Error& e) {  // no worker program, or it cannot start
        replace();
        throw Error(name + ": cannot read the TorchScript archive: " + e.what());
    }
    if (!answer.value("ok", false)) {
        // An archive LibTorch refused may have left its state anywhere: the next file gets a fresh worker.
        replace();
        const nlohmann::json error = answer.value("error", nlohmann::json());
        throw Error(error.is_string() ? error.get<std::string>() : name + ": cannot read the TorchScript module");
    }
}

// --- TorchScriptWorker (sampling) ---------------------------------------------------------------------
TorchScriptWorker::TorchScriptWorker(const std::string& modelPath, int64_t latentDim, double timeoutSeconds)
    : path_(modelPath), timeout_(timeoutSeconds) {
    if (!(timeoutSeconds > 0) || timeoutSeconds > 86400)
        throw Error(modelPath + ": the worker time limit must be in (0, 86400] seconds, got " + std::to_string(timeoutSeconds));
    if (latentDim < 0 || latentDim > 65536) throw Error(modelPath + ": latent_dim must be in 1..65536 (or 0: read it from the module)");
    std::error_code ec;
    if (!fs::is_regular_file(modelPath, ec)) throw Error(modelPath + ": no such file");
    std::vector<std::string> args{modelPath};
    if (latentDim > 0) {
        args.push_back("--latent-dim");
        args.push_back(std::to_string(latentDim));
    }
    try {
        process_ = std::make_unique<WorkerProcess>(args);
    } catch (const Error& e) {
        throw Error(modelPath + ": " + e.what());
    }
    nlohmann::json hello;
    try {
        hello = process_->readMessage(timeout_, "loading the module");
    } catch (const WorkerProcess::Lost& lost) {
        fail(lost.what());
    }
    if (!hello.value("ok", false)) {
        const std::string why = hello.value("error", std::string("unknown error"));
        process_.reset();
        throw Error(modelPath + ": " + why);
    }
    try {
        latentDim_ = hello.at("latent_dim").get<int64_t>();
        shape_ = hello.at("shape").get<std::vector<int64_t>>();
    } catch (const nlohmann::json::exception&) {
        process_.reset();
        throw Error(modelPath + ": the TorchScript worker sent a malformed hello");
    }
}

TorchScriptWorker::~TorchScriptWorker() {
    if (process_ && broken_.empty()) {
        const int64_t quit = 0;
        try {
            process_->write(&quit, sizeof quit);
        } catch (const Error&) {
        }
    }
}

void TorchScriptWorker::fail(const std::string& why) {
    broken_ = path_ + ": TorchScript source: " + why;
    process_.reset();
    throw Error(broken_);
}

torch::Tensor TorchScriptWorker::run(const torch::Tensor& z) {
    if (!broken_.empty()) throw Error(broken_);
    if (z.dim() != 2 || z.size(1) != latentDim_)
        throw Error(path_ + ": TorchScript source expects latents n×" + std::to_string(latentDim_) + ", got " +
                    c10::str(z.sizes()));
    const auto latents = z.to(torch::kCPU, torch::kFloat).contiguous();
    const int64_t n = latents.size(0);
    if (n == 0) return torch::empty({0, shape_[0], shape_[1], shape_[2]});
    try {
        process_->write(&n, sizeof n);
        process_->write(latents.data_ptr<float>(), static_cast<size_t>(latents.numel()) * sizeof(float));
        const nlohmann::json answer = process_->readMessage(timeout_, "sampling");
        if (!answer.value("ok", false))
            throw Error(path_ + ": the TorchScript module failed: " + answer.value("error", std::string("unknown error")));
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
        process_->read(out.data_ptr<float>(), static_cast<size_t>(out.numel()) * sizeof(float), timeout_, "sampling");
        return out;
    } catch (const WorkerProcess::Lost& lost) {
        fail(lost.what());
    }
}

}  // namespace coalesce
