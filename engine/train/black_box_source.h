// A black-box source: any TorchScript generator z → images (any architecture, resolution or channel
// count), only ever sampled, run in a worker process (io/torchscript_worker.h). Its images are brought to
// the working sample shape {C, S, S} of the generator being trained by one documented rule
// (train/README.md "Black-box sources"):
//   1. values clamped to [−1, 1] (a tanh-range generator is assumed; non-finite output is an error);
//   2. channels: RGB → gray by 0.299 R + 0.587 G + 0.114 B; gray → RGB by replication;
//   3. size: the datasets' size rule (data/image_geometry.h): unchanged at S×S, padded with −1 from
//      (S−4)×(S−4), else scaled so the shorter side is S (area when shrinking, bilinear when enlarging)
//      and centre-cropped.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include "train/sample_source.h"

namespace coalesce {

class TorchScriptWorker;

struct BlackBoxOptions {
    std::string path;              // the TorchScript file
    int64_t latentDim = 0;         // 0: the module's integer attribute latent_dim
    double timeoutSeconds = 60;    // per answer of the worker (loading, each batch)
};

// The running worker plus the conversion to the working shape. Shared by a run's sources and its
// evaluation samples; one worker per black-box source.
class BlackBoxGenerator {
public:
    explicit BlackBoxGenerator(const BlackBoxOptions& options);
    ~BlackBoxGenerator();
    int64_t latentDim() const;
    std::vector<int64_t> nativeShape() const;  // {C, H, W} the module makes
    std::string describe() const;               // e.g. "TorchScript black box g64.pt (3×64×64, z=64)"
    // Rows [first, last) of n samples converted to `shape` ({C, S, S}); all n latents are drawn from rng
    // (N(0, I) on the CPU, like Generator::sampleLatent), so a row window gives the rows of the whole batch.
    torch::Tensor draw(int64_t n, at::Generator& rng, const std::vector<int64_t>& shape, int64_t first = 0, int64_t last = -1);

private:
    BlackBoxOptions options_;
    std::unique_ptr<TorchScriptWorker> worker_;
};

// Converts images N×C'×H×W (any size, 1 or 3 channels) to N×C×S×S by the rule above.
torch::Tensor toWorkingShape(const torch::Tensor& images, const std::vector<int64_t>& shape);

// A critic's source sampled online from a black box (the analogue of GeneratorSource).
class BlackBoxSource : public SampleSource {
public:
    BlackBoxSource(std::shared_ptr<BlackBoxGenerator> generator, std::vector<int64_t> shape, std::string name);
    std::string describe() const override;
    std::optional<int64_t> finiteSize() const override { return std::nullopt; }
    std::vector<int64_t> sampleShape() const override { return shape_; }
    void start(int64_t batchSize, uint64_t seed, torch::Device device) override;
    torch::Tensor next() override;
    torch::Tensor nextShare(int64_t offset, int64_t count) override;
    nlohmann::json saveState(Checkpoint& checkpoint, const std::string& prefix) const override;
    void restoreState(const Checkpoint& checkpoint, const std::string& prefix, const nlohmann::json& state) override;

private:
    std::shared_ptr<BlackBoxGenerator> generator_;
    std::vector<int64_t> shape_;
    std::string name_;
    int64_t batchSize_ = 0;
    torch::Device device_{torch::kCPU};
    at::Generator rng_;
};

}  // namespace coalesce
