#include "train/data_parallel.h"

#include <chrono>
#include <cmath>

#include <torch/torch.h>

#if __has_include(<gloo/algorithm.h>)
#define USE_C10D_GLOO 1  // what torch/csrc/distributed/c10d/ProcessGroupGloo.hpp is guarded by
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#define COALESCE_HAVE_GLOO 1
#endif

#include "core/error.h"

namespace coalesce {

namespace {
enum CollectiveKind { kAverage = 0, kBroadcast = 1, kMax = 2, kBarrier = 3 };

std::string firstLineOf(const std::string& s) { return s.substr(0, s.find('\n')); }

std::pair<std::string, int> splitHostPort(const std::string& rendezvous, const std::string& context) {
    const size_t colon = rendezvous.rfind(':');
    int port = -1;
    if (colon != std::string::npos && colon > 0) {
        try {
            size_t used = 0;
            port = std::stoi(rendezvous.substr(colon + 1), &used);
            if (used != rendezvous.size() - colon - 1) port = -1;
        } catch (const std::exception&) {
            port = -1;
        }
    }
    if (port < 1 || port > 65535)
        throw Error(context + ": rendezvous must be HOST:PORT (port 1..65535), got \"" + rendezvous + "\"");
    return {rendezvous.substr(0, colon), port};
}

bool isLoopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1"; }
}  // namespace

DistributedOptions DistributedOptions::fromJson(const nlohmann::json& j, const std::string& context) {
    if (!j.is_object()) throw Error(context + ": must be an object {\"world_size\": N, \"rank\": R, \"rendezvous\": \"HOST:PORT\"}");
    DistributedOptions o;
    for (const auto& item : j.items())
        if (item.key() != "world_size" && item.key() != "rank" && item.key() != "rendezvous" && item.key() != "timeout_s")
            throw Error(context + ": unknown key \"" + item.key() + "\" (world_size, rank, rendezvous, timeout_s)");
    auto integer = [&](const char* key, int64_t fallback) -> int64_t {
        if (!j.contains(key)) return fallback;
        if (!j.at(key).is_number_integer()) throw Error(context + ": " + key + " must be an integer");
        return j.at(key).get<int64_t>();
    };
    const int64_t world = integer("world_size", 1), rank = integer("rank", 0);
    if (world < 1 || world > 4096) throw Error(context + ": world_size must be in 1..4096, got " + std::to_string(world));
    if (rank < 0 || rank >= world)
        throw Error(context + ": rank must be in 0.." + std::to_string(world - 1) + " (world_size " + std::to_string(world) +
                    "), got " + std::to_string(rank));
    o.worldSize = static_cast<int>(world);
    o.rank = static_cast<int>(rank);
    if (j.contains("rendezvous")) {
        if (!j.at("rendezvous").is_string()) throw Error(context + ": rendezvous must be a string \"HOST:PORT\"");
        o.rendezvous = j.at("rendezvous").get<std::string>();
    }
    if (j.contains("timeout_s")) {
        if (!j.at("timeout_s").is_number()) throw Error(context + ": timeout_s must be a number of seconds");
        o.timeoutSeconds = j.at("timeout_s").get<double>();
        if (!std::isfinite(o.timeoutSeconds) || o.timeoutSeconds < 1 || o.timeoutSeconds > 86400)
            throw Error(context + ": timeout_s must be in 1..86400 seconds");
    }
    if (o.enabled()) splitHostPort(o.rendezvous, context);  // validated now, not at connection time
    return o;
}

nlohmann::json DistributedOptions::toJson() const {
    return {{"world_size", worldSize}, {"rank", rank}, {"rendezvous", rendezvous}, {"timeout_s", timeoutSeconds}};
}

#ifdef COALESCE_HAVE_GLOO
bool dataParallelAvailable() { return true; }

struct DataParallel::Group {
    c10::intrusive_ptr<c10d::TCPStore> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

DataParallel::DataParallel(const DistributedOptions& options) : options_(options), group_(std::make_unique<Group>()) {
    const std::string who = "data-parallel rank " + std::to_string(options.rank) + " of " + std::to_string(options.worldSize);
    const auto [host, port] = splitHostPort(options.rendezvous, who);
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(options.timeoutSeconds * 1000));
    try {
        c10d::TCPStoreOptions storeOptions;
        storeOptions.port = static_cast<std::uint16_t>(port);
        storeOptions.isServer = options.rank == 0;
        storeOptions.numWorkers = static_cast<size_t>(options.worldSize);
        storeOptions.waitWorkers = true;
        storeOptions.timeout = timeout;
        group_->store = c10::make_intrusive<c10d::TCPStore>(host, storeOptions);
        auto groupOptions = c10d::ProcessGroupGloo::Options::create(timeout);
        // Where this rank listens for its peers: GLOO_SOCKET_IFNAME as in PyTorch; on one machine the
        // loopback; otherwise the address this host's name resolves to.
        if (const char* iface = std::getenv("GLOO_SOCKET_IFNAME"); iface && *iface)
            groupOptions->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
        else if (isLoopback(host))
            groupOptions->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
        else
            groupOptions->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
        groupOptions->threads = 1;  // one collective at a time: the trainer waits on each
        group_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, options.rank, options.worldSize, groupOptions);
    } catch (const std::exception& e) {
        throw Error(who + ": could not join the run at " + options.rendezvous + " within " +
                    std::to_string(static_cast<int>(options.timeoutSeconds)) + " s (" + firstLineOf(e.what()) +
                    "); every rank must start with the same rendezvous and world size, and rank 0 must be reachable there");
    }
}

DataParallel::~DataParallel() = default;

void DataParallel::collective(const std::string& what, const std::vector<at::Tensor>& buffers, int kind) {
    std::vector<at::Tensor> tensors = buffers;
    try {
        c10::intrusive_ptr<c10d::Work> work;
        switch (kind) {
            case kAverage:
            case kMax: {
                c10d::AllreduceOptions o;
                o.reduceOp = kind == kMax ? c10d::ReduceOp::MAX : c10d::ReduceOp::SUM;
                work = group_->group->allreduce(tensors, o);
                break;
            }
            case kBroadcast:
                work = group_->group->broadcast(tensors, c10d::BroadcastOptions{});
                break;
            default:
                work = group_->group->barrier(c10d::BarrierOptions{});
        }
        work->wait();
    } catch (const std::exception& e) {
        throw PeerLost("data-parallel rank " + std::to_string(rank()) + " of " + std::to_string(worldSize()) + ": " + what +
                    " failed (" + firstLineOf(e.what()) + "): another rank stopped, was killed or cannot be reached");
    }
}
#else
bool dataParallelAvailable() { return false; }
struct DataParallel::Group {};
DataParallel::DataParallel(const DistributedOptions& options) : options_(options) {
    throw Error("data-parallel training needs c10d's Gloo backend: this build found no Gloo headers "
                "(Debian: apt-get install libgloo-dev, then rebuild)");
}
DataParallel::~DataParallel() = default;
void DataParallel::collective(const std::string&, const std::vector<at::Tensor>&, int) {}
#endif

std::pair<int64_t, int64_t> DataParallel::share(int64_t globalBatch) const {
    if (globalBatch % worldSize() != 0)
        throw Error("data-parallel: the batch size " + std::to_string(globalBatch) + " does not divide among " +
                    std::to_string(worldSize()) + " processes (choose a multiple of " + std::to_string(worldSize()) + ")");
    const int64_t count = globalBatch / worldSize();
    return {count * rank(), count};
}

namespace {
// One contiguous buffer per call (a "bucket"): one collective instead of one per tensor.
at::Tensor flatten(const std::vector<at::Tensor>& tensors) {
    std::vector<at::Tensor> flat;
    flat.reserve(tensors.size());
    for (const auto& t : tensors) flat.push_back(t.reshape({-1}).to(torch::kFloat));
    return torch::cat(flat);
}

void unflatten(const at::Tensor& buffer, const std::vector<at::Tensor>& tensors) {
    int64_t offset = 0;
    torch::NoGradGuard noGrad;
    for (const auto& t : tensors) {
        t.copy_(buffer.narrow(0, offset, t.numel()).view(t.sizes()));
        offset += t.numel();
    }
}
}  // namespace

void DataParallel::averageGradients(const std::vector<at::Tensor>& parameters, const std::string& what) {
    std::vector<at::Tensor> grads;
    for (const auto& p : parameters)
        if (p.grad().defined()) grads.push_back(p.grad());
    average(grads, what);
}

void DataParallel::average(const std::vector<at::Tensor>& tensors, const std::string& what) {
    std::vector<at::Tensor> floats;
    for (const auto& t : tensors)
        if (t.defined() && t.is_floating_point()) floats.push_back(t);
    if (floats.empty()) return;
    at::Tensor buffer = flatten(floats);
    collective(what, {buffer}, kAverage);
    buffer.div_(static_cast<double>(worldSize()));
    unflatten(buffer, floats);
}

void DataParallel::broadcast(const std::vector<at::Tensor>& tensors, const std::string& what) {
    std::vector<at::Tensor> floats, others;
    for (const auto& t : tensors)
        if (t.defined()) (t.is_floating_point() ? floats : others).push_back(t);
    if (!floats.empty()) {
        at::Tensor buffer = flatten(floats);
        collective(what, {buffer}, kBroadcast);
        unflatten(buffer, floats);
    }
    for (const auto& t : others) {  // e.g. BatchNorm's step counters: rare and tiny
        at::Tensor copy = t.contiguous().clone();
        collective(what, {copy}, kBroadcast);
        torch::NoGradGuard noGrad;
        t.copy_(copy);
    }
}

bool DataParallel::any(bool flag, const std::string& what) {
    at::Tensor t = torch::full({1}, flag ? 1.0f : 0.0f);
    collective(what, {t}, kMax);
    return t.item<float>() > 0.5f;
}

void DataParallel::barrier(const std::string& what) { collective(what, {}, kBarrier); }

}  // namespace coalesce
