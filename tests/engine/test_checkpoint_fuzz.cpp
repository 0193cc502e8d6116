// Damaged model files must never crash Coalesce: seeded random truncations, byte flips and overwritten
// windows of valid files in every supported format go through the same entry points the GUI and CLI use
// (loadCheckpoint, loadGeneratorFile, describeModelFile). Each attempt must either load or throw
// coalesce::Error -- any other exception fails the test, a crash kills it. TorchScript and torch.save
// ZIP files take the guarded path (ZipArchive validates structure and CRCs before LibTorch sees a
// byte); a third of the ZIP mutations repair the CRCs, as a crafted file would, to exercise what lies
// behind (the pickle reader, its pre-flight of TorchScript pickles, LibTorch's own checks). Legacy
// torch.save files have no checksums at all, so all their mutations reach the pickle reader.
#include "support/test_main.h"  // Qt Test, and the suite registration
#include <torch/torch.h>

#include <fstream>
#include <random>
#include <zlib.h>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/model_files.h"
#include "io/zip_archive.h"
#include "models/networks.h"
#include "quant/packed_generator.h"
#include "quant/ternary_layers.h"
#include "support/test_support.h"

using namespace coalesce;

using coalesce::test::readBytes;
using coalesce::test::writeBytes;

namespace {

ArchSpec fuzzMlp() {
    ArchSpec s = ArchSpec::preset("mlp2d");
    s.latentDim = 3;
    s.generatorWidths = {4, 4};
    s.criticWidths = {4};
    return s;
}

ArchSpec fuzzDcgan() {
    ArchSpec s = ArchSpec::preset("dcgan32", "small", 1);
    s.latentDim = 2;
    s.generatorWidths = {2, 2, 2};
    s.criticWidths = {2, 2, 2};
    return s;
}

struct FuzzOutcome {
    int loaded = 0;
    int rejected = 0;
    int libtorchCrashes = 0;  // contained by the child process that reads TorchScript archives
    std::string firstForeignException;  // anything that is not a coalesce::Error
};

// Positions are drawn half uniformly, half near the start or the end of the file, where the
// safetensors header, ZIP local headers and the ZIP central directory live.
size_t position(std::mt19937_64& rng, size_t size) {
    std::uniform_int_distribution<int> region(0, 3);
    const size_t window = std::min<size_t>(size, 1024);
    switch (region(rng)) {
        case 0: return std::uniform_int_distribution<size_t>(0, window - 1)(rng);
        case 1: return size - window + std::uniform_int_distribution<size_t>(0, window - 1)(rng);
        default: return std::uniform_int_distribution<size_t>(0, size - 1)(rng);
    }
}

void putU32(std::string& bytes, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t getU16(const std::string& bytes, size_t at) {
    return static_cast<unsigned char>(bytes[at]) | static_cast<unsigned char>(bytes[at + 1]) << 8;
}

// A crafted file rather than a damaged one: bytes inside one ZIP entry (a pickle half of the time) change
// and the entry's CRC-32 is repaired wherever it is recorded, so the archive checks pass and only the
// readers' own validation (pickle pre-flight, LibTorch's errors) stands between the bytes and a crash.
bool mutateZipEntryKeepingCrc(std::string& bytes, std::mt19937_64& rng, std::string* what) {
    std::vector<ZipEntry> entries;
    try {
        entries = ZipArchive(bytes, "fuzz").entries();
    } catch (const Error&) {
        return false;
    }
    std::vector<ZipEntry> candidates;
    const bool picklesOnly = rng() % 2 == 0;
    for (const auto& e : entries) {
        const bool pickle = e.name.size() > 4 && (e.name.compare(e.name.size() - 4, 4, ".pkl") == 0 ||
                                                  e.name.find("debug_pkl") != std::string::npos);
        if (e.method == 0 && e.size > 0 && (!picklesOnly || pickle)) candidates.push_back(e);
    }
    if (candidates.empty()) return false;
    const ZipEntry& e = candidates[rng() % candidates.size()];
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < flips; ++i) {
        const size_t at = e.dataOffset + rng() % e.size;
        bytes[at] = static_cast<char>(bytes[at] ^ (1 + rng() % 255));
    }
    const uint32_t crc = static_cast<uint32_t>(::crc32(::crc32(0L, Z_NULL, 0),
                                                       reinterpret_cast<const Bytef*>(bytes.data() + e.dataOffset),
                                                       static_cast<uInt>(e.size)));
    for (size_t at = 0; (at = bytes.find("PK", at)) != std::string::npos && at + 46 <= bytes.size(); ++at) {
        if (bytes[at + 2] == 1 && bytes[at + 3] == 2 && bytes.compare(at + 46, getU16(bytes, at + 28), e.name) == 0 &&
            getU16(bytes, at + 28) == e.name.size())
            putU32(bytes, at + 16, crc);  // central directory
        if (bytes[at + 2] == 3 && bytes[at + 3] == 4 && bytes.compare(at + 30, getU16(bytes, at + 26), e.name) == 0 &&
            getU16(bytes, at + 26) == e.name.size()) {
            if (getU16(bytes, at + 6) & 0x8) {  // data descriptor after the data, with or without signature
                const size_t dd = e.dataOffset + e.size;
                putU32(bytes, bytes.compare(dd, 4, "PK\x07\x08") == 0 ? dd + 4 : dd, crc);
            } else {
                putU32(bytes, at + 14, crc);
            }
        }
    }
    *what = std::to_string(flips) + " byte(s) changed in '" + e.name + "' with its CRC repaired";
    return true;
}

std::string mutate(const std::string& valid, std::mt19937_64& rng, std::string* what) {
    std::string bytes = valid;
    if (ZipArchive::looksLikeZip(valid) && rng() % 3 == 0 && mutateZipEntryKeepingCrc(bytes, rng, what)) return bytes;
    std::uniform_int_distribution<int> op(0, 3);
    std::uniform_int_distribution<int> byte(1, 255);
    switch (op(rng)) {
        case 0: {
            const size_t length = std::uniform_int_distribution<size_t>(0, valid.size() - 1)(rng);
            bytes.resize(length);
            *what = "truncated to " + std::to_string(length);
            break;
        }
        case 1: {
            const size_t at = position(rng, bytes.size());
            bytes[at] = static_cast<char>(bytes[at] ^ byte(rng));
            *what = "flipped byte " + std::to_string(at);
            break;
        }
        case 2: {
            const int flips = std::uniform_int_distribution<int>(2, 6)(rng);
            *what = "flipped bytes";
            for (int i = 0; i < flips; ++i) {
                const size_t at = position(rng, bytes.size());
                bytes[at] = static_cast<char>(bytes[at] ^ byte(rng));
                *what += " " + std::to_string(at);
            }
            break;
        }
        default: {
            const size_t at = position(rng, bytes.size());
            const size_t length = std::min<size_t>(8, bytes.size() - at);
            for (size_t i = 0; i < length; ++i) bytes[at + i] = static_cast<char>(rng() & 0xff);
            *what = "overwrote 8 bytes at " + std::to_string(at);
        }
    }
    return bytes;
}

FuzzOutcome fuzz(const std::string& valid, int iterations, uint64_t seed, const std::string& path, bool asCheckpoint) {
    std::mt19937_64 rng(seed);
    FuzzOutcome outcome;
    for (int i = 0; i < iterations; ++i) {
        std::string what;
        const std::string damaged = mutate(valid, rng, &what);
        writeBytes(path, damaged);
        auto attempt = [&](const char* entry, const std::function<void()>& f) {
            try {
                f();
                ++outcome.loaded;
            } catch (const Error& e) {
                ++outcome.rejected;
                if (std::string(e.what()).find("LibTorch crashed") != std::string::npos && outcome.libtorchCrashes++ == 0)
                    writeBytes(path + ".crashed-libtorch", damaged);  // kept for a look (tests/data/io/ has one)
            } catch (const std::exception& e) {
                if (outcome.firstForeignException.empty())
                    outcome.firstForeignException = std::string(entry) + " after " + what + ": " + e.what();
            }
        };
        if (asCheckpoint) attempt("loadCheckpoint", [&] { loadCheckpoint(path); });
        attempt("loadGeneratorFile", [&] {
            Generator g = loadGenerator(path);
            g->forward(torch::zeros({1, g->spec().latentDim}));
        });
        if (i % 8 == 0) attempt("describeModelFile", [&] { describeModelFile(path); });
    }
    return outcome;
}

}  // namespace

class TestCheckpointFuzz : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() {
        torch::set_num_threads(1);
        registerPackedTernaryReader();  // .ctern files through the same loaders as every other format
    }

    void damagedFilesNeverCrash_data() {
        QTest::addColumn<QString>("format");
        QTest::addColumn<int>("iterations");
        QTest::newRow("coalesce checkpoint") << "coalesce" << 400;
        QTest::newRow("safetensors export") << "safetensors" << 200;
        QTest::newRow("TorchScript (C++ export)") << "torchscript" << 300;
        QTest::newRow("torch.save ZIP (C++ export)") << "state_dict" << 200;
        QTest::newRow("TorchScript (Python)") << "python-torchscript" << 200;
        QTest::newRow("torch.save legacy (Python)") << "python-legacy" << 300;
        QTest::newRow("torch.save ZIP (Python)") << "python-state-dict" << 200;
        QTest::newRow("packed ternary (.ctern)") << "ctern" << 300;
    }
    void damagedFilesNeverCrash() {
        QFETCH(QString, format);
        QFETCH(int, iterations);
        // COALESCE_FUZZ_SCALE=50 runs a long local campaign with the same code (the suite uses 1).
        if (const char* scale = std::getenv("COALESCE_FUZZ_SCALE")) iterations *= std::max(1, std::atoi(scale));
        const std::string dir = test::scratchDir("fuzz");
        const std::string kind = format.toStdString();
        std::string validPath = dir + "/valid";
        torch::manual_seed(1);
        Generator g(kind == "torchscript" ? fuzzDcgan() : fuzzMlp());
        if (kind == "coalesce") {
            Checkpoint c;
            c.arch = g->spec();
            storeModule(c, "generator", *g);
            storeModule(c, "critic0", *Critic(c.arch));
            c.tensors["optim.generator.step"] = torch::tensor(int64_t(17));
            c.meta = {{"step", 17}, {"job", "fuzz"}};
            saveCheckpoint(validPath, c);
        } else if (kind == "safetensors") {
            exportGeneratorSafetensors(g, validPath + ".safetensors");
            validPath += ".safetensors";
        } else if (kind == "torchscript") {
            exportGeneratorTorchScript(g, validPath);
        } else if (kind == "state_dict") {
            exportGeneratorStateDict(g, validPath);
        } else if (kind == "ctern") {
            validPath += ".ctern";
            savePackedGenerator(validPath, packGenerator(ternarizeGenerator(g, {})));
        } else {
            static std::string pythonDir;  // written once for the three Python rows
            if (pythonDir.empty()) {
                pythonDir = test::scratchDir("fuzz-python");
                std::string out;
                QCOMPARE(test::runPython("interop.py",
                                         "write --arch '" + fuzzMlp().toJson().dump() + "' --seed 5 --batch 1 --out " + pythonDir, &out),
                         0);
            }
            validPath = pythonDir + (kind == "python-torchscript" ? "/scripted.pt"
                               : kind == "python-legacy"    ? "/state_dict_legacy.pt"
                                                            : "/state_dict.pt");
        }
        // The untouched file loads.
        loadGenerator(validPath);
        const std::string valid = readBytes(validPath);
        QVERIFY(valid.size() > 100);

        QElapsedTimer timer;
        timer.start();
        uint64_t seed = 0xC0A1E5CEull + static_cast<uint64_t>(iterations);
        if (const char* s = std::getenv("COALESCE_FUZZ_SEED")) seed = std::strtoull(s, nullptr, 10);
        const std::string damaged = dir + "/damaged" + (kind == "ctern" ? ".ctern" : "");
        const FuzzOutcome outcome = fuzz(valid, iterations, seed, damaged, kind == "coalesce");
        qInfo("%s: %d bytes, %d mutations: %d loads succeeded, %d rejected with coalesce::Error (%d of them LibTorch "
              "crashes contained in the worker process), %lld ms",
              kind.c_str(), int(valid.size()), iterations, outcome.loaded, outcome.rejected, outcome.libtorchCrashes,
              timer.elapsed());
        QVERIFY2(outcome.firstForeignException.empty(), outcome.firstForeignException.c_str());
        QVERIFY(outcome.rejected > iterations / 4);  // damage is noticed (legacy files have no checksum to notice flipped weights)
    }
};

COALESCE_TEST_APPLESS_MAIN(TestCheckpointFuzz)
#include "test_checkpoint_fuzz.moc"
