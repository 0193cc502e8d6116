// Architecture as data: every model file carries its ArchSpec as JSON, so files are self-describing.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace coalesce {

struct ArchSpec {
    // "dcgan32": the paper's MNIST nets (4×4 kernels; G ConvT widths, D Conv widths), 32×32 images.
    // "mlp2d":   MLPs for the 2-D toy mode (samples are points in R^dataDim).
    std::string family = "dcgan32";
    int channels = 1;       // dcgan32: 1 or 3
    int imageSize = 32;     // dcgan32: fixed 32
    int dataDim = 2;        // mlp2d: dimension of a sample
    int latentDim = 100;
    std::vector<int> generatorWidths{1024, 128, 64};  // dcgan32: ConvT widths; mlp2d: hidden sizes
    std::vector<int> criticWidths{64, 128, 256};      // dcgan32: Conv widths;  mlp2d: hidden sizes

    // family "dcgan32": preset "paper" (G 1024-128-64, D 64-128-256) or "small" (G 256-64-32,
    // D 32-64-128, the CPU-friendly default). family "mlp2d": preset "small" or "paper" (same).
    static ArchSpec preset(const std::string& family, const std::string& preset = "small", int channels = 1);

    nlohmann::json toJson() const;
    // Validates every field; throws coalesce::Error naming the bad field.
    static ArchSpec fromJson(const nlohmann::json& j);
    // Shape of one sample: {C, H, W} for images, {dataDim} for mlp2d.
    std::vector<std::int64_t> sampleShape() const;
    bool isImage() const { return family == "dcgan32"; }
    bool operator==(const ArchSpec& o) const;
    bool operator!=(const ArchSpec& o) const { return !(*this == o); }
    std::string describe() const;  // one line, e.g. "dcgan32 1×32×32, z=100, G 1024-128-64, D 64-128-256"
};

}  // namespace coalesce
