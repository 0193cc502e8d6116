// `coalesce-cli launch --nproc N [--port P] -- <command> [options]`: starts N copies of this program on
// this machine as one data-parallel run (engine/train/data_parallel.h), the way torchrun does: each
// child gets RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1 and MASTER_PORT in its environment, which the
// training commands read. Ctrl-C or SIGTERM is passed on to every child (they stop together at the
// next iteration and checkpoint); when one child fails, the others are stopped (SIGTERM, then SIGKILL
// after a grace period) and the first failure's exit status is returned.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "core/error.h"

namespace coalesce::cli {

namespace {
std::vector<pid_t> g_children;
volatile std::sig_atomic_t g_interrupted = 0;  // the user asked every rank to stop (Ctrl-C, SIGTERM)

void forwardSignal(int signal) {
    for (pid_t pid : g_children)
        if (pid > 0) ::kill(pid, signal);
}

void onSignal(int signal) {
    g_interrupted = 1;
    forwardSignal(signal);
}

// A port nobody listens on now (the kernel's choice); rank 0 binds it a moment later.
int freePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw Error("launch: cannot open a socket to find a free port (give --port)");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        ::close(fd);
        throw Error("launch: cannot find a free port (give --port)");
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

long long parseCount(const std::string& flag, const std::string& value, long long low, long long high) {
    try {
        size_t used = 0;
        const long long n = std::stoll(value, &used);
        if (used == value.size() && n >= low && n <= high) return n;
    } catch (const std::exception&) {
    }
    throw Error("launch: " + flag + " must be an integer in " + std::to_string(low) + ".." + std::to_string(high) + ", got '" +
                value + "'");
}

const char* kUsage =
    "Usage: coalesce-cli launch --nproc N [--port P] [--grace S] -- <command> [options]\n"
    "Runs N processes of one data-parallel training run on this machine (e.g. -- run job.json, -- pretrain ...).\n"
    "  --nproc N   processes (ranks 0..N-1); give each one thread: --threads 1 after the command\n"
    "  --port P    rendezvous port on 127.0.0.1 (default: a free one)\n"
    "  --grace S   seconds a child may take to stop after another failed, before SIGKILL (default 30)\n";
}  // namespace

int runLaunch(const std::vector<std::string>& args) {
    long long nproc = 0, port = 0, grace = 30;
    size_t i = 0;
    for (; i < args.size() && args[i] != "--"; ++i) {
        const std::string& flag = args[i];
        if (flag == "--help" || flag == "-h") {
            std::printf("%s", kUsage);
            return 0;
        }
        if (i + 1 >= args.size() || args[i + 1] == "--") throw Error("launch: " + flag + " needs a value\n" + kUsage);
        const std::string& value = args[++i];
        if (flag == "--nproc") nproc = parseCount(flag, value, 1, 1024);
        else if (flag == "--port") port = parseCount(flag, value, 1, 65535);
        else if (flag == "--grace") grace = parseCount(flag, value, 0, 3600);
        else throw Error("launch: unknown option '" + flag + "'\n" + kUsage);
    }
    if (nproc == 0) throw Error(std::string("launch: --nproc N is required\n") + kUsage);
    if (i >= args.size() || i + 1 >= args.size()) throw Error(std::string("launch: no command after --\n") + kUsage);
    std::vector<std::string> command(args.begin() + static_cast<long>(i) + 1, args.end());
    if (command[0] == "launch" || command[0] == "experiment")
        throw Error("launch: '" + command[0] + "' does not run data-parallel (an experiment spreads its runs with --shard I/N)");
    if (port == 0) port = freePort();

    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) throw Error("launch: cannot find this program's path (/proc/self/exe)");
    self[n] = '\0';

    std::fprintf(stderr, "launch: %lld processes, rendezvous 127.0.0.1:%lld\n", nproc, port);
    g_children.assign(static_cast<size_t>(nproc), -1);
    for (long long rank = 0; rank < nproc; ++rank) {
        const pid_t pid = ::fork();
        if (pid < 0) {
            forwardSignal(SIGTERM);
            throw Error("launch: fork failed for rank " + std::to_string(rank));
        }
        if (pid == 0) {
            ::setenv("RANK", std::to_string(rank).c_str(), 1);
            ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
            ::setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
            ::setenv("MASTER_ADDR", "127.0.0.1", 1);
            ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
            std::vector<char*> argv{self};
            for (auto& a : command) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(self, argv.data());
            std::perror("launch: exec");
            ::_exit(127);
        }
        g_children[static_cast<size_t>(rank)] = pid;
    }
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);

    int firstFailure = 0;
    long long running = nproc;
    auto stopDeadline = std::chrono::steady_clock::time_point::max();
    while (running > 0) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid < 0) break;
        if (pid == 0) {
            if (std::chrono::steady_clock::now() > stopDeadline) {
                std::fprintf(stderr, "launch: a process did not stop within %lld s: killing it\n", grace);
                forwardSignal(SIGKILL);
                stopDeadline = std::chrono::steady_clock::time_point::max();
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            continue;
        }
        --running;
        long long rank = -1;
        for (size_t r = 0; r < g_children.size(); ++r)
            if (g_children[r] == pid) {
                rank = static_cast<long long>(r);
                g_children[r] = -1;
            }
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (code != 0 && firstFailure == 0) {
            firstFailure = code;
            if (g_interrupted) continue;  // every rank was told to stop and checkpoints at the same step
            std::fprintf(stderr, "launch: rank %lld %s %d; stopping the other processes\n", rank,
                         WIFEXITED(status) ? "exited with status" : "was killed by signal",
                         WIFEXITED(status) ? code : WTERMSIG(status));
            forwardSignal(SIGTERM);
            stopDeadline = std::chrono::steady_clock::now() + std::chrono::seconds(grace);
        }
    }
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    return firstFailure;
}

}  // namespace coalesce::cli
