#include "data/toy.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <torch/torch.h>

#include "core/error.h"
#include "data/digest.h"
#include "data/random.h"

namespace coalesce {

namespace {

constexpr int64_t kDefaultToySamples = 1000;
constexpr int64_t kMaxToySamples = 100'000'000;

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, separator)) parts.push_back(part);
    if (!text.empty() && text.back() == separator) parts.emplace_back();
    return parts;
}

// Exactly `count` comma-separated finite numbers.
std::vector<double> parseNumbers(const std::string& field, std::size_t count, const std::string& context,
                                 const std::string& expected) {
    auto parts = split(field, ',');
    std::vector<double> values;
    for (const auto& part : parts) {
        char* end = nullptr;
        const double v = std::strtod(part.c_str(), &end);
        if (part.empty() || *end != '\0' || !std::isfinite(v)) {
            values.clear();
            break;
        }
        values.push_back(v);
    }
    if (values.size() != count)
        throw Error("toy mixture '" + context + "': '" + field + "' must be " + expected);
    return values;
}

int64_t parseCount(const std::string& field, const std::string& context, const char* what, int64_t minimum,
                   int64_t maximum) {
    char* end = nullptr;
    const long long v = std::strtoll(field.c_str(), &end, 10);
    if (field.empty() || *end != '\0' || v < minimum || v > maximum)
        throw Error("toy spec '" + context + "': " + what + " must be an integer in [" + std::to_string(minimum) +
                    ", " + std::to_string(maximum) + "], got '" + field + "'");
    return v;
}

std::string formatNumber(double value) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    // Shortest representation that round-trips, for readable canonical names.
    for (int precision = 1; precision <= 17; ++precision) {
        char shorter[32];
        std::snprintf(shorter, sizeof shorter, "%.*g", precision, value);
        if (std::strtod(shorter, nullptr) == value) return shorter;
    }
    return buf;
}

GaussianMixture ring(int64_t k, double radius, double std) {
    GaussianMixture m;
    for (int64_t i = 0; i < k; ++i) {
        const double angle = 6.283185307179586476925 * static_cast<double>(i) / static_cast<double>(k);
        m.means.push_back({radius * std::cos(angle), radius * std::sin(angle)});
        m.stds.push_back(std);
    }
    return m;
}

GaussianMixture grid(int64_t k, double spacing, double std) {
    GaussianMixture m;
    const double offset = spacing * static_cast<double>(k - 1) / 2.0;
    for (int64_t row = 0; row < k; ++row)
        for (int64_t col = 0; col < k; ++col) {
            m.means.push_back({col * spacing - offset, row * spacing - offset});
            m.stds.push_back(std);
        }
    return m;
}

}  // namespace

GaussianMixture GaussianMixture::parse(const std::string& text) {
    const auto colon = text.find(':');
    const std::string kind = text.substr(0, colon);
    const std::string params = colon == std::string::npos ? "" : text.substr(colon + 1);
    const bool parametric = kind == "ring" || kind == "grid" || kind == "gauss";
    if (!parametric && colon != std::string::npos)
        throw Error("toy mixture '" + text + "': '" + kind + "' takes no parameters");
    GaussianMixture m;
    if (kind == "ring8") {
        m = ring(8, 2.0, 0.02);
    } else if (kind == "grid25") {
        m = grid(5, 2.0, 0.05);
    } else if (kind == "ring" || kind == "grid") {
        const auto v = parseNumbers(params, 3, text, "three numbers <k>,<" +
                                    std::string(kind == "ring" ? "radius" : "spacing") + ">,<std>");
        if (v[0] < 1 || v[0] > 10000 || v[0] != std::floor(v[0]))
            throw Error("toy mixture '" + text + "': k must be an integer in [1, 10000]");
        if (v[1] < 0) throw Error("toy mixture '" + text + "': " + (kind == "ring" ? "radius" : "spacing") + " must be ≥ 0");
        if (v[2] <= 0) throw Error("toy mixture '" + text + "': std must be > 0");
        m = kind == "ring" ? ring(static_cast<int64_t>(v[0]), v[1], v[2]) : grid(static_cast<int64_t>(v[0]), v[1], v[2]);
        m.name = kind + ":" + formatNumber(v[0]) + "," + formatNumber(v[1]) + "," + formatNumber(v[2]);
        return m;
    } else if (kind == "gauss") {
        const auto v = parseNumbers(params, 3, text, "three numbers <mx>,<my>,<std>");
        if (v[2] <= 0) throw Error("toy mixture '" + text + "': std must be > 0");
        m.means.push_back({v[0], v[1]});
        m.stds.push_back(v[2]);
        m.name = "gauss:" + formatNumber(v[0]) + "," + formatNumber(v[1]) + "," + formatNumber(v[2]);
        return m;
    } else {
        throw Error("unknown toy mixture '" + text +
                    "' (known: ring8, grid25, ring:<k>,<radius>,<std>, grid:<k>,<spacing>,<std>, gauss:<mx>,<my>,<std>)");
    }
    m.name = kind;
    return m;
}

torch::Tensor GaussianMixture::sample(int64_t n, uint64_t seed, torch::Tensor* components) const {
    if (means.empty()) throw Error("toy mixture '" + name + "' has no components");
    auto points = torch::empty({n, 2}, torch::kFloat);
    auto labels = torch::empty({n}, torch::kLong);
    auto p = points.accessor<float, 2>();
    auto l = labels.accessor<int64_t, 1>();
    SplitMix64 rng(seed);
    for (int64_t i = 0; i < n; ++i) {
        const auto c = static_cast<std::size_t>(rng.below(means.size()));
        l[i] = static_cast<int64_t>(c);
        p[i][0] = static_cast<float>(means[c][0] + stds[c] * rng.normal());
        p[i][1] = static_cast<float>(means[c][1] + stds[c] * rng.normal());
    }
    if (components) *components = labels;
    return points;
}

torch::Tensor GaussianMixture::meansTensor() const {
    auto t = torch::empty({static_cast<int64_t>(means.size()), 2}, torch::kFloat);
    for (std::size_t i = 0; i < means.size(); ++i) {
        t[static_cast<int64_t>(i)][0] = means[i][0];
        t[static_cast<int64_t>(i)][1] = means[i][1];
    }
    return t;
}

Dataset loadToyDataset(const std::string& spec) {
    auto fields = split(spec, ':');
    if (fields.empty() || fields[0].empty())
        throw Error("toy spec 'toy:" + spec + "': name a mixture, e.g. toy:ring8 or toy:gauss:0,0,1:500");
    std::string mixtureText = fields[0];
    std::size_t next = 1;
    if ((fields[0] == "ring" || fields[0] == "grid" || fields[0] == "gauss")) {
        if (fields.size() < 2)
            throw Error("toy spec 'toy:" + spec + "': '" + fields[0] + "' needs parameters, e.g. toy:gauss:0,0,1");
        mixtureText += ":" + fields[1];
        next = 2;
    }
    if (fields.size() > next + 2)
        throw Error("toy spec 'toy:" + spec + "': too many fields (expected toy:<mixture>[:n[:seed]])");
    const auto mixture = GaussianMixture::parse(mixtureText);
    const std::string context = "toy:" + spec;
    const int64_t n = fields.size() > next ? parseCount(fields[next], context, "n", 1, kMaxToySamples) : kDefaultToySamples;
    const uint64_t seed = fields.size() > next + 1
                              ? static_cast<uint64_t>(parseCount(fields[next + 1], context, "seed", 0, INT64_MAX))
                              : 0;
    Dataset data;
    data.samples = mixture.sample(n, seed, &data.labels);
    for (std::size_t i = 0; i < mixture.means.size(); ++i) data.classNames.push_back(std::to_string(i));
    data.name = "toy:" + mixture.name + ":" + std::to_string(n) + ":" + std::to_string(seed);
    // Generated data: the canonical spec (mixture parameters, n, seed) determines every sample.
    data.hash = sha256Hex("coalesce-dataset/1\n" + data.name + "\n");
    return data;
}

}  // namespace coalesce
