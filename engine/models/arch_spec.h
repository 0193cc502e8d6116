// Architecture as data: every model file carries its ArchSpec as JSON, so files are self-describing.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace coalesce {

struct ArchSpec {
    // "dcgan32": the paper's MNIST and CIFAR nets (4×4 kernels; three G ConvT widths, three D Conv
    //            widths), 32×32 images.
    // "dcgan64": the paper's LSUN nets, the same layers with four widths each, 64×64 images.
    // "mlp2d":   MLPs for the 2-D toy mode (samples are points in R^dataDim).
    std::string family = "dcgan32";
    int channels = 1;       // image families: 1 or 3
    int imageSize = 32;     // image families: fixed by the family (32 or 64)
    int dataDim = 2;        // mlp2d: dimension of a sample
    int latentDim = 100;
    std::vector<int> generatorWidths{1024, 128, 64};  // dcgan32: ConvT widths; mlp2d: hidden sizes
    std::vector<int> criticWidths{64, 128, 256};      // dcgan32: Conv widths;  mlp2d: hidden sizes

    // Presets (the table in models/README.md):
    //   dcgan32: "small" (G 256-64-32, D 32-64-128, the CPU-friendly default), "paper" (MNIST:
    //            G 1024-128-64, D 64-128-256), "cifar" (G 1024-512-256, D 256-512-1024);
    //   dcgan64: "small" (G 256-128-64-32, D 32-64-128-256), "lsun" = "paper" (G 1024-512-256-128,
    //            D 128-256-512-1024);
    //   mlp2d:   "small" = "paper".
    // `channels` is used as given (the CIFAR and LSUN nets are meant for 3).
    static ArchSpec preset(const std::string& family, const std::string& preset = "small", int channels = 1);
    // Names of the presets of a family (for help texts and pickers); empty for an unknown family.
    static std::vector<std::string> presetNames(const std::string& family);
    // The image side a family makes (32, 64), or 0 for a family without images (mlp2d) or unknown.
    static int familyImageSize(const std::string& family);

    nlohmann::json toJson() const;
    // Validates every field; throws coalesce::Error naming the bad field.
    static ArchSpec fromJson(const nlohmann::json& j);
    // Shape of one sample: {C, H, W} for images, {dataDim} for mlp2d.
    std::vector<std::int64_t> sampleShape() const;
    bool isImage() const { return familyImageSize(family) > 0; }
    bool operator==(const ArchSpec& o) const;
    bool operator!=(const ArchSpec& o) const { return !(*this == o); }
    std::string describe() const;  // one line, e.g. "dcgan32 1×32×32, z=100, G 1024-128-64, D 64-128-256"
};

}  // namespace coalesce
