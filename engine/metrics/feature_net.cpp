#include "metrics/feature_net.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "core/runtime.h"
#include "data/digest.h"
#include "data/random.h"
#include "io/checkpoint.h"

namespace coalesce {

namespace nn = torch::nn;
using nlohmann::json;

namespace {

constexpr const char* kModulePrefix = "feature_net";
constexpr const char* kContentTag = "feature-net";

int intField(const json& j, const char* key, int fallback, int minimum, const char* where) {
    if (!j.contains(key)) return fallback;
    if (!j[key].is_number_integer() || j[key].get<int64_t>() < minimum)
        throw Error(std::string(where) + "." + key + ": expected an integer >= " + std::to_string(minimum) +
                    ", got " + j[key].dump());
    return j[key].get<int>();
}

void rejectUnknownKeys(const json& j, std::initializer_list<const char*> known, const char* where) {
    if (!j.is_object()) throw Error(std::string(where) + ": expected a JSON object, got " + j.dump());
    for (const auto& item : j.items()) {
        bool ok = false;
        for (const char* k : known) ok = ok || item.key() == k;
        if (!ok) throw Error(std::string(where) + ": unknown field \"" + item.key() + "\"");
    }
}

}  // namespace

// ---- spec and recipe ----------------------------------------------------------------------------------

json FeatureNetSpec::toJson() const {
    return {{"channels", channels}, {"image_size", imageSize}, {"classes", classes},
            {"conv_widths", convWidths}, {"feature_dim", featureDim}};
}

FeatureNetSpec FeatureNetSpec::fromJson(const json& j) {
    const char* where = "feature net arch";
    rejectUnknownKeys(j, {"channels", "image_size", "classes", "conv_widths", "feature_dim"}, where);
    FeatureNetSpec s;
    s.channels = intField(j, "channels", s.channels, 1, where);
    s.imageSize = intField(j, "image_size", s.imageSize, 4, where);
    s.classes = intField(j, "classes", s.classes, 2, where);
    s.featureDim = intField(j, "feature_dim", s.featureDim, 1, where);
    if (j.contains("conv_widths")) {
        if (!j["conv_widths"].is_array() || j["conv_widths"].empty())
            throw Error("feature net arch.conv_widths: expected a non-empty array of positive integers");
        s.convWidths.clear();
        for (const auto& w : j["conv_widths"]) {
            if (!w.is_number_integer() || w.get<int>() < 1)
                throw Error("feature net arch.conv_widths: expected positive integers, got " + w.dump());
            s.convWidths.push_back(w.get<int>());
        }
    }
    if (s.channels != 1 && s.channels != 3) throw Error("feature net arch.channels: must be 1 or 3");
    if (s.imageSize % (1 << s.convWidths.size()) != 0)
        throw Error("feature net arch.image_size: " + std::to_string(s.imageSize) + " is not divisible by 2^" +
                    std::to_string(s.convWidths.size()) + " (one halving per conv)");
    return s;
}

json FeatureNetTraining::toJson() const {
    return {{"epochs", epochs}, {"batch_size", batchSize}, {"learning_rate", learningRate}, {"seed", seed}};
}

FeatureNetTraining FeatureNetTraining::fromJson(const json& j) {
    const char* where = "feature net training";
    rejectUnknownKeys(j, {"epochs", "batch_size", "learning_rate", "seed"}, where);
    FeatureNetTraining t;
    t.epochs = intField(j, "epochs", t.epochs, 1, where);
    t.batchSize = intField(j, "batch_size", t.batchSize, 1, where);
    if (j.contains("learning_rate")) {
        if (!j["learning_rate"].is_number() || !(j["learning_rate"].get<double>() > 0))
            throw Error("feature net training.learning_rate: expected a positive number, got " + j["learning_rate"].dump());
        t.learningRate = j["learning_rate"].get<double>();
    }
    if (j.contains("seed")) {
        if (!j["seed"].is_number_unsigned()) throw Error("feature net training.seed: expected an integer >= 0");
        t.seed = j["seed"].get<uint64_t>();
    }
    return t;
}

// ---- the network --------------------------------------------------------------------------------------

FeatureNetImpl::FeatureNetImpl(const FeatureNetSpec& spec) : spec_(spec) {
    body = nn::Sequential();
    int in = spec.channels, size = spec.imageSize;
    for (int width : spec.convWidths) {
        body->push_back(nn::Conv2d(nn::Conv2dOptions(in, width, 4).stride(2).padding(1)));
        body->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
        in = width;
        size /= 2;
    }
    body->push_back(nn::Flatten());
    body->push_back(nn::Linear(in * size * size, spec.featureDim));
    body->push_back(nn::ReLU());
    register_module("body", body);
    dropout = register_module("dropout", nn::Dropout(0.3));
    head = register_module("head", nn::Linear(spec.featureDim, spec.classes));
}

torch::Tensor FeatureNetImpl::features(const torch::Tensor& images) {
    if (images.dim() != 4 || images.size(1) != spec_.channels || images.size(2) != spec_.imageSize ||
        images.size(3) != spec_.imageSize)
        throw Error("feature net: expected images B×" + std::to_string(spec_.channels) + "×" +
                    std::to_string(spec_.imageSize) + "×" + std::to_string(spec_.imageSize) + ", got " +
                    c10::str(images.sizes()));
    return body->forward(images);
}

torch::Tensor FeatureNetImpl::forward(const torch::Tensor& images) { return head->forward(dropout->forward(features(images))); }

// ---- training -----------------------------------------------------------------------------------------

namespace {

// Labels as 0..classes−1; errors for unlabeled or out-of-range samples.
int classCount(const Dataset& data, const std::string& what) {
    if (data.size() == 0) throw Error("feature net: the " + what + " data set is empty");
    if (data.samples.dim() != 4) throw Error("feature net: the " + what + " data (" + data.name + ") are not images");
    if (!data.labels.defined() || data.labels.numel() != data.size())
        throw Error("feature net: the " + what + " data (" + data.name + ") have no labels");
    const int64_t lo = data.labels.min().item<int64_t>(), hi = data.labels.max().item<int64_t>();
    if (lo < 0) throw Error("feature net: the " + what + " data (" + data.name + ") contain unlabeled samples; a classifier needs labels");
    const int64_t classes = std::max<int64_t>(static_cast<int64_t>(data.classNames.size()), hi + 1);
    if (classes < 2) throw Error("feature net: the " + what + " data (" + data.name + ") have a single class; a classifier needs at least 2");
    return static_cast<int>(classes);
}

}  // namespace

double classificationAccuracy(FeatureNet& net, const Dataset& data, int64_t batchSize) {
    classCount(data, "test");
    torch::NoGradGuard noGrad;
    const bool wasTraining = net->is_training();
    net->eval();
    const auto device = net->head->weight.device();
    int64_t correct = 0;
    for (int64_t start = 0; start < data.size(); start += batchSize) {
        const int64_t end = std::min(data.size(), start + batchSize);
        auto logits = net->forward(data.samples.slice(0, start, end).to(device));
        correct += (logits.argmax(1).cpu() == data.labels.slice(0, start, end)).sum().item<int64_t>();
    }
    net->train(wasTraining);
    return static_cast<double>(correct) / static_cast<double>(data.size());
}

TrainedFeatureNet trainFeatureNet(const Dataset& train, const Dataset& test, const FeatureNetTraining& training,
                                  const torch::Device& device, JobObserver* observer, CancelToken* cancel) {
    FeatureNetSpec spec;
    spec.classes = classCount(train, "training");
    spec.channels = static_cast<int>(train.samples.size(1));
    spec.imageSize = static_cast<int>(train.samples.size(2));
    spec = FeatureNetSpec::fromJson(spec.toJson());  // validates the geometry
    const bool haveTest = test.size() > 0;
    if (haveTest) {
        const int testClasses = classCount(test, "test");
        if (testClasses > spec.classes || test.samples.sizes().slice(1) != train.samples.sizes().slice(1))
            throw Error("feature net: the test data (" + test.name + ") do not match the training data (" + train.name +
                        ") in image shape or classes");
    }

    const auto started = std::chrono::steady_clock::now();
    torch::manual_seed(training.seed);  // weight init and dropout masks
    FeatureNet net(spec);
    net->to(device);
    torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(training.learningRate));
    const int64_t n = train.size();
    const int64_t batch = std::min<int64_t>(training.batchSize, n);
    const int64_t batchesPerEpoch = n / batch;  // the last partial batch is dropped
    const int64_t totalBatches = batchesPerEpoch * training.epochs;
    double lastLoss = 0, testAccuracy = -1;
    for (int epoch = 0; epoch < training.epochs; ++epoch) {
        if (epoch == training.epochs - 1 && training.epochs > 1)  // a short low-rate finish gains ~0.5 %
            for (auto& group : optimizer.param_groups())
                static_cast<torch::optim::AdamOptions&>(group.options()).lr(training.learningRate * 0.1);
        net->train();
        const auto order = randomPermutation(n, mixSeed(training.seed, static_cast<uint64_t>(epoch)));
        auto orderTensor = torch::tensor(order, torch::kLong);
        double lossSum = 0;
        for (int64_t b = 0; b < batchesPerEpoch; ++b) {
            if (cancel) cancel->check();
            auto idx = orderTensor.slice(0, b * batch, (b + 1) * batch);
            auto x = train.samples.index_select(0, idx).to(device);
            auto y = train.labels.index_select(0, idx).to(device);
            optimizer.zero_grad();
            auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
            loss.backward();
            optimizer.step();
            lossSum += loss.item<double>();
            if (observer && (b % 20 == 0 || b + 1 == batchesPerEpoch))
                observer->onProgress(epoch * batchesPerEpoch + b + 1, totalBatches, "feature-net");
        }
        lastLoss = lossSum / static_cast<double>(batchesPerEpoch);
        if (observer) observer->onMetric("feature_net/train_loss", epoch + 1, lastLoss);
        if (haveTest) {
            testAccuracy = classificationAccuracy(net, test);
            if (observer) {
                observer->onMetric("feature_net/test_accuracy", epoch + 1, testAccuracy);
                observer->onLog(LogLevel::Info, "feature net epoch " + std::to_string(epoch + 1) + "/" +
                                                    std::to_string(training.epochs) + ": loss " + std::to_string(lastLoss) +
                                                    ", test accuracy " + std::to_string(testAccuracy));
            }
        }
    }
    net->eval();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    TrainedFeatureNet result;
    result.net = net;
    result.net->to(torch::kCPU);
    result.info = {{"train_data", train.name}, {"train_data_hash", train.hash}, {"train_samples", n},
                   {"arch", spec.toJson()}, {"training", training.toJson()}, {"final_train_loss", lastLoss},
                   {"train_seconds", seconds}, {"train_device", device.str()}};
    if (haveTest) {
        result.info["test_data"] = test.name;
        result.info["test_data_hash"] = test.hash;
        result.info["test_accuracy"] = testAccuracy;
    }
    return result;
}

// ---- files and cache ----------------------------------------------------------------------------------

void saveFeatureNet(const std::string& path, const TrainedFeatureNet& net) {
    Checkpoint ck;
    // The checkpoint format is built around generators; its ArchSpec records the image geometry the
    // feature net reads, and meta says what the file really holds.
    ck.arch = ArchSpec::preset("dcgan32", "small", net.net->spec().channels);
    ck.meta = {{"content", kContentTag}, {"feature_net_arch", net.net->spec().toJson()}, {"info", net.info}};
    storeModule(ck, kModulePrefix, *net.net);
    saveCheckpoint(path, ck);
}

TrainedFeatureNet loadFeatureNet(const std::string& path) {
    Checkpoint ck = loadCheckpoint(path);
    if (!ck.meta.is_object() || ck.meta.value("content", std::string()) != kContentTag || !ck.meta.contains("feature_net_arch"))
        throw Error(path + ": not a feature-net file (meta.content is not \"" + kContentTag + "\")");
    FeatureNetSpec spec;
    try {
        spec = FeatureNetSpec::fromJson(ck.meta["feature_net_arch"]);
    } catch (const Error& e) {
        throw Error(path + ": " + e.what());
    }
    TrainedFeatureNet result;
    result.net = FeatureNet(spec);
    restoreModule(ck, kModulePrefix, *result.net, path);
    result.net->eval();
    result.info = ck.meta.value("info", json::object());
    result.info["path"] = path;
    return result;
}

std::string defaultFeatureNetCacheDir() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    if (xdg && *xdg) return (std::filesystem::path(xdg) / "coalesce").string();
    const char* home = std::getenv("HOME");
    if (home && *home) return (std::filesystem::path(home) / ".cache" / "coalesce").string();
    return (std::filesystem::current_path() / ".coalesce-cache").string();
}

std::string testSplitFor(const std::string& trainSpec) {
    const auto colon = trainSpec.find(':');
    if (colon == std::string::npos) return "";
    const std::string family = trainSpec.substr(0, colon);
    if (family != "fashion-mnist" && family != "mnist") return "";
    const std::string rest = trainSpec.substr(colon + 1);
    if (rest == "train") return family + ":test";
    if (rest.rfind("train:", 0) == 0) return family + ":test" + rest.substr(5);
    return "";
}

std::string featureNetCachePath(const std::string& cacheDir, const std::string& dataHash, const FeatureNetSpec& spec,
                                const FeatureNetTraining& training) {
    const std::string key = sha256Hex("coalesce-feature-net/1\ndata " + dataHash + "\narch " + spec.toJson().dump() +
                                      "\ntraining " + training.toJson().dump() + "\n")
                                .substr(0, 16);
    return (std::filesystem::path(cacheDir.empty() ? defaultFeatureNetCacheDir() : cacheDir) /
            ("feature-net-" + key + ".coalesce"))
        .string();
}

TrainedFeatureNet obtainFeatureNet(const FeatureNetRequest& request, JobObserver* observer, CancelToken* cancel,
                                   bool retrain) {
    LoadOptions load;
    load.channels = request.channels;
    load.imageSize = request.imageSize;
    Dataset train = loadDataset(request.trainData, load);
    FeatureNetSpec spec;
    spec.channels = request.channels;
    spec.imageSize = load.imageSize;
    spec.classes = classCount(train, "training");
    const std::string cacheDir = request.cacheDir.empty() ? defaultFeatureNetCacheDir() : request.cacheDir;
    const std::string path = featureNetCachePath(cacheDir, train.hash, spec, request.training);
    if (!retrain && std::filesystem::exists(path)) {
        try {
            auto cached = loadFeatureNet(path);
            if (cached.net->spec() == spec) return cached;
            if (observer) observer->onLog(LogLevel::Warning, path + ": cached feature net has another architecture; retraining");
        } catch (const Error& e) {
            if (observer) observer->onLog(LogLevel::Warning, std::string("cached feature net unusable (") + e.what() + "); retraining");
        }
    }
    Dataset test;
    const std::string testSpec = request.testData.empty() ? testSplitFor(request.trainData) : request.testData;
    if (!testSpec.empty()) test = loadDataset(testSpec, load);
    if (observer)
        observer->onLog(LogLevel::Info, "training the feature net on " + train.name + " (" + std::to_string(train.size()) +
                                            " images, " + std::to_string(request.training.epochs) + " epochs) → " + path);
    auto trained = trainFeatureNet(train, test, request.training, resolveDevice(request.device), observer, cancel);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    trained.info["path"] = path;
    trained.info["train_spec"] = request.trainData;
    if (!testSpec.empty()) trained.info["test_spec"] = testSpec;
    saveFeatureNet(path, trained);
    return trained;
}

json describeFeatureNetCache(const std::string& cacheDirIn) {
    const std::string cacheDir = cacheDirIn.empty() ? defaultFeatureNetCacheDir() : cacheDirIn;
    json nets = json::array(), unreadable = json::array();
    std::error_code ec;
    if (std::filesystem::is_directory(cacheDir, ec)) {
        std::vector<std::string> paths;
        for (const auto& entry : std::filesystem::directory_iterator(cacheDir, ec)) {
            const auto name = entry.path().filename().string();
            if (name.rfind("feature-net-", 0) == 0 && entry.path().extension() == ".coalesce") paths.push_back(entry.path().string());
        }
        std::sort(paths.begin(), paths.end());
        for (const auto& p : paths) {
            try {
                nets.push_back(loadFeatureNet(p).info);
            } catch (const Error& e) {
                unreadable.push_back({{"path", p}, {"error", e.what()}});
            }
        }
    }
    return {{"cache_dir", cacheDir}, {"nets", nets}, {"unreadable", unreadable}};
}

torch::Tensor extractFeatures(FeatureNet& net, const torch::Tensor& images, int64_t batchSize) {
    torch::NoGradGuard noGrad;
    const bool wasTraining = net->is_training();
    net->eval();
    const auto device = net->head->weight.device();
    std::vector<torch::Tensor> out;
    for (int64_t start = 0; start < images.size(0); start += batchSize) {
        const int64_t end = std::min(images.size(0), start + batchSize);
        out.push_back(net->features(images.slice(0, start, end).to(device, torch::kFloat)).to(torch::kCPU));
    }
    net->train(wasTraining);
    if (out.empty()) return torch::empty({0, net->spec().featureDim});
    return torch::cat(out);
}

}  // namespace coalesce
