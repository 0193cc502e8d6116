#include "train/black_box_source.h"

#include <filesystem>

#include <torch/torch.h>

#include "core/error.h"
#include "data/image_geometry.h"
#include "io/torchscript_worker.h"

namespace coalesce {

BlackBoxGenerator::BlackBoxGenerator(const BlackBoxOptions& options)
    : options_(options), worker_(std::make_unique<TorchScriptWorker>(options.path, options.latentDim, options.timeoutSeconds)) {}

BlackBoxGenerator::~BlackBoxGenerator() = default;

int64_t BlackBoxGenerator::latentDim() const { return worker_->latentDim(); }
std::vector<int64_t> BlackBoxGenerator::nativeShape() const { return worker_->outputShape(); }

std::string BlackBoxGenerator::describe() const {
    const auto& s = worker_->outputShape();
    return "TorchScript black box " + std::filesystem::path(options_.path).filename().string() + " (" +
           std::to_string(s[0]) + "×" + std::to_string(s[1]) + "×" + std::to_string(s[2]) +
           ", z=" + std::to_string(latentDim()) + ")";
}

torch::Tensor BlackBoxGenerator::draw(int64_t n, at::Generator& rng, const std::vector<int64_t>& shape, int64_t first,
                                      int64_t last) {
    if (last < 0) last = n;
    std::vector<torch::Tensor> chunks;
    for (int64_t done = 0; done < n;) {
        const int64_t b = std::min<int64_t>(256, n - done);
        const torch::Tensor latent = torch::randn({b, latentDim()}, rng, torch::kFloat);  // every latent is drawn
        const int64_t from = std::max(first - done, int64_t(0)), to = std::min(last - done, b);
        if (to > from) chunks.push_back(toWorkingShape(worker_->run(latent.narrow(0, from, to - from)), shape));
        done += b;
    }
    if (chunks.empty()) return torch::empty({0, shape[0], shape[1], shape[2]});
    torch::Tensor out = torch::cat(chunks);
    if (!torch::isfinite(out).all().item<bool>())
        throw Error(options_.path + ": the TorchScript source produced non-finite values (NaN or Inf)");
    return out;
}

torch::Tensor toWorkingShape(const torch::Tensor& images, const std::vector<int64_t>& shape) {
    if (shape.size() != 3) throw Error("black-box sources make images; the generator being trained makes points");
    torch::Tensor x = images.to(torch::kFloat);
    if (!torch::isfinite(x).all().item<bool>()) throw Error("the TorchScript source produced non-finite values (NaN or Inf)");
    x = x.clamp(-1, 1);
    if (x.size(1) == 3 && shape[0] == 1) {
        const auto weights = torch::tensor({0.299f, 0.587f, 0.114f}).view({1, 3, 1, 1});
        x = (x * weights).sum(1, /*keepdim=*/true);
    } else if (x.size(1) == 1 && shape[0] == 3) {
        x = x.expand({x.size(0), 3, x.size(2), x.size(3)});
    }
    return fitBatch(x.contiguous(), static_cast<int>(shape[1])).contiguous();
}

BlackBoxSource::BlackBoxSource(std::shared_ptr<BlackBoxGenerator> generator, std::vector<int64_t> shape, std::string name)
    : generator_(std::move(generator)), shape_(std::move(shape)), name_(std::move(name)) {}

std::string BlackBoxSource::describe() const { return name_ + ": " + generator_->describe() + ", sampled online"; }

void BlackBoxSource::start(int64_t batchSize, uint64_t seed, torch::Device device) {
    batchSize_ = batchSize;
    device_ = device;
    rng_ = makeCpuGenerator(seed);
}

torch::Tensor BlackBoxSource::next() { return nextShare(0, batchSize_); }

torch::Tensor BlackBoxSource::nextShare(int64_t offset, int64_t count) {
    if (!rng_.defined()) throw Error("source " + name_ + ": next() before start()");
    return generator_->draw(batchSize_, rng_, shape_, offset, offset + count).to(device_);
}

nlohmann::json BlackBoxSource::saveState(Checkpoint& checkpoint, const std::string& prefix) const {
    saveRngState(checkpoint, prefix, rng_);
    return {{"kind", "black_box"}};
}

void BlackBoxSource::restoreState(const Checkpoint& checkpoint, const std::string& prefix, const nlohmann::json&) {
    restoreRngState(checkpoint, prefix, rng_, name_);
}

}  // namespace coalesce
