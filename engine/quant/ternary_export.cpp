#include "quant/ternary_export.h"

#include <filesystem>

#include <torch/torch.h>

#include "core/error.h"
#include "io/model_files.h"
#include "quant/packed_generator.h"
#include "train/training_job.h"

namespace coalesce {

namespace {

// Float bytes of a generator's quantisable weights vs their packed size (codes + 4 float32 per layer).
nlohmann::json weightSizes(const PackedGenerator& packed) {
    int64_t floatBytes = 0, packedBytes = 0;
    for (const auto& layer : packed.layers) {
        floatBytes += 4 * layer.codes.numel();
        packedBytes += (layer.codes.numel() + 3) / 4 + 4 * 4;
    }
    return {{"ternary_weight_bytes_float32", floatBytes},
            {"ternary_weight_bytes_packed", packedBytes},
            {"ternary_weight_ratio", packedBytes > 0 ? double(floatBytes) / double(packedBytes) : 0.0}};
}

}  // namespace

PackedExport exportPackedGenerator(Generator ternarized, const Generator& floatReference, const std::string& path,
                                   const nlohmann::json& meta, const torch::Tensor& checkLatent) {
    namespace fs = std::filesystem;
    PackedExport out;
    out.path = path;
    out.packedBytes = savePackedGenerator(path, packGenerator(ternarized, meta));
    const PackedGenerator reloaded = loadPackedGenerator(path);
    Generator unpacked = unpackGenerator(reloaded);
    {
        torch::NoGradGuard noGrad;
        const bool wasTraining = ternarized->is_training();
        ternarized->eval();
        const torch::Tensor reference = ternarized->forward(checkLatent.to(ternarized->device())).to(torch::kCPU);
        if (wasTraining) ternarized->train();
        out.roundTripMaxAbs = (unpacked->forward(checkLatent.to(torch::kCPU)) - reference).abs().max().item<double>();
    }
    if (!(out.roundTripMaxAbs < 1e-4))
        throw Error(path + ": the packed file does not reproduce the ternarised generator (max |Δ| = " +
                    std::to_string(out.roundTripMaxAbs) + ")");

    const std::string probe = path + ".float-size-probe";
    writeGeneratorFile(probe, floatReference, nlohmann::json::object());
    out.floatBytes = static_cast<int64_t>(fs::file_size(probe));
    fs::remove(probe);
    out.sizes = {{"packed_file_bytes", out.packedBytes},
                 {"float_generator_file_bytes", out.floatBytes},
                 {"whole_file_ratio", double(out.floatBytes) / double(out.packedBytes)}};
    out.sizes.update(weightSizes(reloaded));
    return out;
}

}  // namespace coalesce
