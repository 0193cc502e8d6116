// Datasets as tensors: images N×C×H×W float in [-1, 1] ((p − 127.5) / 127.5), or points N×D (toy
// mode). Loaders validate everything and throw coalesce::Error naming the file and the problem.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace coalesce {

struct Dataset {
    torch::Tensor samples;  // CPU float: N×C×H×W in [-1, 1] (images) or N×D (points)
    torch::Tensor labels;   // CPU int64: N (−1 where unlabeled)
    std::vector<std::string> classNames;  // index = label (folder names, or "0".."9" for IDX)
    std::string name;       // what it is, e.g. "fashion-mnist:train:8,9 (k=20, seed=1)"
    std::string hash;       // hex digest of the source bytes and the selection (recorded in config.json)
    int64_t size() const { return samples.defined() ? samples.size(0) : 0; }
};

struct LoadOptions {
    int channels = 1;      // 1 or 3: images are converted (gray↔RGB) to this
    int imageSize = 32;    // output H = W. 28×28 → 32×32 by zero-padding 2 px per side (see data/README)
};

// Dataset specs (also used on the CLI):
//   fashion-mnist:train[:0,1,2,3]   Debian's dataset-fashion-mnist (train or test split, optional classes)
//   mnist:train[:8,9]               same layout, if an MNIST package/dir is present
//   idx:<images-idx3[.gz]>:<labels-idx1[.gz]>[:classes]
//   folder:<dir>[:classes]          images in class sub-folders (class = sorted sub-folder index), or
//                                   directly in <dir> (one class 0)
//   toy:<mixture>[:n]               2-D Gaussian mixtures for the toy mode (see data/toy.cpp)
Dataset loadDataset(const std::string& spec, const LoadOptions& options = {});

Dataset filterClasses(const Dataset& data, const std::vector<int64_t>& classes);
// k samples without replacement, reproducible from seed; Error if k > size.
Dataset kShotSubset(const Dataset& data, int64_t k, uint64_t seed);

// Endless batches: reshuffles (from seed) each epoch, draws without replacement within an epoch.
class BatchSampler {
public:
    BatchSampler(Dataset data, int64_t batchSize, uint64_t seed);
    torch::Tensor next();  // B×... on CPU
    int64_t batchSize() const { return batchSize_; }
    const Dataset& data() const { return data_; }

private:
    Dataset data_;
    int64_t batchSize_;
    uint64_t seed_;
    int64_t epoch_ = 0;
    int64_t cursor_ = 0;
    torch::Tensor order_;
};

}  // namespace coalesce
