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

ArchSpec ArchSpec::preset(const std::string& family, const std::string& preset, int channels) {
    ArchSpec s;
    s.family = family;
    if (family == "dcgan32") {
        s.channels = channels;
        s.latentDim = 100;
        if (preset == "paper") {
            s.generatorWidths = {1024, 128, 64};
            s.criticWidths = {64, 128, 256};
        } else if (preset == "small") {
            s.generatorWidths = {256, 64, 32};
            s.criticWidths = {32, 64, 128};
        } else {
            throw Error("architecture: unknown preset '" + preset + "' (use paper or small)");
        }
    } else if (family == "mlp2d") {
        s.channels = 1;
        s.dataDim = 2;
        s.latentDim = 8;
        s.generatorWidths = {128, 128, 128};
        s.criticWidths = {128, 128, 128};
        if (preset != "small" && preset != "paper")
            throw Error("architecture: unknown preset '" + preset + "' (use paper or small)");
    } else {
        throw Error("architecture: unknown family '" + family + "' (use dcgan32 or mlp2d)");
    }
    return fromJson(s.toJson());  // validates
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
        if (s.family == "dcgan32") {
            s.channels = j.at("channels").get<int>();
            s.imageSize = j.value("image_size", 32);
        } else if (s.family == "mlp2d") {
            s.dataDim = j.at("data_dim").get<int>();
        }
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("architecture: missing or mistyped field (") + e.what() + ")");
    }
    if (s.latentDim < 1 || s.latentDim > 4096) throw Error("architecture: latent_dim out of range 1..4096");
    if (s.family == "dcgan32") {
        if (s.channels != 1 && s.channels != 3)
            throw Error("architecture: channels must be 1 or 3, got " + std::to_string(s.channels));
        if (s.imageSize != 32)
            throw Error("architecture: dcgan32 makes 32×32 images, got image_size " + std::to_string(s.imageSize));
        requireWidths(s.generatorWidths, "generator_widths", 3);
        requireWidths(s.criticWidths, "critic_widths", 3);
    } else if (s.family == "mlp2d") {
        if (s.dataDim < 1 || s.dataDim > 4096) throw Error("architecture: data_dim out of range 1..4096");
        requireWidths(s.generatorWidths, "generator_widths", 0);
        requireWidths(s.criticWidths, "critic_widths", 0);
    } else {
        throw Error("architecture: unknown family '" + s.family + "' (use dcgan32 or mlp2d)");
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
