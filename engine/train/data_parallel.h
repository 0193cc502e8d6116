// Data-parallel training over PyTorch's c10d process groups (ProcessGroupGloo on the CPU), so one
// training run can use N processes on one machine or on N cluster nodes.
//
// The scheme (multi_critic_trainer.cpp applies it): every rank holds the same G, critics, Adam
// states and random streams, and draws the same global batch of z, ε and real samples; each rank
// computes the losses on its own slice [rank·B/N, (rank+1)·B/N) of that batch; before every optimizer
// step the gradients are averaged over the ranks (one flattened bucket per network). Since every loss
// is a mean over the batch and the gradient penalty is per sample, N processes with batch B/N each
// make the updates of one process with batch B, up to the order of float additions. Exceptions:
// BatchNorm in G normalises over a rank's slice (as PyTorch's DDP without SyncBatchNorm); G's running
// statistics are averaged over the ranks every iteration so every rank, and every checkpoint, holds
// the same model.
//
// Rank 0 hosts the rendezvous (a c10d TCPStore at HOST:PORT) and is the only rank that writes
// checkpoints, sample grids and evaluations. A rank that dies or a network failure makes every other
// rank's next collective fail: the trainer turns that into an Error naming the last good checkpoint.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace coalesce {

// A collective failed: a peer process died, hung past the timeout, or the network failed.
class PeerLost : public Error {
public:
    using Error::Error;
};

struct DistributedOptions {
    int worldSize = 1;            // processes in the run; 1 = not distributed
    int rank = 0;                 // this process: 0 .. worldSize-1
    std::string rendezvous;       // "HOST:PORT" of rank 0's store (every rank gives the same)
    double timeoutSeconds = 600;  // rendezvous and every collective; a stuck peer fails after this

    bool enabled() const { return worldSize > 1; }
    // "runtime": {"distributed": {"world_size": 2, "rank": 0, "rendezvous": "127.0.0.1:29500",
    // "timeout_s": 600}}; Error naming the field when malformed. `context` prefixes messages.
    static DistributedOptions fromJson(const nlohmann::json& j, const std::string& context);
    nlohmann::json toJson() const;
};

// True when this LibTorch build has c10d's Gloo backend (Debian's does; it needs libgloo-dev headers).
bool dataParallelAvailable();

class DataParallel {
public:
    // Joins the process group: rank 0 opens the store at options.rendezvous and waits for every rank;
    // the others connect to it. Error (naming the rendezvous and the timeout) when the ranks do not all
    // arrive in time, or when the build has no Gloo.
    explicit DataParallel(const DistributedOptions& options);
    ~DataParallel();
    DataParallel(const DataParallel&) = delete;
    DataParallel& operator=(const DataParallel&) = delete;

    int rank() const { return options_.rank; }
    int worldSize() const { return options_.worldSize; }
    bool isRoot() const { return options_.rank == 0; }

    // This rank's slice {offset, count} of a global batch; Error unless the batch divides evenly.
    std::pair<int64_t, int64_t> share(int64_t globalBatch) const;
    // Averages the gradients of these parameters over the ranks, in place (parameters without a
    // gradient, e.g. frozen ones, are skipped: they are the same on every rank).
    void averageGradients(const std::vector<at::Tensor>& parameters, const std::string& what);
    // Averages floating-point tensors over the ranks, in place (others are left alone).
    void average(const std::vector<at::Tensor>& tensors, const std::string& what);
    // Rank 0's values to every rank, in place.
    void broadcast(const std::vector<at::Tensor>& tensors, const std::string& what);
    // True on every rank when any rank passes true (e.g. a cancel seen by one rank).
    bool any(bool flag, const std::string& what);
    // Waits until every rank gets here.
    void barrier(const std::string& what);

private:
    struct Group;
    // Runs a collective; a failure (a dead peer, a timeout) becomes an Error naming `what`.
    void collective(const std::string& what, const std::vector<at::Tensor>& buffers, int kind);

    DistributedOptions options_;
    std::unique_ptr<Group> group_;
};

}  // namespace coalesce
