// Dataset specs, IDX datasets, class filters, k-shot subsets and the batch sampler. Loaders for the
// individual formats live in idx.cpp, image_folder.cpp and toy.cpp; rules are in data/README.md.
#include "data/dataset.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "core/error.h"
#include "data/cifar.h"
#include "data/digest.h"
#include "data/idx.h"
#include "data/image_folder.h"
#include "data/image_geometry.h"
#include "data/random.h"
#include "data/spec_text.h"
#include "data/toy.h"

namespace coalesce {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxImageSize = 1024;

bool isFile(const std::string& path) {
    std::error_code ec;
    return !path.empty() && fs::is_regular_file(path, ec);
}
bool exists(const std::string& path) {
    std::error_code ec;
    return !path.empty() && fs::exists(path, ec);
}

// "8,9" → {8, 9}. Only non-negative decimal integers separated by single commas.
bool parseClassList(const std::string& text, std::vector<int64_t>* classes) {
    std::vector<int64_t> out;
    std::string item;
    std::istringstream in(text);
    if (text.empty() || text.back() == ',') return false;
    while (std::getline(in, item, ',')) {
        if (item.empty() || item.size() > 9 ||
            !std::all_of(item.begin(), item.end(), [](unsigned char c) { return std::isdigit(c); }))
            return false;
        out.push_back(std::stoll(item));
    }
    *classes = out;
    return true;
}

std::string joinClasses(const std::vector<int64_t>& classes) {
    std::string out;
    for (auto c : classes) out += (out.empty() ? "" : ",") + std::to_string(c);
    return out;
}

// Splits "<body>[:classes]" where <body> may itself contain ':' (paths). The last field counts as a
// class list only if it is one ("8,9") and the whole text is not an existing path.
struct BodyAndClasses {
    std::string body;
    std::vector<int64_t> classes;  // empty: no class selection
};
BodyAndClasses splitTrailingClasses(const std::string& text) {
    BodyAndClasses out{text, {}};
    if (exists(text)) return out;
    const auto colon = text.rfind(':');
    std::vector<int64_t> classes;
    if (colon != std::string::npos && parseClassList(text.substr(colon + 1), &classes)) {
        out.body = text.substr(0, colon);
        out.classes = classes;
    }
    return out;
}

std::string dataDirectory() {
    const char* env = std::getenv("COALESCE_DATA_DIR");
    return env && *env ? std::string(env) : std::string(COALESCE_DATA_DIR);
}

// The images and labels files of one split of an MNIST-layout folder, in any of the usual namings.
std::pair<std::string, std::string> findIdxPair(const std::string& kind, const std::string& split) {
    const std::string folder = (fs::path(dataDirectory()) / kind).string();
    const std::string prefix = split == "train" ? "train" : "t10k";
    auto find = [&](const std::string& what, const std::string& dims) {
        for (const std::string& name : {prefix + "-" + what + "-" + dims + "-ubyte.gz", prefix + "-" + what + "-" + dims + "-ubyte",
                                        prefix + "-" + what + "." + dims + "-ubyte"}) {
            const auto path = (fs::path(folder) / name).string();
            if (isFile(path)) return path;
        }
        throw Error(kind + ":" + split + ": " + folder + "/" + prefix + "-" + what + "-" + dims +
                    "-ubyte[.gz] not found" +
                    (kind == "fashion-mnist" ? " (install Debian's dataset-fashion-mnist," : " (put the MNIST IDX files there,") +
                    " set COALESCE_DATA_DIR to the folder holding " + kind + "/, or use idx:<images>:<labels>)");
    };
    return {find("images", "idx3"), find("labels", "idx1")};
}

// u8 N×H×W → float N×1×S×S in [−1, 1] by the size rule. The common cases (28×28 padded to 32×32, or
// already S×S) are one pass through a lookup table straight into the output: the 60k training images
// convert in a fraction of the time of to(float) → sub → div → pad, which each sweep ~200 MB.
torch::Tensor idxImagesToTensor(const IdxArray& images, int size) {
    const int64_t n = images.dims[0], h = images.dims[1], w = images.dims[2];
    const FitPlan plan = planFit(static_cast<int>(w), static_cast<int>(h), size);
    if (plan.resamples(static_cast<int>(w), static_cast<int>(h))) {
        auto pixels = torch::from_blob(const_cast<std::uint8_t*>(images.values.data()), {n, 1, h, w}, torch::kUInt8);
        return fitBatch(pixels.to(torch::kFloat).sub_(127.5).div_(127.5), size);
    }
    float toUnit[256];
    for (int p = 0; p < 256; ++p) toUnit[p] = static_cast<float>((p - 127.5) / 127.5);  // exact: 0 → −1, 255 → 1
    const int64_t pad = plan.padding, s = size;
    auto out = torch::empty({n, 1, s, s}, torch::kFloat);
    float* dst = out.data_ptr<float>();
    const std::uint8_t* src = images.values.data();
    at::parallel_for(0, n, 512, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            float* o = dst + i * s * s;
            const std::uint8_t* in = src + i * h * w;
            std::fill(o, o + pad * s, -1.0f);
            for (int64_t r = 0; r < h; ++r) {
                float* row = o + (r + pad) * s;
                std::fill(row, row + pad, -1.0f);
                for (int64_t c = 0; c < w; ++c) row[pad + c] = toUnit[in[r * w + c]];
                std::fill(row + pad + w, row + s, -1.0f);
            }
            std::fill(o + (pad + h) * s, o + s * s, -1.0f);
        }
    });
    return out;
}

// labelsPath empty: unlabeled (labels −1, no class names).
Dataset loadIdxDataset(const std::string& imagesPath, const std::string& labelsPath, const LoadOptions& options) {
    const auto images = readIdx(imagesPath, 3);
    const int64_t n = images->dims[0], h = images->dims[1], w = images->dims[2];
    Dataset data;
    std::string labelsDigest = "none";
    if (!labelsPath.empty()) {
        const auto labels = readIdx(labelsPath, 1);
        if (labels->dims[0] != n)
            throw Error(imagesPath + ": " + std::to_string(n) + " images but " + labelsPath + " has " +
                        std::to_string(labels->dims[0]) + " labels (mismatched pair?)");
        data.labels = torch::from_blob(const_cast<std::uint8_t*>(labels->values.data()), {n}, torch::kUInt8).to(torch::kLong);
        const auto maxLabel = *std::max_element(labels->values.begin(), labels->values.end());
        for (int c = 0; c <= maxLabel; ++c) data.classNames.push_back(std::to_string(c));
        labelsDigest = labels->fileSha256;
    } else {
        data.labels = torch::full({n}, -1, torch::kLong);
    }
    data.samples = idxImagesToTensor(*images, options.imageSize);
    if (options.channels == 3) data.samples = data.samples.expand({n, 3, options.imageSize, options.imageSize}).contiguous();
    data.name = "idx:" + imagesPath + (labelsPath.empty() ? "" : ":" + labelsPath);
    data.hash = sha256Hex("coalesce-dataset/1\nidx\nimages " + images->fileSha256 + "\nlabels " + labelsDigest +
                          "\nchannels " + std::to_string(options.channels) + "\nsize " +
                          std::to_string(options.imageSize) + "\n");
    return data;
}

Dataset loadIdxSpec(const std::string& rest, const LoadOptions& options, std::vector<int64_t>* classes) {
    const auto split = splitTrailingClasses(rest);
    *classes = split.classes;
    const std::string& body = split.body;
    if (isFile(body)) return loadIdxDataset(body, "", options);
    // <images>:<labels>, either of which may contain ':': prefer the split where both files exist,
    // else the first where the images exist (so the error names the missing labels file).
    std::size_t chosen = std::string::npos, firstImages = std::string::npos;
    for (auto p = body.find(':'); p != std::string::npos; p = body.find(':', p + 1)) {
        const bool imagesThere = isFile(body.substr(0, p));
        if (imagesThere && firstImages == std::string::npos) firstImages = p;
        if (imagesThere && isFile(body.substr(p + 1))) {
            chosen = p;
            break;
        }
    }
    if (chosen == std::string::npos) chosen = firstImages != std::string::npos ? firstImages : body.rfind(':');
    if (chosen == std::string::npos) return loadIdxDataset(body, "", options);  // reports "no such file"
    return loadIdxDataset(body.substr(0, chosen), body.substr(chosen + 1), options);
}

Dataset loadNamedIdx(const std::string& kind, const std::string& rest, const LoadOptions& options,
                     std::vector<int64_t>* classes) {
    const auto colon = rest.find(':');
    std::string split = rest.substr(0, colon);
    if (split == "t10k") split = "test";
    if (split != "train" && split != "test")
        throw Error("dataset spec '" + kind + ":" + rest + "': unknown split '" + split + "' (use " + kind + ":train or " +
                    kind + ":test)");
    if (colon != std::string::npos && !parseClassList(rest.substr(colon + 1), classes))
        throw Error("dataset spec '" + kind + ":" + rest + "': '" + rest.substr(colon + 1) +
                    "' is not a class list (expected e.g. " + kind + ":train:8,9)");
    const auto [images, labels] = findIdxPair(kind, split);
    Dataset data = loadIdxDataset(images, labels, options);
    data.name = kind + ":" + split;
    return data;
}

// "cifar10:[<dir>:]<split>[:classes]" (and cifar100): <dir> may contain ':'; without it the folder
// under the data directory the archive unpacks to.
Dataset loadCifarSpec(CifarKind kind, const std::string& kindName, const std::string& rest, const LoadOptions& options,
                      std::vector<int64_t>* classes) {
    const auto split = splitTrailingClasses(rest);
    *classes = split.classes;
    const auto colon = split.body.rfind(':');
    const std::string dir = colon == std::string::npos ? defaultCifarDirectory(kind, dataDirectory()) : split.body.substr(0, colon);
    const std::string part = colon == std::string::npos ? split.body : split.body.substr(colon + 1);
    if (part != "train" && part != "test")
        throw Error("dataset spec '" + kindName + ":" + rest + "': expected " + kindName + ":<dir>:train or " + kindName +
                    ":<dir>:test (optionally :<classes>), got split '" + part + "'");
    return loadCifar(kind, dir, part, options);
}

// Rows `indices` of data (labels, names and warnings carried over).
Dataset select(const Dataset& data, const std::vector<int64_t>& indices) {
    Dataset out;
    auto index = torch::tensor(indices, torch::kLong);
    out.samples = data.samples.index_select(0, index.to(data.samples.device()));
    out.labels = data.labels.defined() ? data.labels.index_select(0, index.to(data.labels.device()))
                                       : torch::full({static_cast<int64_t>(indices.size())}, -1, torch::kLong);
    out.classNames = data.classNames;
    out.warnings = data.warnings;
    out.skippedFiles = data.skippedFiles;
    return out;
}

const char* sampleWord(const Dataset& data) { return data.samples.dim() == 2 ? "samples" : "images"; }

// "split:<weights>:<part>:<seed>:<spec>" → the part of <spec> (a whole spec, parsed last so that it
// may contain ':'), e.g. split:50,40,10:2:1:fashion-mnist:train.
Dataset loadSplitSpec(const std::string& rest, const LoadOptions& options) {
    const std::string usage = "dataset spec 'split:" + rest +
                              "': expected split:<weights>:<part>:<seed>:<spec>, e.g. split:50,40,10:2:1:fashion-mnist:train";
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (int i = 0; i < 3; ++i) {
        const auto colon = rest.find(':', start);
        if (colon == std::string::npos) throw Error(usage);
        fields.push_back(rest.substr(start, colon - start));
        start = colon + 1;
    }
    std::vector<int64_t> weights, part, seed;
    if (!parseClassList(fields[0], &weights)) throw Error(usage + " ('" + fields[0] + "' is not a list of weights)");
    if (!parseClassList(fields[1], &part) || part.size() != 1)
        throw Error(usage + " ('" + fields[1] + "' is not a part index)");
    if (!parseClassList(fields[2], &seed) || seed.size() != 1) throw Error(usage + " ('" + fields[2] + "' is not a seed)");
    const std::string inner = rest.substr(start);
    if (inner.empty()) throw Error(usage + " (no dataset spec after the seed)");
    return splitPart(loadDataset(inner, options), weights, part[0], static_cast<uint64_t>(seed[0]));
}

}  // namespace

Dataset loadDataset(const std::string& spec, const LoadOptions& options) {
    if (options.channels != 1 && options.channels != 3)
        throw Error("dataset '" + spec + "': channels must be 1 or 3, got " + std::to_string(options.channels));
    if (options.imageSize < 4 || options.imageSize > kMaxImageSize)
        throw Error("dataset '" + spec + "': image size must be in [4, " + std::to_string(kMaxImageSize) + "], got " +
                    std::to_string(options.imageSize));
    const auto colon = spec.find(':');
    if (spec.empty() || colon == std::string::npos)
        throw Error("dataset spec '" + spec +
                    "': expected fashion-mnist:<split>, mnist:<split>, cifar10:<dir>:<split>, cifar100:<dir>:<split>, "
                    "idx:<images>:<labels>, folder:<dir> or toy:<mixture>");
    const std::string kind = spec.substr(0, colon), rest = spec.substr(colon + 1);
    std::vector<int64_t> classes;
    Dataset data;
    if (kind == "fashion-mnist" || kind == "mnist") {
        data = loadNamedIdx(kind, rest, options, &classes);
    } else if (kind == "idx") {
        data = loadIdxSpec(rest, options, &classes);
    } else if (kind == "folder") {
        const auto split = splitTrailingClasses(rest);
        classes = split.classes;
        data = loadImageFolder(split.body, options);
    } else if (kind == "cifar10" || kind == "cifar100") {
        data = loadCifarSpec(kind == "cifar10" ? CifarKind::Cifar10 : CifarKind::Cifar100, kind, rest, options, &classes);
    } else if (kind == "toy") {
        data = loadToyDataset(rest);
    } else if (kind == "split") {
        return loadSplitSpec(rest, options);
    } else {
        throw Error("dataset spec '" + spec + "': unknown kind '" + kind +
                    "' (expected fashion-mnist, mnist, cifar10, cifar100, idx, folder, toy or split)");
    }
    return classes.empty() ? data : filterClasses(data, classes);
}

LoadOptions loadOptionsForSampleShape(const std::vector<std::int64_t>& sampleShape) {
    LoadOptions load;
    if (sampleShape.size() == 3) {
        load.channels = static_cast<int>(sampleShape[0]);
        load.imageSize = static_cast<int>(sampleShape[1]);
    }
    return load;
}

Dataset filterClasses(const Dataset& data, const std::vector<int64_t>& requested) {
    if (data.size() == 0) throw Error(data.name + ": dataset is empty, cannot select classes");
    if (data.classNames.empty() || !data.labels.defined())
        throw Error(data.name + ": dataset has no class labels, cannot select classes");
    if (requested.empty()) throw Error(data.name + ": no classes given to select");
    std::vector<int64_t> classes = requested;
    std::sort(classes.begin(), classes.end());
    classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
    const auto classCount = static_cast<int64_t>(data.classNames.size());
    for (auto c : classes)
        if (c < 0 || c >= classCount)
            throw Error(data.name + ": class " + std::to_string(c) + " does not exist (classes are 0.." +
                        std::to_string(classCount - 1) + ")");
    auto labels = data.labels.to(torch::kCPU).contiguous();
    const auto* l = labels.data_ptr<int64_t>();
    std::vector<char> wanted(static_cast<std::size_t>(classCount), 0);
    for (auto c : classes) wanted[static_cast<std::size_t>(c)] = 1;
    std::vector<int64_t> indices, found(static_cast<std::size_t>(classCount), 0);
    for (int64_t i = 0; i < labels.size(0); ++i)
        if (l[i] >= 0 && l[i] < classCount && wanted[static_cast<std::size_t>(l[i])]) {
            indices.push_back(i);
            ++found[static_cast<std::size_t>(l[i])];
        }
    for (auto c : classes)
        if (found[static_cast<std::size_t>(c)] == 0)
            throw Error(data.name + ": class " + std::to_string(c) + " ('" + data.classNames[static_cast<std::size_t>(c)] +
                        "') has no " + sampleWord(data));
    Dataset out = select(data, indices);
    out.name = data.name + ":" + joinClasses(classes);
    out.hash = sha256Hex(data.hash + "\nclasses " + joinClasses(classes) + "\n");
    return out;
}

Dataset kShotSubset(const Dataset& data, int64_t k, uint64_t seed) {
    if (k < 1) throw Error(data.name + ": k-shot size must be at least 1, got " + std::to_string(k));
    if (k > data.size())
        throw Error(data.name + ": k-shot size k=" + std::to_string(k) + " but the dataset has only " +
                    std::to_string(data.size()) + " " + sampleWord(data));
    auto order = randomPermutation(data.size(), seed);
    std::vector<int64_t> indices(order.begin(), order.begin() + k);
    std::sort(indices.begin(), indices.end());  // keep the source order: only the selection is random
    Dataset out = select(data, indices);
    out.name = data.name + " (k=" + std::to_string(k) + ", seed=" + std::to_string(seed) + ")";
    out.hash = sha256Hex(data.hash + "\nkshot " + std::to_string(k) + " seed " + std::to_string(seed) + "\n");
    return out;
}

std::string unsplitSpec(const std::string& spec) {
    std::string inner = spec;
    while (inner.rfind("split:", 0) == 0) {
        std::size_t at = 0;
        for (int field = 0; field < 4 && at != std::string::npos; ++field) at = inner.find(':', at + 1);
        if (at == std::string::npos) return inner;  // malformed: loadDataset reports it
        inner = inner.substr(at + 1);
    }
    return inner;
}

Dataset splitPart(const Dataset& data, const std::vector<int64_t>& weights, int64_t part, uint64_t seed) {
    if (weights.size() < 2) throw Error(data.name + ": a split needs at least two weights, e.g. 50,40,10");
    int64_t total = 0;
    for (auto w : weights) {
        if (w < 1) throw Error(data.name + ": split weights must be positive integers, got " + std::to_string(w));
        total += w;
    }
    const auto parts = static_cast<int64_t>(weights.size());
    if (part < 0 || part >= parts)
        throw Error(data.name + ": split part " + std::to_string(part) + " does not exist (parts are 0.." +
                    std::to_string(parts - 1) + ")");
    // Part i is the slice [⌊N·W_i/W⌋, ⌊N·W_{i+1}/W⌋) of one seeded permutation, W_i the cumulative
    // weight: the parts are disjoint, cover every sample, and do not depend on which part is asked for.
    const int64_t n = data.size();
    int64_t before = 0;
    for (int64_t i = 0; i < part; ++i) before += weights[static_cast<std::size_t>(i)];
    const int64_t begin = n * before / total, end = n * (before + weights[static_cast<std::size_t>(part)]) / total;
    if (end <= begin)
        throw Error(data.name + ": split part " + std::to_string(part) + " is empty (" + std::to_string(n) + " " +
                    sampleWord(data) + " split " + joinClasses(weights) + ")");
    const auto order = randomPermutation(n, seed);
    std::vector<int64_t> indices(order.begin() + begin, order.begin() + end);
    std::sort(indices.begin(), indices.end());  // source order kept, as for k-shot subsets
    Dataset out = select(data, indices);
    const std::string what = "split " + joinClasses(weights) + " part " + std::to_string(part) + " seed " + std::to_string(seed);
    out.name = data.name + " (" + what + ")";
    out.hash = sha256Hex(data.hash + "\n" + what + "\n");
    return out;
}

BatchSampler::BatchSampler(Dataset data, int64_t batchSize, uint64_t seed)
    : data_(std::move(data)), batchSize_(batchSize), seed_(seed) {
    if (data_.size() == 0) throw Error("batch sampler: dataset '" + data_.name + "' is empty");
    if (batchSize < 1) throw Error("batch sampler: batch size must be at least 1, got " + std::to_string(batchSize));
    batchSize_ = std::min(batchSize, data_.size());
}

torch::Tensor BatchSampler::next() {
    if (!order_.defined() || cursor_ + batchSize_ > order_.size(0)) {
        order_ = torch::tensor(randomPermutation(data_.size(), mixSeed(seed_, static_cast<uint64_t>(epoch_))), torch::kLong)
                     .to(data_.samples.device());
        ++epoch_;
        cursor_ = 0;
    }
    auto batch = data_.samples.index_select(0, order_.slice(0, cursor_, cursor_ + batchSize_));
    cursor_ += batchSize_;
    return batch;
}

}  // namespace coalesce
