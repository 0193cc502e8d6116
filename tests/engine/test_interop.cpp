// Model files between Coalesce (C++) and PyTorch (Python), both directions, checked by running the
// networks: tests/python/interop.py builds generators with PyTorch (coalesce_nets.py) and writes them
// the ways Python users do (TorchScript scripted/traced, torch.save state_dicts new and legacy format,
// DataParallel keys, training-checkpoint dicts, whole pickled modules, safetensors, and the paper's
// reference-code checkpoints {"modelG": ...} with "main_module." names); Coalesce must load
// each one -- inferring the architecture -- and produce PyTorch's eval-mode outputs for the same z.
// The other way, Coalesce exports (TorchScript built in C++, state_dict, safetensors + JSON, native
// .coalesce) must run in Python with Coalesce's outputs. BatchNorm running statistics are randomised on
// both sides so eval mode really differs from train mode.
#include "support/test_main.h"  // Qt Test, and the suite registration
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/model_files.h"
#include "io/safetensors.h"
#include "io/state_dict.h"
#include "models/networks.h"
#include "support/test_support.h"
#include "support/error_of.h"

using namespace coalesce;
namespace fs = std::filesystem;

using coalesce::test::writeBytes;
using coalesce::test::contains;
using coalesce::test::errorOf;
using coalesce::test::maxAbsDiff;
using coalesce::test::readSafetensorsTensors;

namespace {

constexpr double kTolerance = 1e-5;

ArchSpec tinyRgbDcgan() {
    ArchSpec s = ArchSpec::preset("dcgan32", "small", 3);
    s.latentDim = 12;
    s.generatorWidths = {24, 12, 6};
    s.criticWidths = {6, 12, 24};
    return s;
}

ArchSpec tinyRgbDcgan64() {
    ArchSpec s = ArchSpec::preset("dcgan64", "small", 3);
    s.latentDim = 10;
    s.generatorWidths = {24, 16, 12, 6};
    s.criticWidths = {6, 12, 16, 24};
    return s;
}

ArchSpec tinyMlp() {
    ArchSpec s = ArchSpec::preset("mlp2d");
    s.latentDim = 5;
    s.dataDim = 3;
    s.generatorWidths = {16, 16};
    s.criticWidths = {16, 16};
    return s;
}

std::string shellQuoted(const std::string& s) { return "'" + s + "'"; }

// Python writes its files into a fresh folder; returns the folder.
std::string pythonWrites(const ArchSpec& arch, int seed) {
    const std::string dir = test::scratchDir("py");
    std::string out;
    const int rc = test::runPython("interop.py", "write --arch " + shellQuoted(arch.toJson().dump()) + " --seed " +
                                                     std::to_string(seed) + " --batch 6 --out " + dir, &out);
    if (rc != 0) throw std::runtime_error("interop.py write failed: " + out);
    return dir;
}

// Random weights and BatchNorm statistics, as a trained network would have.
Generator randomTrainedGenerator(const ArchSpec& arch, uint64_t seed) {
    torch::manual_seed(seed);
    Generator g(arch);
    torch::NoGradGuard noGrad;
    for (auto& m : g->modules(false))
        if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
            bn->weight.copy_(1 + 0.2 * torch::randn_like(bn->weight));
            bn->bias.copy_(0.2 * torch::randn_like(bn->bias));
            bn->running_mean.copy_(0.3 * torch::randn_like(bn->running_mean));
            bn->running_var.copy_(0.5 + torch::rand_like(bn->running_var));
            bn->num_batches_tracked.fill_(5);
        }
    g->eval();
    return g;
}

// The architectures the data-driven tests run on: tiny stand-ins of each family, and the paper's
// full-size CIFAR and LSUN presets (only where no Python training is involved: they hold ~12 M weights).
ArchSpec archFor(int which) {
    switch (which) {
        case 0: return tinyRgbDcgan();
        case 1: return tinyMlp();
        case 2: return tinyRgbDcgan64();
        case 3: return ArchSpec::preset("dcgan32", "cifar", 3);
        default: return ArchSpec::preset("dcgan64", "lsun", 3);
    }
}

}  // namespace

class TestInterop : public QObject {
    Q_OBJECT
    // Python's files for tinyRgbDcgan (0) and tinyMlp (1), written once: starting Python costs seconds.
    std::map<int, std::string> pythonDirs_;
    const std::string& pythonDir(int which) {
        if (!pythonDirs_.count(which)) pythonDirs_[which] = pythonWrites(archFor(which), 11 + which);
        return pythonDirs_[which];
    }

private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(1); }

    void pythonFilesLoadWithPythonsOutputs_data() {
        QTest::addColumn<int>("which");
        QTest::newRow("dcgan32 3 channels") << 0;
        QTest::newRow("mlp2d") << 1;
        QTest::newRow("dcgan64 3 channels") << 2;
    }
    void pythonFilesLoadWithPythonsOutputs() {
        QFETCH(int, which);
        const ArchSpec arch = archFor(which);
        const std::string dir = pythonDir(which);
        const TensorMap io = readSafetensorsTensors(dir + "/io.safetensors");
        const torch::Tensor z = io.at("z"), expected = io.at("out");
        QVERIFY(expected.abs().mean().item<double>() > 1e-3);  // not a degenerate all-zero output

        const std::vector<std::pair<std::string, ModelFileFormat>> files{
            {"scripted.pt", ModelFileFormat::TorchScript},
            {"traced.pt", ModelFileFormat::TorchScript},
            {"state_dict.pt", ModelFileFormat::TorchSave},
            {"state_dict_legacy.pt", ModelFileFormat::TorchSaveLegacy},
            {"dataparallel.pt", ModelFileFormat::TorchSave},
            {"training_dict.pt", ModelFileFormat::TorchSave},
            {"whole_module.pt", ModelFileFormat::TorchSave},
            {"plain.safetensors", ModelFileFormat::Safetensors},
            {"cuda_saved.pt", ModelFileFormat::TorchSave},
            {"reference_v1.pt", ModelFileFormat::TorchSave},
            {"reference_v2.pt", ModelFileFormat::TorchSave},
        };
        std::string diffs;
        for (const auto& [name, format] : files) {
            const std::string path = dir + "/" + name;
            if (!arch.isImage() && name.rfind("reference", 0) == 0) continue;  // the reference code is dcgan only
            QCOMPARE(modelFileFormatName(detectModelFileFormat(path)), modelFileFormatName(format));
            LoadedGenerator loaded = loadGeneratorFile(path);  // no architecture given: inferred
            QCOMPARE(loaded.archSource, std::string("inferred"));
            QVERIFY2(sameGenerator(loaded.generator->spec(), arch), (name + ": " + loaded.generator->spec().describe()).c_str());
            QVERIFY(!loaded.generator->is_training());
            torch::NoGradGuard noGrad;
            const double diff = maxAbsDiff(loaded.generator->forward(z), expected);
            QVERIFY2(diff <= kTolerance, (name + ": max |C++ - Python| = " + std::to_string(diff)).c_str());
            diffs += " " + name + "=" + std::to_string(diff);
            // With the architecture given, the same.
            Generator hinted = loadGenerator(path, arch);
            QVERIFY(maxAbsDiff(hinted->forward(z), expected) <= kTolerance);
        }
        qInfo("Coalesce on Python's files, max |C++ - Python|:%s", diffs.c_str());

        // Weights of a network without conv/linear biases compute the same with zero biases.
        Generator noBias = loadGenerator(dir + "/no_bias.pt");
        QVERIFY(maxAbsDiff(noBias->forward(z), io.at("out_no_bias")) <= kTolerance);
        QVERIFY(maxAbsDiff(io.at("out_no_bias"), expected) > 1e-3);  // the biases mattered
    }

    void coalesceExportsRunInPython_data() {
        QTest::addColumn<int>("which");
        QTest::newRow("dcgan32 3 channels") << 0;
        QTest::newRow("mlp2d") << 1;
        QTest::newRow("dcgan64 3 channels") << 2;
        QTest::newRow("dcgan32 cifar preset") << 3;
        QTest::newRow("dcgan64 lsun preset") << 4;
    }
    void coalesceExportsRunInPython() {
        QFETCH(int, which);
        const ArchSpec arch = archFor(which);
        Generator g = randomTrainedGenerator(arch, 20 + which);
        const std::string dir = test::scratchDir("export");
        const torch::Tensor z = torch::randn({6, arch.latentDim});
        torch::Tensor out;
        {
            torch::NoGradGuard noGrad;
            out = g->forward(z);
        }
        writeSafetensorsFile(dir + "/io.safetensors", {{"z", z}, {"out", out}}, {});

        const nlohmann::json meta{{"note", "interop test"}};
        exportGeneratorTorchScript(g, dir + "/generator.pt", meta);
        exportGeneratorStateDict(g, dir + "/generator.pth");
        exportGeneratorSafetensors(g, dir + "/generator.safetensors", meta);
        QVERIFY(fs::exists(dir + "/generator.json"));  // the sidecar
        Checkpoint checkpoint;
        checkpoint.arch = arch;
        storeModule(checkpoint, "generator", *g);
        saveCheckpoint(dir + "/generator.coalesce", checkpoint);

        const std::vector<std::pair<std::string, std::string>> exports{
            {"torchscript", "generator.pt"},
            {"state_dict", "generator.pth"},
            {"safetensors", "generator.safetensors"},
            {"coalesce", "generator.coalesce"},
        };
        std::string items;
        for (const auto& [kind, name] : exports) items += " " + kind + ":" + dir + "/" + name;
        std::string report;
        const int rc = test::runPython(
            "interop.py", "check --io " + dir + "/io.safetensors --arch " + shellQuoted(arch.toJson().dump()) + items, &report);
        QVERIFY2(rc == 0, report.c_str());
        const auto result = nlohmann::json::parse(report);
        QVERIFY2(result["ok"].get<bool>() && result["max_abs_diff"].get<double>() <= kTolerance, report.c_str());
        QCOMPARE(result["per_model"].size(), exports.size() + 1);  // the TorchScript file runs twice (see interop.py)
        qInfo("Python on Coalesce's exports: %s", result["per_model"].dump().c_str());

        for (const auto& [kind, name] : exports) {
            // Each export also loads back into Coalesce unchanged.
            LoadedGenerator back = loadGeneratorFile(dir + "/" + name);
            QVERIFY(sameGenerator(back.generator->spec(), arch));
            torch::NoGradGuard noGrad;
            QVERIFY2(maxAbsDiff(back.generator->forward(z), out) == 0, name.c_str());
        }
        // The self-describing exports carry the architecture; the bare state_dict has it inferred.
        QCOMPARE(loadGeneratorFile(dir + "/generator.pt").archSource, std::string("file"));
        QCOMPARE(loadGeneratorFile(dir + "/generator.pt").meta["note"].get<std::string>(), std::string("interop test"));
        QCOMPARE(loadGeneratorFile(dir + "/generator.safetensors").archSource, std::string("file"));
        QCOMPARE(loadGeneratorFile(dir + "/generator.pth").archSource, std::string("inferred"));
    }

    void wrongArchitectureIsExplained() {
        const std::string dir = pythonDir(0);
        const ArchSpec small = ArchSpec::preset("dcgan32", "small", 3);
        std::string e = errorOf([&] { loadGenerator(dir + "/state_dict.pt", small); });
        QVERIFY2(contains(e, "state_dict.pt: ") && contains(e, "net.0.weight: shape [12,24,4,4] in file, [100,256,4,4] expected"),
                 e.c_str());
        QVERIFY2(contains(e, "file looks like dcgan32 3×32×32, z=12, G 24-12-6, not dcgan32 small (3 channels)?"), e.c_str());
        e = errorOf([&] { loadGenerator(dir + "/scripted.pt", ArchSpec::preset("mlp2d")); });
        QVERIFY2(contains(e, "scripted.pt: ") && contains(e, "not fit"), e.c_str());

        // A self-describing file refuses a conflicting architecture up front.
        const std::string exported = dir + "/exported.pt";
        exportGeneratorTorchScript(loadGenerator(dir + "/state_dict.pt"), exported);
        e = errorOf([&] { loadGenerator(exported, small); });
        QVERIFY2(contains(e, "exported.pt: holds a dcgan32 3×32×32, z=12, G 24-12-6 generator, not the expected dcgan32 small (3 channels)"),
                 e.c_str());
        // A native checkpoint likewise.
        Checkpoint c;
        c.arch = ArchSpec::preset("dcgan32", "small", 1);
        storeModule(c, "generator", *Generator(c.arch));
        saveCheckpoint(dir + "/small.coalesce", c);
        e = errorOf([&] { loadGenerator(dir + "/small.coalesce", ArchSpec::preset("dcgan32", "paper", 1)); });
        QVERIFY2(contains(e, "small.coalesce: holds a dcgan32 small generator, not the expected dcgan32 paper"), e.c_str());
    }

    void filesThatAreNoGeneratorsGiveClearErrors() {
        const std::string dir = pythonDir(1);
        writeBytes(dir + "/image.pt", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01", 24));
        writeBytes(dir + "/notes.pt", "lr = 0.1\nepochs = 3\n");
        writeBytes(dir + "/empty.pt", "");
        std::string random(4096, '\0');
        for (size_t i = 0; i < random.size(); ++i) random[i] = static_cast<char>((i * 2654435761u) >> 13);
        writeBytes(dir + "/random.bin", random);
        const std::vector<std::pair<std::string, std::string>> cases{
            {"image.pt", "image.pt: not a model file Coalesce can read (it is a PNG image)"},
            {"notes.pt", "notes.pt: not a model file Coalesce can read (it is a text file)"},
            {"empty.pt", "empty.pt: not a model file Coalesce can read (it is an empty file)"},
            {"random.bin", "random.bin: not a model file Coalesce can read (it is unrecognised binary data)"},
            {"other.zip", "other.zip: not a model file Coalesce can read (it is a ZIP archive without PyTorch's data.pkl or code/)"},
            {"not_weights.pt", "not_weights.pt: no generator weights found in this torch.save file: a dict with keys epoch, lr"},
            {"missing.pt", "missing.pt: no such file"},
        };
        for (const auto& [name, expected] : cases) {
            const std::string e = errorOf([&, name = name] { loadGenerator(dir + "/" + name); });
            QVERIFY2(contains(e, expected), (name + " -> " + e).c_str());
            QVERIFY(contains(errorOf([&, name = name] { describeModelFile(dir + "/" + name); }), name));
        }
        // Weights that fit no known family and come without an architecture.
        writeSafetensorsFile(dir + "/conv1d.safetensors", {{"net.0.weight", torch::zeros({4, 3, 5})}}, {});
        const std::string e = errorOf([&] { loadGenerator(dir + "/conv1d.safetensors"); });
        QVERIFY2(contains(e, "conv1d.safetensors: cannot tell the generator architecture"), e.c_str());
    }

    void describeReportsFormatArchitectureAndCounts() {
        const ArchSpec arch = tinyRgbDcgan();
        const std::string dir = test::scratchDir("describe");
        Checkpoint c;
        c.arch = arch;
        Generator g(arch);
        Critic d(arch);
        storeModule(c, "generator", *g);
        storeModule(c, "critic0", *d);
        c.meta = {{"step", 9}};
        saveCheckpoint(dir + "/run.coalesce", c);
        auto info = describeModelFile(dir + "/run.coalesce");
        QCOMPARE(info["format"].get<std::string>(), std::string("coalesce-checkpoint"));
        QVERIFY(ArchSpec::fromJson(info["arch"]) == arch);
        QCOMPARE(info["arch_source"].get<std::string>(), std::string("file"));
        QCOMPARE(info["generator_parameters"].get<int64_t>(), parameterCount(*g));
        const auto expectedTensors = g->named_parameters().size() + g->named_buffers().size();
        QCOMPARE(info["modules"]["generator"]["tensors"].get<size_t>(), expectedTensors);
        QCOMPARE(info["modules"]["critic0"]["elements"].get<int64_t>(), parameterCount(*d));
        QCOMPARE(info["meta"]["step"].get<int>(), 9);
        QCOMPARE(info["tensors"].size(), c.tensors.size());
        QVERIFY(!info.contains("problem"));

        exportGeneratorStateDict(g, dir + "/g.pth");
        info = describeModelFile(dir + "/g.pth");
        QCOMPARE(info["format"].get<std::string>(), std::string("torch-save"));
        QCOMPARE(info["arch_source"].get<std::string>(), std::string("inferred"));
        QCOMPARE(info["generator_parameters"].get<int64_t>(), parameterCount(*g));

        // Weights that contradict the architecture they claim: described, with the problem spelled out.
        writeSafetensorsFile(dir + "/liar.safetensors", moduleTensors(*g),
                             {{"arch", ArchSpec::preset("dcgan32", "paper", 3).toJson().dump()}});
        info = describeModelFile(dir + "/liar.safetensors");
        QCOMPARE(info["format"].get<std::string>(), std::string("safetensors"));
        const std::string problem = info.value("problem", "");
        QVERIFY2(contains(problem, "liar.safetensors: ") && contains(problem, "do not fit") &&
                     contains(problem, "not dcgan32 paper (3 channels)?"),
                 info.dump().c_str());
    }

    void foreignNamesAreNormalised() {
        const torch::Tensor t = torch::zeros({1});
        auto keys = [](const TensorMap& m) {
            std::vector<std::string> k;
            for (const auto& [name, v] : m) k.push_back(name);
            return k;
        };
        QCOMPARE(keys(normalizeGeneratorNames({{"module.0.weight", t}, {"module.1.bias", t}})),
                 (std::vector<std::string>{"net.0.weight", "net.1.bias"}));
        QCOMPARE(keys(normalizeGeneratorNames({{"generator.net.0.weight", t}, {"critic0.net.0.weight", t}})),
                 (std::vector<std::string>{"net.0.weight"}));
        QCOMPARE(keys(normalizeGeneratorNames({{"netG.module.net.1.bias", t}, {"netG.module.net.0.weight", t}})),
                 (std::vector<std::string>{"net.0.weight", "net.1.bias"}));
        QCOMPARE(keys(normalizeGeneratorNames({{"_orig_mod.net.3.weight", t}})), (std::vector<std::string>{"net.3.weight"}));
        std::string why;
        QVERIFY(!inferGeneratorArch({{"net.0.weight", torch::zeros({8, 4, 3, 3})}}, &why));
        QVERIFY2(contains(why, "4 transposed convolutions"), why.c_str());
    }
};

COALESCE_TEST_APPLESS_MAIN(TestInterop)
#include "test_interop.moc"
