#include "jobs/ternary_config.h"

#include <filesystem>

#include <torch/torch.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "quant/ternary_export.h"
#include "train/sample_source.h"

namespace coalesce {

std::set<std::string> ternaryOptionKeys() {
    return {"method", "keep_first_last_float", "keep_last_float", "threshold_fraction", "threshold_init", "delta_grad_clamp", "alternating"};
}

TernaryTrainingOptions readTernaryOptions(const ConfigReader& r) {
    TernaryTrainingOptions o;
    const std::string& c = r.context();
    o.ternary.method = parseTernaryMethod(r.text("method", "learned"));
    o.ternary.keepFirstLastFloat = r.boolean("keep_first_last_float", false);
    o.ternary.keepLastFloat = r.boolean("keep_last_float", false);
    o.ternary.thresholdFraction = r.number("threshold_fraction", 0.05);
    if (!(o.ternary.thresholdFraction >= 0 && o.ternary.thresholdFraction < 1))
        throw Error(c + ": threshold_fraction must be in [0, 1), got " + std::to_string(o.ternary.thresholdFraction));
    o.ternary.thresholdInit = parseThresholdInit(r.text("threshold_init", "max_fraction"));
    o.ternary.deltaGradClamp = r.number("delta_grad_clamp", 1e-3);
    if (!(o.ternary.deltaGradClamp >= 0)) throw Error(c + ": delta_grad_clamp must be >= 0 (0 = no clamp)");
    o.alternating = r.boolean("alternating", true);
    return o;
}

nlohmann::json toJson(const TernaryTrainingOptions& o) {
    return {{"method", toString(o.ternary.method)},
            {"keep_first_last_float", o.ternary.keepFirstLastFloat},
            {"keep_last_float", o.ternary.keepLastFloat},
            {"threshold_fraction", o.ternary.thresholdFraction},
            {"threshold_init", toString(o.ternary.thresholdInit)},
            {"delta_grad_clamp", o.ternary.deltaGradClamp},
            {"alternating", o.alternating}};
}

namespace {

class TernaryTransform : public GeneratorTransform {
public:
    explicit TernaryTransform(TernaryTrainingOptions options) : options_(options) {}
    std::string describe() const override {
        return std::string("ternarised (") + toString(options_.ternary.method) +
               (options_.ternary.keepFirstLastFloat ? ", first/last layers float"
                                                    : options_.ternary.keepLastFloat ? ", last layer float" : "") + ")";
    }
    Generator prepare(const Generator& initial) const override { return ternarizeGenerator(initial, options_.ternary); }
    std::vector<torch::Tensor> alternatingParameters(const Generator& prepared) const override {
        if (!options_.alternating) return {};
        return ternaryParameterGroups(*prepared).thresholds;
    }
    Generator exportable(const Generator& trained) const override { return materializeTernaryGenerator(trained); }
    nlohmann::json writeArtifacts(const Generator& trained, const std::string& runDirectory) const override {
        const std::string path = (std::filesystem::path(runDirectory) / "generator.ctern").string();
        at::Generator rng = makeCpuGenerator(7);
        const torch::Tensor latent = trained->sampleLatent(64, rng);
        nlohmann::json meta{{"options", toJson(options_)}};
        const PackedExport exported = exportPackedGenerator(trained, exportable(trained), path, meta, latent);
        nlohmann::json report = ternaryReport(trained);
        report["options"] = toJson(options_);
        report["sizes"] = exported.sizes;
        report["packed_round_trip_max_abs"] = exported.roundTripMaxAbs;
        replaceFileAtomically(path + ".report.json", report.dump(2) + "\n");
        return {{"packed", path}, {"report", path + ".report.json"}, {"sizes", exported.sizes},
                {"zero_fraction", report["zero_fraction"]}, {"method", toString(options_.ternary.method)}};
    }

private:
    TernaryTrainingOptions options_;
};

}  // namespace

std::shared_ptr<const GeneratorTransform> makeTernaryTransform(const TernaryTrainingOptions& options) {
    return std::make_shared<TernaryTransform>(options);
}

std::shared_ptr<const GeneratorTransform> readTernarizeSection(const ConfigReader& job) {
    if (!job.has("ternarize")) return nullptr;
    const nlohmann::json& section = job.raw("ternarize");
    if (!section.is_object())
        throw Error(job.context() + ": ternarize must be an object such as {\"method\": \"learned\"}");
    ConfigReader r(section, job.context() + ": ternarize");
    r.rejectUnknownKeys(ternaryOptionKeys());
    return makeTernaryTransform(readTernaryOptions(r));
}

}  // namespace coalesce
