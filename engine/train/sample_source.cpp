#include "train/sample_source.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "core/error.h"

namespace coalesce {

uint64_t deriveSeed(uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (0x9E3779B97F4A7C15ull * (stream + 1));
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

at::Generator makeCpuGenerator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

namespace {
std::vector<Generator> frozenCopies(const std::vector<Generator>& generators, const std::string& name) {
    if (generators.empty()) throw Error("source " + name + ": no generator");
    std::vector<Generator> copies;
    for (const auto& g : generators) {
        if (g->spec().sampleShape() != generators.front()->spec().sampleShape())
            throw Error("source " + name + ": pooled generators make samples of different shapes");
        Generator c = cloneGenerator(g);
        c->eval();
        for (auto& p : c->parameters()) p.set_requires_grad(false);
        copies.push_back(c);
    }
    return copies;
}
// Mixture weights as given (one per generator, finite, >= 0, not all 0), or empty for equal ones.
std::vector<double> checkedWeights(std::vector<double> weights, size_t generators, const std::string& name) {
    if (weights.empty()) return weights;
    if (weights.size() != generators)
        throw Error("source " + name + ": " + std::to_string(weights.size()) + " mixture weights for " +
                    std::to_string(generators) + " generators");
    double sum = 0;
    for (double w : weights) {
        if (!std::isfinite(w) || w < 0) throw Error("source " + name + ": mixture weights must be finite and >= 0");
        sum += w;
    }
    if (sum <= 0) throw Error("source " + name + ": mixture weights are all 0");
    // Equal weights are the uniform mixture: drawn exactly as without weights (same random stream).
    if (std::all_of(weights.begin(), weights.end(), [&](double w) { return w == weights.front(); })) return {};
    return weights;
}
std::string describeGenerators(const std::vector<Generator>& gens, const std::string& name,
                               const std::vector<double>& weights) {
    if (gens.size() == 1) return "generator " + name + " (" + gens.front()->spec().describe() + ")";
    std::string text = "mixture of " + std::to_string(gens.size()) + " generators " + name;
    if (weights.empty()) return text;
    double sum = 0;
    for (double w : weights) sum += w;
    text += " (weights";
    for (size_t i = 0; i < weights.size(); ++i) {
        char buffer[32];
        std::snprintf(buffer, sizeof buffer, "%s%.3f", i ? " : " : " ", weights[i] / sum);
        text += buffer;
    }
    return text + ")";
}
}  // namespace

// ---------------------------------------------------------------------------------------------------
DatasetSource::DatasetSource(Dataset data) : data_(std::move(data)) {
    if (data_.size() == 0) throw Error("source " + data_.name + ": the dataset is empty");
}

std::string DatasetSource::describe() const {
    return "dataset " + data_.name + " (" + std::to_string(data_.size()) + " samples)";
}

std::vector<int64_t> DatasetSource::sampleShape() const {
    auto sizes = data_.samples.sizes().vec();
    return std::vector<int64_t>(sizes.begin() + 1, sizes.end());
}

void DatasetSource::start(int64_t batchSize, uint64_t seed, torch::Device device) {
    if (batchSize > data_.size())
        throw Error("source " + data_.name + ": batch size " + std::to_string(batchSize) + " exceeds its " +
                    std::to_string(data_.size()) + " samples");
    batchSize_ = batchSize;
    seed_ = seed;
    device_ = device;
    batchesDrawn_ = 0;
    sampler_ = std::make_unique<BatchSampler>(data_, batchSize, seed);
}

torch::Tensor DatasetSource::next() {
    if (!sampler_) throw Error("source " + data_.name + ": next() before start()");
    ++batchesDrawn_;
    return sampler_->next().to(device_, torch::kFloat);
}

nlohmann::json DatasetSource::saveState(Checkpoint&, const std::string&) const {
    return {{"batches_drawn", batchesDrawn_}, {"dataset_hash", data_.hash}};
}

void DatasetSource::restoreState(const Checkpoint&, const std::string&, const nlohmann::json& state) {
    const int64_t target = state.value("batches_drawn", int64_t{0});
    const std::string hash = state.value("dataset_hash", std::string());
    if (!hash.empty() && !data_.hash.empty() && hash != data_.hash)
        throw Error("resume: dataset " + data_.name + " has changed since the checkpoint (hash " + data_.hash +
                    ", checkpoint has " + hash + ")");
    // Replaying the deterministic sampler is cheap (an index gather per batch) and needs nothing
    // from BatchSampler's internals.
    sampler_ = std::make_unique<BatchSampler>(data_, batchSize_, seed_);
    for (int64_t i = 0; i < target; ++i) sampler_->next();
    batchesDrawn_ = target;
}

// ---------------------------------------------------------------------------------------------------
GeneratorSource::GeneratorSource(const Generator& generator, std::string name)
    : GeneratorSource(std::vector<Generator>{generator}, std::move(name)) {}

GeneratorSource::GeneratorSource(const std::vector<Generator>& generators, std::string name, std::vector<double> weights)
    : generators_(frozenCopies(generators, name)), weights_(checkedWeights(std::move(weights), generators.size(), name)),
      name_(std::move(name)) {}

std::string GeneratorSource::describe() const {
    return describeGenerators(generators_, name_, weights_) + ", sampled online";
}

std::vector<int64_t> GeneratorSource::sampleShape() const { return generators_.front()->spec().sampleShape(); }

void GeneratorSource::start(int64_t batchSize, uint64_t seed, torch::Device device) {
    batchSize_ = batchSize;
    for (auto& g : generators_) g->to(device);
    rng_ = makeCpuGenerator(seed);
}

torch::Tensor GeneratorSource::drawSamples(Generator& generator, int64_t n, at::Generator& rng, int64_t first,
                                           int64_t last) {
    if (last < 0) last = n;
    torch::NoGradGuard noGrad;
    const bool wasTraining = generator->is_training();
    generator->eval();  // per-sample outputs (BatchNorm's running statistics): any subset of rows is exact
    std::vector<torch::Tensor> chunks;
    for (int64_t done = 0; done < n;) {
        const int64_t b = std::min<int64_t>(256, n - done);
        const torch::Tensor latent = generator->sampleLatent(b, rng);  // every latent is drawn, used or not
        const int64_t from = std::max(first - done, int64_t(0)), to = std::min(last - done, b);
        if (to > from) chunks.push_back(generator->forward(from == 0 && to == b ? latent : latent.narrow(0, from, to - from)));
        done += b;
    }
    generator->train(wasTraining);
    if (chunks.empty()) return torch::Tensor();
    return torch::cat(chunks);
}

torch::Tensor GeneratorSource::drawMixture(std::vector<Generator>& generators, int64_t n, at::Generator& rng,
                                           int64_t first, int64_t last, const std::vector<double>& weights) {
    if (last < 0) last = n;
    if (generators.size() == 1) return drawSamples(generators.front(), n, rng, first, last);
    // How many samples each generator contributes: n draws of a generator index (uniform, or by weight).
    const int64_t count = static_cast<int64_t>(generators.size());
    const torch::Tensor index =
        weights.empty() ? torch::randint(0, count, {n}, rng, torch::TensorOptions().dtype(torch::kLong))
                        : torch::multinomial(torch::tensor(weights, torch::kDouble), n, /*replacement=*/true, rng);
    torch::Tensor counts = torch::bincount(index, {}, count);
    std::vector<torch::Tensor> parts;
    int64_t base = 0;  // generator i's samples are rows [base, base + c) of the mixture batch
    for (size_t i = 0; i < generators.size(); ++i) {
        const int64_t c = counts[static_cast<int64_t>(i)].item<int64_t>();
        if (c > 0) {
            torch::Tensor part = drawSamples(generators[i], c, rng, std::max(first - base, int64_t(0)),
                                             std::max(std::min(last - base, c), int64_t(0)));
            if (part.defined()) parts.push_back(part);
        }
        base += c;
    }
    return torch::cat(parts);
}

torch::Tensor GeneratorSource::next() {
    if (!rng_.defined()) throw Error("source " + name_ + ": next() before start()");
    return drawMixture(generators_, batchSize_, rng_, 0, -1, weights_);
}

torch::Tensor GeneratorSource::nextShare(int64_t offset, int64_t count) {
    if (!rng_.defined()) throw Error("source " + name_ + ": next() before start()");
    return drawMixture(generators_, batchSize_, rng_, offset, offset + count, weights_);
}

void saveRngState(Checkpoint& checkpoint, const std::string& prefix, const at::Generator& rng) {
    checkpoint.tensors[prefix + ".rng_state"] = rng.get_state().clone();
}

void restoreRngState(const Checkpoint& checkpoint, const std::string& prefix, at::Generator& rng, const std::string& source) {
    auto it = checkpoint.tensors.find(prefix + ".rng_state");
    if (it == checkpoint.tensors.end())
        throw Error("resume: checkpoint has no random state for source " + source + " (" + prefix + ".rng_state)");
    rng.set_state(it->second.to(torch::kCPU, torch::kUInt8));
}

nlohmann::json GeneratorSource::saveState(Checkpoint& checkpoint, const std::string& prefix) const {
    saveRngState(checkpoint, prefix, rng_);
    return {{"kind", "generator"}};
}

void GeneratorSource::restoreState(const Checkpoint& checkpoint, const std::string& prefix, const nlohmann::json&) {
    restoreRngState(checkpoint, prefix, rng_, name_);
}

// ---------------------------------------------------------------------------------------------------
FrozenSampleSource::FrozenSampleSource(const Generator& generator, int64_t count, std::string name)
    : FrozenSampleSource(std::vector<Generator>{generator}, count, std::move(name)) {}

FrozenSampleSource::FrozenSampleSource(const std::vector<Generator>& generators, int64_t count, std::string name,
                                       std::vector<double> weights)
    : generators_(frozenCopies(generators, name)), weights_(checkedWeights(std::move(weights), generators.size(), name)),
      generatorCount_(generators.size()),
      spec_(generators_.front()->spec()), count_(count),
      name_(std::move(name)) {
    if (count < 1) throw Error("source_samples: must be >= 1 for source " + name_ + ", got " + std::to_string(count));
}

std::string FrozenSampleSource::describe() const {
    return (generatorCount_ > 1 ? "mixture of generators " + name_ : "generator " + name_ + " (" + spec_.describe() + ")") +
           ", " + std::to_string(count_) + " samples frozen once";
}

std::vector<int64_t> FrozenSampleSource::sampleShape() const { return spec_.sampleShape(); }

void FrozenSampleSource::start(int64_t batchSize, uint64_t seed, torch::Device device) {
    // The set is a function of (generators, count, seed) only, so a resumed run redraws the same set.
    if (generators_.empty()) throw Error("source " + name_ + ": started twice");
    at::Generator rng = makeCpuGenerator(deriveSeed(seed, 0));
    for (auto& g : generators_) g->to(device);
    torch::Tensor samples = GeneratorSource::drawMixture(generators_, count_, rng, 0, -1, weights_).to(torch::kCPU);
    if (spec_.isImage())  // 8-bit levels, like the reference's PNG files
        samples = ((samples + 1.0) * 127.5).round().clamp(0, 255) / 127.5 - 1.0;
    Dataset data;
    data.samples = samples.contiguous();
    data.labels = torch::full({count_}, -1, torch::kLong);
    data.name = name_ + " (" + std::to_string(count_) + " frozen samples)";
    frozen_ = std::make_unique<DatasetSource>(std::move(data));
    frozen_->start(batchSize, deriveSeed(seed, 1), device);
    generators_.clear();  // not needed any more
}

torch::Tensor FrozenSampleSource::next() {
    if (!frozen_) throw Error("source " + name_ + ": next() before start()");
    return frozen_->next();
}

nlohmann::json FrozenSampleSource::saveState(Checkpoint& checkpoint, const std::string& prefix) const {
    return frozen_->saveState(checkpoint, prefix);
}

void FrozenSampleSource::restoreState(const Checkpoint& checkpoint, const std::string& prefix,
                                      const nlohmann::json& state) {
    frozen_->restoreState(checkpoint, prefix, state);
}

}  // namespace coalesce
