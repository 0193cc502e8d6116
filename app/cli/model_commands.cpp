// Subcommands that call the engine directly on model files: sample, info, export and radii.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include <torch/torch.h>

#include "commands.h"
#include "core/error.h"
#include "core/json_text.h"
#include "core/runtime.h"
#include "core/tensor_image.h"
#include "imageio/image_io.h"
#include "io/model_files.h"
#include "run/run_directory.h"
#include "train/radius_estimation.h"
#include "train/training_job.h"
#include "train/weight_rule.h"

namespace coalesce::cli {

namespace {
std::optional<ArchSpec> archHint(const ParsedArgs& a) {
    if (!a.has("arch") || a.str("arch").empty()) return std::nullopt;
    std::ifstream in(a.str("arch"));
    if (!in) throw Error(a.str("arch") + ": cannot open architecture file");
    try {
        return ArchSpec::fromJson(parseJson(in));
    } catch (const nlohmann::json::parse_error& e) {
        throw Error(a.str("arch") + ": invalid JSON (" + std::string(e.what()) + ")");
    }
}
}  // namespace

CommandSpec sampleSpec() {
    std::vector<OptionSpec> o = {
        {"generator", OptionType::String, "generator file (.coalesce, TorchScript, or state_dict with --arch)", "", true},
        {"out", OptionType::String, "PNG grid to write (images) or CSV of points (2-D toy models)", ""},
        {"images-dir", OptionType::String, "also write each sample as its own PNG into this folder", ""},
        {"n", OptionType::Int, "number of samples", "64"},
        {"columns", OptionType::Int, "grid columns (0 = square)", "0"},
        {"seed", OptionType::Int, "latent seed (same seed, same z)", "0"},
        {"arch", OptionType::String, "architecture JSON for files that do not carry one (state_dict)", ""}};
    for (auto& r : runtimeOptions()) o.push_back(r);
    return {"sample", "Write a sample grid (PNG) or N images from a generator file",
            "coalesce-cli sample --generator FILE --out grid.png [options]", o};
}

int runSample(const ParsedArgs& a) {
    if (a.str("out").empty() && a.str("images-dir").empty()) throw Error("give --out FILE and/or --images-dir DIR");
    const long long n = a.integer("n");
    if (n < 1 || n > 100000) throw Error("--n: must be in 1..100000, got " + std::to_string(n));
    const long long columns = a.integer("columns");
    if (columns < 0 || columns > n) throw Error("--columns: must be in 0..n (0 = square), got " + std::to_string(columns));
    configureThreads(static_cast<int>(a.integer("threads")));
    torch::Device device = resolveDevice(a.str("device"));
    Generator g = loadGenerator(a.str("generator"), archHint(a));
    g->to(device);
    g->eval();
    torch::NoGradGuard noGrad;
    auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(a.integer("seed")));
    torch::Tensor samples = g->forward(g->sampleLatent(n, gen)).to(torch::kCPU);

    if (!g->spec().isImage()) {
        if (a.str("out").empty()) throw Error("--out: a 2-D toy generator writes a CSV of points");
        std::ostringstream csv;
        csv << "x,y\n" << std::setprecision(7);
        for (long long i = 0; i < n; ++i) {
            for (int64_t d = 0; d < samples.size(1); ++d) csv << (d ? "," : "") << samples[i][d].item<float>();
            csv << "\n";
        }
        writeFileAtomically(a.str("out"), csv.str());
        std::printf("wrote %lld points to %s\n", n, a.str("out").c_str());
        return 0;
    }
    if (!a.str("out").empty()) {
        writeImage(a.str("out"), tensorToGrid(samples, static_cast<int>(a.integer("columns"))));
        std::printf("wrote a grid of %lld samples to %s\n", n, a.str("out").c_str());
    }
    if (!a.str("images-dir").empty()) {
        std::filesystem::create_directories(a.str("images-dir"));
        for (long long i = 0; i < n; ++i) {
            std::ostringstream name;
            name << "sample_" << std::setw(5) << std::setfill('0') << i << ".png";
            writeImage((std::filesystem::path(a.str("images-dir")) / name.str()).string(), tensorToImage(samples[i]));
        }
        std::printf("wrote %lld images to %s\n", n, a.str("images-dir").c_str());
    }
    return 0;
}

CommandSpec infoSpec() {
    return {"info", "Describe model files: format, architecture, parameters, training metadata",
            "coalesce-cli info FILE... [--json]",
            {{"json", OptionType::Flag, "print machine-readable JSON", ""}},
            true};
}

int runInfo(const ParsedArgs& a) {
    if (a.positional.empty()) throw Error("expected one or more model files");
    nlohmann::json all = nlohmann::json::array();
    for (const auto& path : a.positional) {
        nlohmann::json d = describeModelFile(path);
        if (a.flag("json")) {
            all.push_back(d);
            continue;
        }
        std::printf("%s\n", path.c_str());
        for (auto it = d.begin(); it != d.end(); ++it) {
            if (it.key() == "tensors") {
                std::printf("  %-12s %zu entries\n", "tensors", it->size());
                continue;
            }
            std::string v = it->is_string() ? it->get<std::string>() : it->dump();
            if (v.size() > 160) v = v.substr(0, 157) + "...";
            std::printf("  %-12s %s\n", it.key().c_str(), v.c_str());
        }
    }
    if (a.flag("json")) std::printf("%s\n", all.dump(2).c_str());
    return 0;
}

CommandSpec exportSpec() {
    return {"export", "Convert a generator file for other programs (Python, PyTorch)",
            "coalesce-cli export --generator FILE --format safetensors|torchscript|state_dict --out FILE",
            {{"generator", OptionType::String, "generator file (any format `info` understands)", "", true},
             {"format", OptionType::String,
              "safetensors (+ sidecar .json), torchscript (torch.jit.load), state_dict (torch.load); "
              "critic: the critic of a training checkpoint alone (for FreezeD)", "", true},
             {"out", OptionType::String, "file to write (atomically)", "", true},
             {"arch", OptionType::String, "architecture JSON for files that do not carry one", ""}}};
}

int runExport(const ParsedArgs& a) {
    std::error_code ec;
    if (a.str("out") == a.str("generator") || std::filesystem::equivalent(a.str("out"), a.str("generator"), ec))
        throw Error("--out: " + a.str("out") + " is the --generator file itself; export to a new file");
    if (a.str("format") == "critic") {
        writeCriticFile(a.str("generator"), a.str("out"));
        std::printf("wrote %s (the critic of %s)\n", a.str("out").c_str(), a.str("generator").c_str());
        return 0;
    }
    LoadedGenerator loaded = loadGeneratorFile(a.str("generator"), archHint(a));
    const std::string format = a.str("format"), out = a.str("out");
    if (format == "safetensors") exportGeneratorSafetensors(loaded.generator, out, loaded.meta);
    else if (format == "torchscript") exportGeneratorTorchScript(loaded.generator, out, loaded.meta);
    else if (format == "state_dict") exportGeneratorStateDict(loaded.generator, out);
    else throw Error("--format: expected safetensors, torchscript, state_dict or critic, got '" + format + "'");
    std::printf("wrote %s (%s, %s)\n", out.c_str(), format.c_str(), loaded.generator->spec().describe().c_str());
    return 0;
}

// --- radii: what "radii": "auto" would estimate, and the coverage check, without training -----------
CommandSpec radiiSpec() {
    std::vector<OptionSpec> o = {
        {"source", OptionType::String, "a source generator file (any format `info` reads), once per source", "", true, true},
        {"local", OptionType::String, "the local data (dataset spec)", "", true},
        {"n", OptionType::Int, "use n local samples (k-shot; 0 = all)", "0"},
        {"k-seed", OptionType::Int, "which n samples (as stage 2 draws them)", "1"},
        {"space", OptionType::String, "features (the FID feature net) or pixels", "features"},
        {"source-samples", OptionType::Int, "samples drawn from each source", "500"},
        {"bootstrap", OptionType::Int, "bootstrap resamples of the local samples", "100"},
        {"power", OptionType::String, "lambda_k ~ eta_k^-power: a number, or auto (1, or 16 where the nearest source beats every blend)", "1"},
        {"seed", OptionType::Int, "seed of the source samples and the bootstrap", "0"},
        {"feature-net-data", OptionType::String,
         "with --space features and local data other than (fashion-)mnist: the dataset whose training split the feature net learns, e.g. folder:/data/train", ""},
        {"json", OptionType::Flag, "print machine-readable JSON", ""}};
    for (auto& r : runtimeOptions()) o.push_back(r);
    return {"radii", "Estimate trust radii eta_k from local samples and check whether a blend of the sources covers them",
            "coalesce-cli radii --source A.coalesce --source B.coalesce --local DATA [--n 20 --k-seed 1] [--json]", o};
}

int runRadii(const ParsedArgs& a) {
    configureThreads(static_cast<int>(a.integer("threads")));
    nlohmann::json estimation = {{"data", a.str("local")},
                                 {"k", a.integer("n")},
                                 {"k_seed", a.integer("k-seed")},
                                 {"space", a.str("space")},
                                 {"source_samples", a.integer("source-samples")},
                                 {"bootstrap", a.integer("bootstrap")},
                                 {"power", numberOrAuto(a, "power")},
                                 {"seed", a.integer("seed")}};
    if (a.given.count("feature-net-data")) estimation["feature_net_data"] = a.str("feature-net-data");
    const RadiusEstimationOptions options =
        readRadiusEstimation(ConfigReader(nlohmann::json{{"radius_estimation", estimation}}, "radii"));
    std::vector<Generator> generators;
    std::vector<std::string> names;
    for (const auto& file : a.list("source")) {
        generators.push_back(loadGenerator(file.get<std::string>()));
        names.push_back(file.get<std::string>());
    }
    struct Quiet : JobObserver {
    } quiet;
    CancelToken cancel;
    CoverageCheck coverage;
    const auto estimates = estimateRadiiForSources(generators, names, options, quiet, cancel, &coverage);
    std::vector<double> etas;
    for (const auto& e : estimates) etas.push_back(e.eta);
    const std::vector<double> lambdas = lambdasFromRadii(etas, powerForRegime(options, coverage));
    if (a.flag("json")) {
        nlohmann::json sources = nlohmann::json::array();
        for (size_t k = 0; k < estimates.size(); ++k) {
            nlohmann::json e = estimates[k].toJson();
            e["name"] = names[k];
            e["lambda"] = lambdas[k];
            sources.push_back(e);
        }
        nlohmann::json out = {{"options", options.toJson()}, {"sources", sources}};
        if (!coverage.regime.empty()) out["coverage"] = coverage.toJson();
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    std::printf("%-40s %10s %10s %21s %8s\n", "source", "eta", "sd", "90% interval", "lambda");
    for (size_t k = 0; k < estimates.size(); ++k)
        std::printf("%-40s %10.4g %10.3g %10.4g–%-10.4g %8.3f\n", names[k].c_str(), estimates[k].eta, estimates[k].stddev,
                    estimates[k].low, estimates[k].high, lambdas[k]);
    if (!coverage.regime.empty()) std::printf("%s\n", coverage.describe(names).c_str());
    return 0;
}

}  // namespace coalesce::cli
