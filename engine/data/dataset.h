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
    std::vector<std::string> warnings;  // non-fatal problems met while loading (e.g. skipped images)
    int64_t skippedFiles = 0;           // image files that could not be decoded and were left out
    int64_t size() const { return samples.defined() ? samples.size(0) : 0; }
};

struct LoadOptions {
    int channels = 1;      // 1 or 3: images are converted (gray↔RGB) to this
    int imageSize = 32;    // output H = W. 28×28 → 32×32 by zero-padding 2 px per side (see data/README)
};

// What a network whose samples have this shape trains on: {C, S, S} → C channels at S×S; anything
// else (points, {D}) → the defaults, which the toy loader ignores. Callers pass ArchSpec::sampleShape().
LoadOptions loadOptionsForSampleShape(const std::vector<std::int64_t>& sampleShape);

// Dataset specs (also used on the CLI):
//   fashion-mnist:train[:0,1,2,3]   Debian's dataset-fashion-mnist (train or test split, optional classes)
//   mnist:train[:8,9]               same layout, if an MNIST package/dir is present
//   idx:<images-idx3[.gz]>:<labels-idx1[.gz]>[:classes]
//   cifar10:[<dir>:]<split>[:classes]   the CIFAR-10 binary version (data/cifar.h); <dir> defaults to
//                                   $COALESCE_DATA_DIR/cifar-10-batches-bin
//   cifar100:[<dir>:]<split>[:classes]  CIFAR-100 binary, fine labels; default cifar-100-binary
//   folder:<dir>[:classes]          images in class sub-folders (class = sorted sub-folder index), or
//                                   directly in <dir> (one class 0)
//   toy:<mixture>[:n[:seed]]        2-D Gaussian mixtures for the toy mode (see data/toy.h):
//                                   ring8, grid25, ring:<k>,<radius>,<std>, grid:<k>,<spacing>,<std>,
//                                   gauss:<mx>,<my>,<std>; n defaults to 1000, seed to 0
//   split:<weights>:<part>:<seed>:<spec>
//                                   one part of a seeded random split of <spec> (splitPart), e.g.
//                                   split:50,40,10:2:1:fashion-mnist:train = the 10 % of the
//                                   training images the authors' "same distribution" target node has
// Full rules (image geometry, class order, hashing, seeds): engine/data/README.md.
Dataset loadDataset(const std::string& spec, const LoadOptions& options = {});

// Keeps the samples of the given classes (original order, original label values). Error if a class
// is out of range or has no samples (naming it), or if the dataset is unlabeled.
Dataset filterClasses(const Dataset& data, const std::vector<int64_t>& classes);
// Part `part` of a random split of data in proportion to `weights` (e.g. {50, 40, 10}), reproducible
// from seed on every platform; the parts of one (weights, seed) are disjoint and cover every sample.
// Error if fewer than two weights, a weight is not positive, the part does not exist or is empty.
Dataset splitPart(const Dataset& data, const std::vector<int64_t>& weights, int64_t part, uint64_t seed);
// k samples without replacement, reproducible from seed on every platform; Error if k < 1 or k > size.
// With one seed the subsets are nested: the 8-shot subset is contained in the 20-shot one.
Dataset kShotSubset(const Dataset& data, int64_t k, uint64_t seed);

// Endless batches: reshuffles (from seed) each epoch, draws without replacement within an epoch.
// The batch size is clamped to the dataset size; an epoch's last partial batch is dropped, so every
// batch has batchSize distinct samples.
class BatchSampler {
public:
    BatchSampler(Dataset data, int64_t batchSize, uint64_t seed);
    torch::Tensor next();  // B×... on CPU
    int64_t batchSize() const { return batchSize_; }
    int64_t epoch() const { return epoch_; }  // epochs started so far
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
