// Where a critic's "real" samples come from. A critic k in the multi-critic trainer sees only its own
// source: a dataset (pretraining, local samples), a frozen pre-trained generator sampled online
// (the barycenter default), or a finite sample set drawn once from a generator (`source_samples: N`,
// the reference's offline PNG sets). Sources are deterministic from their seed and can save/restore
// their position so that a resumed run draws exactly the batches an uninterrupted run would have.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include "data/dataset.h"
#include "io/checkpoint.h"
#include "models/networks.h"

namespace coalesce {

class SampleSource {
public:
    virtual ~SampleSource() = default;
    // One line for logs and config.json, e.g. "dataset fashion-mnist:train:0,1,2,3 (24000 samples)".
    virtual std::string describe() const = 0;
    // Number of distinct samples when finite (dataset, frozen set); nullopt for an online generator.
    // Known before start(): the trainer clamps its batch size to the smallest finite source.
    virtual std::optional<int64_t> finiteSize() const = 0;
    // Shape of one sample ({C,H,W} or {D}); the trainer checks it against the generator's output.
    virtual std::vector<int64_t> sampleShape() const = 0;
    // Called once before the first batch: the batch size, a seed for the source's own randomness,
    // and the device batches must live on.
    virtual void start(int64_t batchSize, uint64_t seed, torch::Device device) = 0;
    // The next batch (batchSize samples) on the device, not requiring grad.
    virtual torch::Tensor next() = 0;
    // Rows [offset, offset + count) of what next() would return, advancing the source exactly as next()
    // does (a data-parallel rank's share of the batch: data_parallel.h). Sources that make their samples
    // (GeneratorSource) make only these rows.
    virtual torch::Tensor nextShare(int64_t offset, int64_t count) { return next().narrow(0, offset, count); }
    // Resume support: write/read the source's position under "<prefix>." (tensors) and return/accept
    // a JSON description of it (stored in the checkpoint's meta). Called after start().
    virtual nlohmann::json saveState(Checkpoint& checkpoint, const std::string& prefix) const = 0;
    virtual void restoreState(const Checkpoint& checkpoint, const std::string& prefix, const nlohmann::json& state) = 0;
};

// Batches drawn without replacement per epoch from a dataset (data/dataset.h BatchSampler).
class DatasetSource : public SampleSource {
public:
    explicit DatasetSource(Dataset data);
    std::string describe() const override;
    std::optional<int64_t> finiteSize() const override { return data_.size(); }
    std::vector<int64_t> sampleShape() const override;
    void start(int64_t batchSize, uint64_t seed, torch::Device device) override;
    torch::Tensor next() override;
    nlohmann::json saveState(Checkpoint& checkpoint, const std::string& prefix) const override;
    void restoreState(const Checkpoint& checkpoint, const std::string& prefix, const nlohmann::json& state) override;
    const Dataset& data() const { return data_; }

private:
    Dataset data_;
    std::unique_ptr<BatchSampler> sampler_;
    int64_t batchSize_ = 0;
    uint64_t seed_ = 0;
    int64_t batchesDrawn_ = 0;  // the BatchSampler is deterministic from its seed: resume = replay
    torch::Device device_{torch::kCPU};
};

// A frozen generator sampled online, in eval mode (BatchNorm running statistics) under NoGrad. Given
// several generators it samples their mixture: each sample comes from a generator drawn with the given
// mixture weights (normalised), or uniformly without them (the "ensemble" baseline's pooled source;
// stage 1's "mixture" mode weighs them by λ).
class GeneratorSource : public SampleSource {
public:
    // Generators are deep-copied: training another model never changes a source.
    GeneratorSource(const Generator& generator, std::string name);
    GeneratorSource(const std::vector<Generator>& generators, std::string name, std::vector<double> weights = {});
    std::string describe() const override;
    std::optional<int64_t> finiteSize() const override { return std::nullopt; }
    std::vector<int64_t> sampleShape() const override;
    void start(int64_t batchSize, uint64_t seed, torch::Device device) override;
    torch::Tensor next() override;
    torch::Tensor nextShare(int64_t offset, int64_t count) override;
    nlohmann::json saveState(Checkpoint& checkpoint, const std::string& prefix) const override;
    void restoreState(const Checkpoint& checkpoint, const std::string& prefix, const nlohmann::json& state) override;
    // Draws n samples in chunks (eval mode, NoGrad) with the given random generator. With a row window
    // [first, last) only those rows are generated; the random draws are those of all n.
    static torch::Tensor drawSamples(Generator& generator, int64_t n, at::Generator& rng, int64_t first = 0,
                                     int64_t last = -1);
    // n samples of the mixture (one generator: exactly drawSamples); the same row window. `weights`: one
    // per generator, normalised; empty = equal (then drawn as before weights existed: same samples).
    static torch::Tensor drawMixture(std::vector<Generator>& generators, int64_t n, at::Generator& rng,
                                     int64_t first = 0, int64_t last = -1, const std::vector<double>& weights = {});

private:
    std::vector<Generator> generators_;
    std::vector<double> weights_;
    std::string name_;
    int64_t batchSize_ = 0;
    at::Generator rng_;
};

// N samples drawn once from a frozen generator (or the mixture of several), from the seed given to
// start(), then served like a dataset. Images are rounded to 8-bit levels, as the reference's PNG
// round trip does.
class FrozenSampleSource : public SampleSource {
public:
    FrozenSampleSource(const Generator& generator, int64_t count, std::string name);
    FrozenSampleSource(const std::vector<Generator>& generators, int64_t count, std::string name,
                       std::vector<double> weights = {});
    std::string describe() const override;
    std::optional<int64_t> finiteSize() const override { return count_; }
    std::vector<int64_t> sampleShape() const override;
    void start(int64_t batchSize, uint64_t seed, torch::Device device) override;
    torch::Tensor next() override;
    nlohmann::json saveState(Checkpoint& checkpoint, const std::string& prefix) const override;
    void restoreState(const Checkpoint& checkpoint, const std::string& prefix, const nlohmann::json& state) override;

private:
    std::vector<Generator> generators_;  // released once the set is drawn
    std::vector<double> weights_;
    size_t generatorCount_ = 1;
    ArchSpec spec_;
    int64_t count_;
    std::string name_;
    std::unique_ptr<DatasetSource> frozen_;  // built in start()
};

// A source's random stream in a checkpoint as "<prefix>.rng_state"; restore throws Error naming the
// source if the checkpoint lacks it. (Every online source resumes this way.)
void saveRngState(Checkpoint& checkpoint, const std::string& prefix, const at::Generator& rng);
void restoreRngState(const Checkpoint& checkpoint, const std::string& prefix, at::Generator& rng, const std::string& source);

// Seeds for independent random streams derived from one run seed (splitmix64 of seed and a stream id),
// so adding a stream never shifts the others.
uint64_t deriveSeed(uint64_t seed, uint64_t stream);
// A CPU random generator with that seed (latents and ε are drawn on the CPU, then moved: one stream
// whatever the device, and its state is a small tensor that checkpoints store).
at::Generator makeCpuGenerator(uint64_t seed);

}  // namespace coalesce
