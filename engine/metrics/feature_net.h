// The feature network behind FID, KID, precision/recall and diversity: a small CNN classifier that
// Coalesce trains itself on the full training split of a dataset (Inception weights cannot be
// downloaded here; the reference did the same for MNIST, reference-implementation.md §4.3). Its
// 128-d penultimate layer (after ReLU) is the feature space.
//
// Trained nets are cached as native checkpoints (io/checkpoint.h) under
//   <cache dir>/feature-net-<key>.coalesce,  key = hash(dataset hash, architecture, training recipe),
// cache dir = $XDG_CACHE_HOME/coalesce, else ~/.cache/coalesce, unless a caller passes another.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/job.h"
#include "data/dataset.h"

namespace coalesce {

struct FeatureNetSpec {
    int channels = 1;                   // image channels (1 or 3)
    int imageSize = 32;                 // H = W; two stride-2 convs take 32 → 8
    int classes = 10;                   // output classes (from the training data)
    std::vector<int> convWidths{32, 64};  // Conv 4×4 stride 2 + LeakyReLU(0.2) per entry
    int featureDim = 128;               // Dense + ReLU: the feature layer

    nlohmann::json toJson() const;
    static FeatureNetSpec fromJson(const nlohmann::json& j);  // Error naming the bad field
    bool operator==(const FeatureNetSpec& o) const { return toJson() == o.toJson(); }
};

struct FeatureNetImpl : torch::nn::Module {
    explicit FeatureNetImpl(const FeatureNetSpec& spec);
    // images B×C×S×S in [-1, 1] → B×featureDim features (ReLU outputs).
    torch::Tensor features(const torch::Tensor& images);
    // images → B×classes logits (training).
    torch::Tensor forward(const torch::Tensor& images);
    const FeatureNetSpec& spec() const { return spec_; }

    FeatureNetSpec spec_;
    torch::nn::Sequential body{nullptr};  // convs, flatten, dense, ReLU
    torch::nn::Dropout dropout{nullptr};
    torch::nn::Linear head{nullptr};
};
TORCH_MODULE(FeatureNet);

struct FeatureNetTraining {
    int epochs = 6;
    int batchSize = 128;
    double learningRate = 1e-3;  // Adam; divided by 10 for the last epoch
    uint64_t seed = 0;           // weight init and batch order

    nlohmann::json toJson() const;
    static FeatureNetTraining fromJson(const nlohmann::json& j);
};

// What to train the net on and where to cache it.
struct FeatureNetRequest {
    std::string trainData = "fashion-mnist:train";  // dataset spec (data/dataset.h), all classes
    std::string testData;   // accuracy is reported on it; "" = derived from trainData (":train" → ":test")
    int channels = 1;       // images are loaded with this many channels (the generator's)
    int imageSize = 32;     // ... at this size (the generator's: 32 or 64)
    FeatureNetTraining training;
    std::string cacheDir;   // "" = defaultFeatureNetCacheDir()
    std::string device = "cpu";  // training device ("auto", "cpu", "cuda"); the cached file is the same
};

// A trained net and what is known about it: {"path", "train_data", "train_data_hash", "test_data",
// "test_accuracy", "train_accuracy", "epochs", "train_seconds", "arch", "training", "key"}.
struct TrainedFeatureNet {
    FeatureNet net{nullptr};
    nlohmann::json info = nlohmann::json::object();
};

std::string defaultFeatureNetCacheDir();
// "fashion-mnist:train:0,1" → "fashion-mnist:test:0,1"; "" when the spec has no train/test split.
std::string testSplitFor(const std::string& trainSpec);
// The cache file a net trained on data with this hash, with this architecture and recipe, lives in.
std::string featureNetCachePath(const std::string& cacheDir, const std::string& dataHash, const FeatureNetSpec& spec,
                                const FeatureNetTraining& training);

// Trains on `train` (all its classes; labels must be 0..classes−1), reports progress ("feature-net",
// in batches) and per-epoch metrics "feature_net/train_loss" and "feature_net/test_accuracy" through the
// observer, and checks `cancel` every batch. `test` may be empty (undefined samples): no test accuracy.
TrainedFeatureNet trainFeatureNet(const Dataset& train, const Dataset& test, const FeatureNetTraining& training,
                                  const torch::Device& device, JobObserver* observer = nullptr,
                                  CancelToken* cancel = nullptr);

// Atomic save / validated load of a feature net checkpoint (Error naming the file on any problem).
void saveFeatureNet(const std::string& path, const TrainedFeatureNet& net);
TrainedFeatureNet loadFeatureNet(const std::string& path);

// The cached net for the request, training and caching it first if needed (or if retrain is set).
TrainedFeatureNet obtainFeatureNet(const FeatureNetRequest& request, JobObserver* observer = nullptr,
                                   CancelToken* cancel = nullptr, bool retrain = false);

// For `coalesce-cli evaluator info`: {"cache_dir", "nets": [info of every readable cached net],
// "unreadable": [paths]}.
nlohmann::json describeFeatureNetCache(const std::string& cacheDir = "");

// Features of images (N×C×S×S, any device) in batches, in eval mode without autograd; CPU float32 N×F.
torch::Tensor extractFeatures(FeatureNet& net, const torch::Tensor& images, int64_t batchSize = 500);

// Top-1 accuracy of the net on a labelled dataset.
double classificationAccuracy(FeatureNet& net, const Dataset& data, int64_t batchSize = 500);

}  // namespace coalesce
