// Packed ternary generator files (.ctern) and the "ternarize" job: 2-bit layout, exact round trip,
// an independent Python reader of the format, real sizes against the float .coalesce file, and clear
// errors for corrupt, truncated or tampered files (including a fuzz of random damage).
#include "support/test_main.h"  // Qt Test, and the suite registration
#include <torch/torch.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/model_files.h"
#include "jobs/job_factory.h"
#include "models/networks.h"
#include "quant/packed_generator.h"
#include "quant/ternary_layers.h"
#include "support/test_support.h"
#include "train/sample_source.h"
#include "train/training_job.h"

using namespace coalesce;
namespace fs = std::filesystem;

using coalesce::test::readBytes;
using coalesce::test::writeBytes;
using coalesce::test::contains;
using coalesce::test::maxAbsDiff;

namespace {

// Recomputes the CRC-32 at offset 12 (over bytes 16..end), as a careful forger would.
void fixCrc(std::string& file) {
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(file.data() + 16), static_cast<uInt>(file.size() - 16));
    for (int i = 0; i < 4; ++i) file[12 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
}

// Splits a .ctern file into header JSON and data, and reassembles it with a valid CRC.
struct Parts {
    nlohmann::json header;
    std::string data;
};
Parts split(const std::string& file) {
    uint64_t len = 0;
    for (int i = 0; i < 8; ++i) len |= uint64_t(static_cast<unsigned char>(file[16 + i])) << (8 * i);
    return {nlohmann::json::parse(file.substr(24, len)), file.substr(24 + len)};
}
std::string join(const std::string& original, const std::string& headerText, const std::string& data) {
    std::string file = original.substr(0, 16);
    const uint64_t len = headerText.size();
    for (int i = 0; i < 8; ++i) file.push_back(static_cast<char>((len >> (8 * i)) & 0xFF));
    file += headerText + data;
    fixCrc(file);
    return file;
}

// Expects loadPackedGenerator to throw coalesce::Error whose message contains `needle`.
void expectLoadError(const std::string& path, const std::string& needle) {
    try {
        loadPackedGenerator(path);
        QFAIL(qPrintable(QString::fromStdString("expected an error containing \"" + needle + "\"")));
    } catch (const Error& e) {
        QVERIFY2(std::string(e.what()).find(needle) != std::string::npos, e.what());
        QVERIFY2(std::string(e.what()).find(path) != std::string::npos, e.what());  // names the file
    }
}

// A generator with non-trivial BatchNorm running statistics (a few train-mode forwards).
Generator trainedLookingGenerator(const std::string& preset, uint64_t seed, const std::string& family = "dcgan32",
                                  int channels = 1) {
    torch::manual_seed(seed);
    Generator g(ArchSpec::preset(family, preset, channels));
    {
        torch::NoGradGuard noGrad;
        for (int i = 0; i < 3; ++i) g->forward(g->sampleLatent(8));
    }
    g->eval();
    return g;
}

// Remembers the tags of the images a job emitted.
struct ImageTags : JobObserver {
    std::set<std::string> tags;
    void onImage(const std::string& tag, std::int64_t, const ImageU8&) override { tags.insert(tag); }
    bool hasImage(const std::string& tag) const { return tags.count(tag) > 0; }
};

}  // namespace

class TestTernaryExport : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(1); }

    void codesPackFourPerByteLowBitsFirst() {
        // Format: weight i in byte i/4 at bits 2(i%4); 0 → 0, +1 → 1, −1 → 2.
        auto packed = packTernaryCodes(torch::tensor({1, -1, 0, 1, -1}, torch::kInt8));
        QCOMPARE(packed.numel(), int64_t(2));
        QCOMPARE(int(packed[0].item<uint8_t>()), 1 + (2 << 2) + (0 << 4) + (1 << 6));
        QCOMPARE(int(packed[1].item<uint8_t>()), 2);
        for (int64_t n : {0, 1, 3, 4, 5, 1001}) {
            auto codes = torch::randint(-1, 2, {n}, torch::kInt8);
            auto bytes = packTernaryCodes(codes);
            QCOMPARE(bytes.numel(), (n + 3) / 4);
            QVERIFY(torch::equal(unpackTernaryCodes(bytes, n), codes));
        }
        QVERIFY_THROWS_EXCEPTION(Error, packTernaryCodes(torch::tensor({0, 2})));
        QVERIFY_THROWS_EXCEPTION(Error, unpackTernaryCodes(torch::tensor({uint8_t(3)}), 1));  // code 3
        QVERIFY_THROWS_EXCEPTION(Error, unpackTernaryCodes(torch::tensor({uint8_t(0)}), 5));  // too few bytes
    }

    void packedFileReproducesTheTernarisedGenerator() {
        Generator g = trainedLookingGenerator("small", 1);
        const auto dir = test::scratchDir("ctern-roundtrip");
        for (auto method : {TernaryMethod::Learned, TernaryMethod::Twn, TernaryMethod::Ttq}) {
            for (bool keep : {false, true}) {
                TernaryOptions options;
                options.method = method;
                options.keepFirstLastFloat = keep;
                Generator tg = ternarizeGenerator(g, options);
                tg->eval();
                const auto path = dir + "/" + toString(method) + (keep ? "-keep" : "") + ".ctern";
                savePackedGenerator(path, packGenerator(tg, {{"note", "test"}}));
                auto loaded = loadPackedGenerator(path);
                QCOMPARE(loaded.method, std::string(toString(method)));
                QCOMPARE(loaded.layers.size(), size_t(keep ? 2 : 4));
                QCOMPARE(loaded.meta["note"].get<std::string>(), std::string("test"));
                QVERIFY(loaded.arch == g->spec());
                Generator unpacked = unpackGenerator(loaded);
                QVERIFY(!unpacked->is_training());
                torch::NoGradGuard noGrad;
                auto z = g->sampleLatent(16);
                const double diff = maxAbsDiff(unpacked->forward(z), tg->forward(z));
                QVERIFY2(diff < 1e-6, qPrintable(QString("%1 keep=%2: %3").arg(toString(method)).arg(keep).arg(diff)));
            }
        }
    }

    // The paper's CIFAR and LSUN nets and the 64×64 small preset pack and unpack like dcgan32 small:
    // one ternary layer per transposed convolution, the same outputs after the round trip.
    void everyImagePresetPacksAndUnpacks_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("preset");
        QTest::addColumn<int>("channels");
        QTest::newRow("dcgan32 cifar") << "dcgan32" << "cifar" << 3;
        QTest::newRow("dcgan64 small") << "dcgan64" << "small" << 1;
        QTest::newRow("dcgan64 lsun") << "dcgan64" << "lsun" << 3;
    }
    void everyImagePresetPacksAndUnpacks() {
        QFETCH(QString, family);
        QFETCH(QString, preset);
        QFETCH(int, channels);
        Generator g = trainedLookingGenerator(preset.toStdString(), 5, family.toStdString(), channels);
        TernaryOptions options;
        options.method = TernaryMethod::Ttq;
        Generator tg = ternarizeGenerator(g, options);
        tg->eval();
        const auto path = test::scratchDir("ctern-presets") + "/g.ctern";
        const auto bytes = savePackedGenerator(path, packGenerator(tg));
        auto loaded = loadPackedGenerator(path);
        QVERIFY(loaded.arch == g->spec());
        QCOMPARE(loaded.layers.size(), g->spec().generatorWidths.size() + 1);
        Generator unpacked = unpackGenerator(loaded);
        torch::NoGradGuard noGrad;
        const auto z = g->sampleLatent(2);
        const auto out = unpacked->forward(z);
        const auto side = g->spec().imageSize;
        QCOMPARE(out.sizes().vec(), (std::vector<int64_t>{2, channels, side, side}));
        const double diff = maxAbsDiff(out, tg->forward(z));
        QVERIFY2(diff < 1e-6, qPrintable(QString::number(diff)));
        // ~2 bits per weight: a sixteenth of the float32 weights, plus BatchNorm tensors and scales.
        const double floatBytes = 4.0 * double(parameterCount(*g));
        QVERIFY2(floatBytes / double(bytes) > 14.0, qPrintable(QString::number(floatBytes / double(bytes))));
    }

    // Every generator-file loader reads .ctern files (io/model_files.h's reader installed by quant/):
    // evaluate, sample, info and stage inputs take a packed generator like any other model file.
    void modelFileLoadersReadPackedFiles() {
        Generator g = trainedLookingGenerator("small", 1);
        TernaryOptions options;
        options.method = TernaryMethod::Twn;
        options.keepLastFloat = true;
        Generator tg = ternarizeGenerator(g, options);
        tg->eval();
        const auto dir = test::scratchDir("ctern-model-files");
        const auto path = dir + "/g.ctern";
        savePackedGenerator(path, packGenerator(tg, {{"note", "test"}}));

        QCOMPARE(modelFileFormatName(detectModelFileFormat(path)), std::string("coalesce-ternary"));
        LoadedGenerator loaded = loadGeneratorFile(path, g->spec());
        QCOMPARE(loaded.format, ModelFileFormat::PackedTernary);
        QCOMPARE(loaded.meta["method"].get<std::string>(), std::string("twn"));
        QVERIFY(!loaded.generator->is_training());
        {
            torch::NoGradGuard noGrad;
            auto z = g->sampleLatent(8);
            QVERIFY(maxAbsDiff(loaded.generator->forward(z), tg->forward(z)) < 1e-6);
        }
        const nlohmann::json described = describeModelFile(path);
        QCOMPARE(described["format"].get<std::string>(), std::string("coalesce-ternary"));
        QVERIFY(!described.contains("problem"));
        QCOMPARE(described["arch"], g->spec().toJson());

        // A different expected architecture and a damaged file are clear errors, as for other formats.
        try {
            loadGeneratorFile(path, ArchSpec::preset("dcgan32", "paper", 1));
            QFAIL("expected an architecture mismatch");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("not the expected") != std::string::npos, e.what());
        }
        const std::string bytes = readBytes(path);
        writeBytes(dir + "/cut.ctern", bytes.substr(0, bytes.size() / 2));
        try {
            loadGenerator(dir + "/cut.ctern");
            QFAIL("expected a truncation error");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("cut.ctern") != std::string::npos, e.what());
        }
    }

    void independentPythonReaderAgrees() {
        Generator g = trainedLookingGenerator("small", 2);
        TernaryOptions options;
        options.method = TernaryMethod::Ttq;  // distinct positive / negative scales
        options.keepFirstLastFloat = true;
        Generator tg = ternarizeGenerator(g, options);
        const auto path = test::scratchDir("ctern-python") + "/g.ctern";
        auto packed = packGenerator(tg);
        savePackedGenerator(path, packed);
        std::string out;
        QCOMPARE(test::runPython("read_ctern.py", path, &out), 0);
        const auto py = nlohmann::json::parse(out);
        QVERIFY(py["magic_ok"].get<bool>());
        QVERIFY(py["crc_ok"].get<bool>());
        QCOMPARE(py["version"].get<int>(), 1);
        QCOMPARE(py["method"].get<std::string>(), std::string("ttq"));
        QCOMPARE(py["layers"].size(), packed.layers.size());
        for (const auto& layer : packed.layers) {
            const auto& p = py["layers"][layer.name];
            auto codes = layer.codes.view(-1).to(torch::kLong);
            auto weights = torch::arange(codes.numel(), torch::kLong).remainder(97) + 1;
            QCOMPARE(p["count"].get<int64_t>(), codes.numel());
            QCOMPARE(p["positive"].get<int64_t>(), (codes == 1).sum().item<int64_t>());
            QCOMPARE(p["negative"].get<int64_t>(), (codes == -1).sum().item<int64_t>());
            QCOMPARE(p["checksum"].get<int64_t>(), (weights * codes).sum().item<int64_t>());
            // Dequantised sum from the in-memory ternary layer (float32 scales).
            auto layerWeight = std::dynamic_pointer_cast<TernaryLayerImpl>(tg->named_modules()[layer.name]);
            QVERIFY(layerWeight != nullptr);
            const double expected = layerWeight->ternaryWeight().detach().to(torch::kDouble).sum().item<double>();
            QVERIFY(std::abs(p["dequantised_sum"].get<double>() - expected) < 1e-4 * (1 + std::abs(expected)));
        }
        // Every other tensor, including the float first/last layers and BatchNorm buffers.
        QCOMPARE(py["tensors"].size(), packed.tensors.size());
        QVERIFY(py["tensors"].contains("net.0.weight"));
        QVERIFY(py["tensors"].contains("net.1.running_var"));
        QVERIFY(py["tensors"].contains("net.1.num_batches_tracked"));
        for (const auto& [name, tensor] : packed.tensors) {
            const double s = tensor.to(torch::kDouble).sum().item<double>();
            QVERIFY2(std::abs(py["tensors"][name]["sum"].get<double>() - s) < 1e-9 * (1 + std::abs(s)), name.c_str());
        }
    }

    void packedFilesAreAboutSixteenTimesSmaller() {
        // Real sizes on disk: the generator-only .coalesce file vs the packed file, both presets.
        const auto dir = test::scratchDir("ctern-size");
        for (const std::string preset : {"small", "paper"}) {
            torch::manual_seed(3);
            Generator g(ArchSpec::preset("dcgan32", preset, 1));
            const auto floatPath = dir + "/" + preset + ".coalesce";
            writeGeneratorFile(floatPath, g, nlohmann::json::object());
            const auto packedBytes = savePackedGenerator(dir + "/" + preset + ".ctern", packGenerator(ternarizeGenerator(g, {})));
            QCOMPARE(packedBytes, int64_t(fs::file_size(dir + "/" + preset + ".ctern")));
            const double ratio = double(fs::file_size(floatPath)) / double(packedBytes);
            qInfo("%s preset: float %lld bytes, packed %lld bytes, ratio %.2f", preset.c_str(),
                  (long long)fs::file_size(floatPath), (long long)packedBytes, ratio);
            QVERIFY2(ratio > 14.0 && ratio < 16.0, qPrintable(QString::number(ratio)));
        }
    }

    void damagedFilesGiveClearErrors() {
        Generator g = trainedLookingGenerator("small", 4);
        const auto dir = test::scratchDir("ctern-damage");
        const auto good = dir + "/good.ctern";
        savePackedGenerator(good, packGenerator(ternarizeGenerator(g, {})));
        const std::string file = readBytes(good);
        const auto bad = dir + "/bad.ctern";

        expectLoadError(dir + "/missing.ctern", "cannot open");
        writeBytes(bad, file.substr(0, 10));
        expectLoadError(bad, "truncated");
        writeBytes(bad, file.substr(0, 100));
        expectLoadError(bad, "truncated");
        writeBytes(bad, file.substr(0, file.size() - 1));
        expectLoadError(bad, "checksum");
        writeBytes(bad, "PNG\r\n" + file.substr(5));
        expectLoadError(bad, "wrong magic");
        std::string v = file;
        v[8] = 9;
        writeBytes(bad, v);
        expectLoadError(bad, "version 9");
        v = file;
        v[file.size() / 2] ^= 0x10;
        writeBytes(bad, v);
        expectLoadError(bad, "checksum");

        // Checksummed but inconsistent contents (what a buggy writer could produce).
        auto parts = split(file);
        auto tamper = [&](const std::function<void(nlohmann::json&, std::string&)>& edit, const std::string& needle) {
            auto h = parts.header;
            auto d = parts.data;
            edit(h, d);
            writeBytes(bad, join(file, h.dump(), d));
            expectLoadError(bad, needle);
        };
        tamper([](nlohmann::json& h, std::string&) { h["ternary"][0]["offset"] = h["data_bytes"].get<uint64_t>() - 3; },
               "outside the data section");
        tamper([](nlohmann::json& h, std::string&) { h["ternary"][1]["bytes"] = 7; }, "its shape needs");
        tamper([](nlohmann::json& h, std::string& d) { d[h["ternary"][2]["offset"].get<size_t>()] = char(0xFF); },
               "invalid ternary code 3");
        tamper([](nlohmann::json& h, std::string&) { h["tensors"].erase("net.1.running_mean"); }, "is missing");
        tamper([](nlohmann::json& h, std::string&) { h["tensors"]["net.1.running_mean"]["dtype"] = "float16"; },
               "unsupported dtype");
        tamper([](nlohmann::json& h, std::string&) { h["ternary"][0]["shape"] = {100, 256, 2, 8}; }, "expects");
        tamper([](nlohmann::json& h, std::string&) { h["ternary"][0]["name"] = "net.42"; }, "does not exist");
        tamper([](nlohmann::json& h, std::string&) { h["ternary"][0]["scale_pos"] = "big"; }, "scale_pos");
        tamper([](nlohmann::json& h, std::string&) { h["arch"]["generator_widths"] = {8192, 8192, 8192}; },
               "fewer than the weights");
        tamper([](nlohmann::json& h, std::string&) { h["arch"]["channels"] = 2; }, "channels");
        tamper([](nlohmann::json& h, std::string&) { h["method"] = "binary"; }, "binary");
        tamper([](nlohmann::json& h, std::string&) { h.erase("tensors"); }, "malformed header");
        tamper([](nlohmann::json& h, std::string&) { h["data_bytes"] = 5; }, "data section has");
        // Fields that parse but mean nothing (issue "foundations", 9).
        tamper([](nlohmann::json& h, std::string&) { h["ternary"][0]["scale_neg"] = -0.5; }, "must be >= 0");
        tamper([](nlohmann::json& h, std::string&) { h["ternary"][0]["kind"] = "conv3d"; }, "unknown kind \"conv3d\"");
        tamper([](nlohmann::json& h, std::string&) {
            h["tensors"]["net.1.running_mean"]["offset"] = h["tensors"]["net.1.running_var"]["offset"];
        }, "overlap in the data section");
        writeBytes(bad, join(file, "{\"format\": ", parts.data));
        expectLoadError(bad, "malformed header JSON");
        // The untouched file still loads.
        QCOMPARE(loadPackedGenerator(good).layers.size(), size_t(4));
    }

    void fuzzedFilesNeverCrash() {
        torch::manual_seed(5);
        Generator g(ArchSpec::preset("mlp2d"));  // small file: the fuzz stays fast
        const auto dir = test::scratchDir("ctern-fuzz");
        const auto good = dir + "/good.ctern";
        savePackedGenerator(good, packGenerator(ternarizeGenerator(g, {})));
        const std::string file = readBytes(good);
        const auto bad = dir + "/bad.ctern";
        std::mt19937_64 rng(12345);
        int errors = 0, loaded = 0;
        for (int trial = 0; trial < 400; ++trial) {
            std::string damaged = file;
            const int kind = trial % 4;
            if (kind == 0) {
                damaged.resize(rng() % file.size());  // truncation
            } else {
                const int flips = 1 + int(rng() % 4);
                for (int f = 0; f < flips; ++f) damaged[rng() % damaged.size()] ^= char(1 + rng() % 255);
                if (kind >= 2) fixCrc(damaged);  // let damage reach the header and data checks
            }
            writeBytes(bad, damaged);
            try {
                auto packed = loadPackedGenerator(bad);
                auto out = unpackGenerator(packed)->forward(torch::randn({2, g->spec().latentDim}));
                QCOMPARE(out.size(0), int64_t(2));
                ++loaded;
            } catch (const Error&) {
                ++errors;
            } catch (const std::exception& e) {
                QFAIL(qPrintable(QString("trial %1: not a coalesce::Error: %2").arg(trial).arg(e.what())));
            }
        }
        qInfo("fuzz: %d clear errors, %d damaged-but-consistent files loaded", errors, loaded);
        QVERIFY(errors >= 200);  // every truncation and every un-fixed flip at least
    }

    void ternarizeJobWritesPackedFileAndReport() {
        Generator g = trainedLookingGenerator("small", 6);
        const auto dir = test::scratchDir("ternarize-job");
        const auto floatPath = dir + "/float.coalesce";
        writeGeneratorFile(floatPath, g, nlohmann::json::object());
        for (const std::string method : {"learned", "twn", "ttq"}) {
            const int recalibration = method == "ttq" ? 2 : 0;  // batches of 64 z
            auto job = createJob({{"kind", "ternarize"}, {"generator", floatPath}, {"method", method},
                                  {"compare_samples", 24}, {"recalibrate_batchnorm", recalibration}, {"run_dir", dir + "/run-" + method}, {"runtime", {{"threads", 1}, {"device", "cpu"}}}});
            ImageTags observer;
            CancelToken cancel;
            auto result = job->run(observer, cancel);
            QVERIFY2(result.status == JobResult::Status::Finished, result.message.c_str());
            const auto packedPath = result.summary["packed"].get<std::string>();
            QCOMPARE(packedPath, dir + "/run-" + method + "/generator.ctern");
            QVERIFY(fs::exists(packedPath));
            const auto report = nlohmann::json::parse(readBytes(result.summary["report"].get<std::string>()));
            QCOMPARE(report["method"].get<std::string>(), method);
            QCOMPARE(report["layers"].size(), size_t(4));
            QCOMPARE(report["sizes"]["packed_file_bytes"].get<int64_t>(), int64_t(fs::file_size(packedPath)));
            QVERIFY(report["sizes"]["whole_file_ratio"].get<double>() > 14.0);
            QVERIFY(report["sizes"]["ternary_weight_ratio"].get<double>() > 15.9);
            QVERIFY(report["quality"]["packed_round_trip_max_abs"].get<double>() < 1e-5);
            QVERIFY(report["quality"]["rmse_vs_float"].get<double>() > 0.0);
            QVERIFY(observer.hasImage("float") && observer.hasImage("ternary"));
            // What the job wrote is what this generator ternarises to (with the job's recalibration stream).
            TernaryOptions options;
            options.method = parseTernaryMethod(method);
            auto expected = ternarizeGenerator(g, options);
            if (recalibration > 0) recalibrateBatchNorm(expected, recalibration, 64, makeCpuGenerator(deriveSeed(1, 8)));
            expected->eval();
            const auto floatMean = g->named_buffers()["net.1.running_mean"];
            const auto packedMean = loadPackedGenerator(packedPath).tensors.at("net.1.running_mean");
            QCOMPARE(torch::equal(floatMean, packedMean), recalibration == 0);
            torch::NoGradGuard noGrad;
            auto z = g->sampleLatent(8);
            QVERIFY(maxAbsDiff(unpackGenerator(loadPackedGenerator(packedPath))->forward(z), expected->forward(z)) < 1e-6);
        }
    }

    void ternarizeJobFineTunes() {
        // Toy generator, fine-tuned against its float self and a few toy points: Δ and weights move.
        torch::manual_seed(7);
        Generator g(ArchSpec::preset("mlp2d"));
        const auto dir = test::scratchDir("ternarize-finetune");
        const auto floatPath = dir + "/float.coalesce";
        writeGeneratorFile(floatPath, g, nlohmann::json::object());
        auto job = createJob({{"kind", "ternarize"}, {"generator", floatPath}, {"method", "learned"},
                              {"iterations", 4}, {"batch_size", 16}, {"n_critic", 2}, {"data", "toy:ring8:64:3"},
                              {"sample_every", 0}, {"checkpoint_every", 0}, {"compare_samples", 100},
                              {"evaluation", {{"reference", "toy:ring8:200:4"}, {"real_samples", 100}, {"fake_samples", 100},
                                              {"w1_samples", 100}, {"kid_subsets", 2}, {"diversity_samples", 20}}},
                              {"run_dir", dir + "/run"}, {"runtime", {{"threads", 1}, {"device", "cpu"}}}});
        ImageTags observer;
        CancelToken cancel;
        auto result = job->run(observer, cancel);
        QVERIFY2(result.status == JobResult::Status::Finished, result.message.c_str());
        const auto report = nlohmann::json::parse(readBytes(result.summary["report"].get<std::string>()));
        QCOMPARE(report["fine_tune"]["iterations"].get<int64_t>(), int64_t(4));
        QCOMPARE(report["fine_tune"]["sources"].size(), size_t(2));
        // Float and ternary generator scored under the same protocol (toy mode: raw point features).
        for (const char* which : {"float", "ternary"}) {
            QVERIFY2(report["evaluation"][which].contains("w1"), which);
            QVERIFY(report["evaluation"][which]["w1"].get<double>() > 0.0);
        }
        // Δ moved away from its initial 0.05·max|W| in at least one layer.
        bool moved = false;
        for (const auto& layer : report["layers"])
            moved |= std::abs(layer["delta"].get<double>() / layer["max_abs_weight"].get<double>() - 0.05) > 1e-4;
        QVERIFY(moved);
    }

    void distillationPullsTheTernaryGeneratorTowardsTheFloat() {
        // Same seed and schedule; only distill_weight differs. The teacher term must bring the ternary
        // generator's samples closer (same z, RMSE) to the float generator's than the critic alone does.
        torch::manual_seed(11);
        Generator g(ArchSpec::preset("mlp2d"));
        const auto dir = test::scratchDir("ternarize-distill");
        const auto floatPath = dir + "/float.coalesce";
        writeGeneratorFile(floatPath, g, nlohmann::json::object());
        auto rmseWith = [&](double distill) {
            const auto runDir = dir + "/run-" + std::to_string(int(distill));
            auto job = createJob({{"kind", "ternarize"}, {"generator", floatPath}, {"method", "learned"},
                                  {"threshold_init", "twn"}, {"iterations", 40}, {"batch_size", 64}, {"n_critic", 1},
                                  {"lr", 1e-3}, {"distill_weight", distill}, {"sample_every", 0}, {"checkpoint_every", 0},
                                  {"compare_samples", 512}, {"run_dir", runDir}, {"runtime", {{"threads", 1}, {"device", "cpu"}}}});
            ImageTags observer;
            CancelToken cancel;
            auto result = job->run(observer, cancel);
            if (result.status != JobResult::Status::Finished) qFatal("%s", result.message.c_str());
            const auto report = nlohmann::json::parse(readBytes(result.summary["report"].get<std::string>()));
            if (report["fine_tune"]["optimizer"].get<std::string>().find("alternating") == std::string::npos)
                qFatal("learned thresholds must take alternating steps");
            if (distill > 0 && !report["fine_tune"]["final_metrics"].contains("loss_g_extra"))
                qFatal("the distillation term is not logged");
            return report["quality"]["rmse_vs_float"].get<double>();
        };
        const double without = rmseWith(0), with = rmseWith(100);
        qInfo("rmse vs float after 40 iterations: critic only %.4f, with distillation %.4f", without, with);
        QVERIFY(with < 0.8 * without);
    }

    void adaptationTernarizesResumesExactlyAndExportsPacked() {
        // Stage 2 with "ternarize": G is ternarised before adaptation, Δ takes its own alternating Adam
        // steps (checkpointed), a resumed run equals an uninterrupted one, and the run exports both the
        // packed file and a float generator.coalesce that computes what the packed one computes.
        torch::manual_seed(5);
        Generator b(ArchSpec::preset("mlp2d"));
        const auto dir = test::scratchDir("adapt-ternary");
        const auto barycenter = dir + "/barycenter.coalesce";
        writeGeneratorFile(barycenter, b, nlohmann::json::object());
        auto config = [&](const std::string& runDir, int iterations, bool resume) {
            return nlohmann::json{{"kind", "adapt"}, {"barycenter", barycenter}, {"data", "toy:ring8:64:3"}, {"k", 16},
                                  {"iterations", iterations}, {"batch_size", 16}, {"n_critic", 1}, {"sample_every", 0},
                                  {"checkpoint_every", 0}, {"eval_every", 0}, {"run_dir", runDir}, {"resume", resume},
                                  {"ternarize", {{"method", "learned"}}}, {"runtime", {{"threads", 1}, {"device", "cpu"}}}};
        };
        auto run = [](const nlohmann::json& c) {
            auto job = createJob(c);
            JobObserver quiet;
            CancelToken cancel;
            auto result = job->run(quiet, cancel);
            if (result.status != JobResult::Status::Finished) qFatal("%s", result.message.c_str());
            return result;
        };
        run(config(dir + "/straight", 4, false));
        run(config(dir + "/resumed", 2, false));
        auto resumed = run(config(dir + "/resumed", 4, true));
        QVERIFY(resumed.summary.contains("transform"));

        const Checkpoint c = loadCheckpoint(dir + "/resumed/checkpoints/latest.coalesce");
        QVERIFY(c.tensors.count("generator.net.0.delta"));
        QVERIFY(c.tensors.count("optim.generator_alternating.net.0.delta.exp_avg"));
        QVERIFY(!c.tensors.count("optim.generator.net.0.delta.exp_avg"));  // Δ is not in the weight Adam

        torch::NoGradGuard noGrad;
        auto z = b->sampleLatent(64);
        auto straight = loadGeneratorFile(dir + "/straight/generator.coalesce").generator;
        auto again = loadGeneratorFile(dir + "/resumed/generator.coalesce").generator;
        straight->eval();
        again->eval();
        QVERIFY(maxAbsDiff(straight->forward(z), again->forward(z)) < 1e-6);
        // The float export computes what the packed 2-bit file computes, and differs from the barycenter.
        auto packed = unpackGenerator(loadPackedGenerator(dir + "/resumed/generator.ctern"));
        QVERIFY(maxAbsDiff(packed->forward(z), again->forward(z)) < 1e-5);
        b->eval();
        QVERIFY(maxAbsDiff(b->forward(z), again->forward(z)) > 1e-3);
        const auto report = nlohmann::json::parse(readBytes(dir + "/resumed/generator.ctern.report.json"));
        QCOMPARE(report["layers"].size(), size_t(4));
        QVERIFY(report["sizes"]["ternary_weight_ratio"].get<double>() > 10.0);

        // A bad ternarize section is a config error naming the field.
        try {
            auto bad = config(dir + "/bad", 1, false);
            bad["ternarize"] = {{"method", "learned"}, {"bits", 2}};
            createJob(bad);
            QFAIL("expected a config error");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("bits") != std::string::npos, e.what());
        }
    }

    void ternarizeJobRejectsBadConfigs() {
        auto expectError = [](const nlohmann::json& config, const std::string& needle) {
            try {
                createJob(config);
                QFAIL("expected a config error");
            } catch (const Error& e) {
                QVERIFY2(std::string(e.what()).find(needle) != std::string::npos, e.what());
            }
        };
        expectError({{"kind", "ternarize"}}, "generator is required");
        expectError({{"kind", "ternarize"}, {"generator", "g.coalesce"}, {"method", "binary"}}, "binary");
        expectError({{"kind", "ternarize"}, {"generator", "g.coalesce"}, {"data", "toy:ring8"}}, "iterations");
        expectError({{"kind", "ternarize"}, {"generator", "g.coalesce"}, {"threshold_fraction", 2}}, "threshold_fraction");
        expectError({{"kind", "ternarize"}, {"generator", "g.coalesce"}, {"colour", 2}}, "colour");
        auto job = createJob({{"kind", "ternarize"}, {"generator", "/nonexistent/g.coalesce"},
                              {"run_dir", test::scratchDir("ternarize-missing") + "/run"}});
        JobObserver quiet;
        CancelToken cancel;
        auto result = job->run(quiet, cancel);
        QVERIFY(result.status == JobResult::Status::Failed);
        QVERIFY2(result.message.find("/nonexistent/g.coalesce") != std::string::npos, result.message.c_str());
    }
};

COALESCE_TEST_APPLESS_MAIN(TestTernaryExport)
#include "test_ternary_export.moc"
