#include "models/arch_spec.h"

#include "core/error.h"

namespace coalesce {

namespace {
std::string joinWidths(const std::vector<int>& w) {
    std::string s;
    for (size_t i = 0; i < w.size(); ++i) s += (i ? "-" : "") + std::to_string(w[i]);
    return s;
}
void requireWidths(const std::vector<int>& w, const char* name, size_t exact) {
    if (exact && w.size() != exact)
        throw Error(std::string("architecture: ") + name + " needs exactly " + std::to_string(exact) +
                    " widths, got " + std::to_string(w.size()));
    if (w.empty()) throw Error(std::string("architecture: ") + name + " is empty");
    for (int x : w)
        if (x < 1 || x > 8192)
            throw Error(std::string("architecture: ") + name + " width " + std::to_string(x) + " out of range 1..8192");
}
}  // namespace

namespace {
struct PresetWidths {
    const char* family;
    const char* name;
    std::vector<int> generator, critic;
};
// One table for every family's presets; "paper" of dcgan64 is the LSUN net the paper used at 64×64.
const std::vector<PresetWidths>& presetTable() {
    static const std::vector<PresetWidths> table{
        {"dcgan32", "small", {256, 64, 32}, {32, 64, 128}},
        {"dcgan32", "paper", {1024, 128, 64}, {64, 128, 256}},
        {"dcgan32", "cifar", {1024, 512, 256}, {256, 512, 1024}},
        {"dcgan64", "small", {256, 128, 64, 32}, {32, 64, 128, 256}},
        {"dcgan64", "lsun", {1024, 512, 256, 128}, {128, 256, 512, 1024}},
        {"dcgan64", "paper", {1024, 512, 256, 128}, {128, 256, 512, 1024}},
        {"mlp2d", "small", {128, 128, 128}, {128, 128, 128}},
        {"mlp2d", "paper", {128, 128, 128}, {128, 128, 128}},
    };
    return table;
}
const char* kFamilies = "dcgan32, dcgan64 or mlp2d";
}  // namespace

int ArchSpec::familyImageSize(const std::string& family) {
    if (family == "dcgan32") return 32;
    if (family == "dcgan64") return 64;
    return 0;
}

std::vector<std::string> ArchSpec::presetNames(const std::string& family) {
    std::vector<std::string> names;
    for (const auto& p : presetTable())
        if (family == p.family) names.push_back(p.name);
    return names;
}

ArchSpec ArchSpec::preset(const std::string& family, const std::string& preset, int channels) {
    const auto names = presetNames(family);
    if (names.empty()) throw Error("architecture: unknown family '" + family + "' (use " + kFamilies + ")");
    for (const auto& p : presetTable()) {
        if (family != p.family || preset != p.name) continue;
        ArchSpec s;
        s.family = family;
        s.generatorWidths = p.generator;
        s.criticWidths = p.critic;
        if (s.isImage()) {
            s.channels = channels;
            s.imageSize = familyImageSize(family);
            s.latentDim = 100;
        } else {
            s.channels = 1;
            s.dataDim = 2;
            s.latentDim = 8;
        }
        return fromJson(s.toJson());  // validates
    }
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw Error("architecture: unknown preset '" + preset + "' for " + family + " (use " + list + ")");
}

nlohmann::json ArchSpec::toJson() const {
    nlohmann::json j{{"family", family}, {"latent_dim", latentDim},
                     {"generator_widths", generatorWidths}, {"critic_widths", criticWidths}};
    if (isImage()) {
        j["channels"] = channels;
        j["image_size"] = imageSize;
    } else {
        j["data_dim"] = dataDim;
    }
    return j;
}

ArchSpec ArchSpec::fromJson(const nlohmann::json& j) {
    if (!j.is_object()) throw Error("architecture: expected a JSON object");
    ArchSpec s;
    try {
        s.family = j.at("family").get<std::string>();
        s.latentDim = j.at("latent_dim").get<int>();
        s.generatorWidths = j.at("generator_widths").get<std::vector<int>>();
        s.criticWidths = j.at("critic_widths").get<std::vector<int>>();
        if (s.isImage()) {
            s.channels = j.at("channels").get<int>();
            s.imageSize = j.value("image_size", familyImageSize(s.family));
        } else if (s.family == "mlp2d") {
            s.dataDim = j.at("data_dim").get<int>();
        }
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("architecture: missing or mistyped field (") + e.what() + ")");
    }
    if (s.latentDim < 1 || s.latentDim > 4096) throw Error("architecture: latent_dim out of range 1..4096");
    if (s.isImage()) {
        if (s.channels != 1 && s.channels != 3)
            throw Error("architecture: channels must be 1 or 3, got " + std::to_string(s.channels));
        const int size = familyImageSize(s.family);
        if (s.imageSize != size)
            throw Error("architecture: " + s.family + " makes " + std::to_string(size) + "×" + std::to_string(size) +
                        " images, got image_size " + std::to_string(s.imageSize));
        // 4 × 2^widths = the image side: each width is one stride-2 stage after the 4×4 projection.
        const size_t stages = size == 32 ? 3 : 4;
        requireWidths(s.generatorWidths, "generator_widths", stages);
        requireWidths(s.criticWidths, "critic_widths", stages);
    } else if (s.family == "mlp2d") {
        if (s.dataDim < 1 || s.dataDim > 4096) throw Error("architecture: data_dim out of range 1..4096");
        requireWidths(s.generatorWidths, "generator_widths", 0);
        requireWidths(s.criticWidths, "critic_widths", 0);
    } else {
        throw Error("architecture: unknown family '" + s.family + "' (use " + kFamilies + ")");
    }
    return s;
}

std::vector<std::int64_t> ArchSpec::sampleShape() const {
    if (isImage()) return {channels, imageSize, imageSize};
    return {dataDim};
}

bool ArchSpec::operator==(const ArchSpec& o) const { return toJson() == o.toJson(); }

std::string ArchSpec::describe() const {
    std::string s = family + " ";
    if (isImage())
        s += std::to_string(channels) + "×" + std::to_string(imageSize) + "×" + std::to_string(imageSize);
    else
        s += "R^" + std::to_string(dataDim);
    return s + ", z=" + std::to_string(latentDim) + ", G " + joinWidths(generatorWidths) + ", D " +
           joinWidths(criticWidths);
}

}  // namespace coalesce
