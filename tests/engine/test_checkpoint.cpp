// Native checkpoints (.coalesce): round trip of every supported dtype, the on-disk layout checked with an
// independent parser (plain byte arithmetic + zlib), atomic saves, and the strict loader's messages for
// truncated, corrupt, malformed and foreign files; storeModule/restoreModule name and shape checks.
#include "support/test_main.h"  // Qt Test, and the suite registration
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <zlib.h>

#include <sys/stat.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "io/state_dict.h"
#include "models/networks.h"
#include "support/test_support.h"
#include "support/error_of.h"

using namespace coalesce;
namespace fs = std::filesystem;

using coalesce::test::readBytes;
using coalesce::test::writeBytes;
using coalesce::test::contains;
using coalesce::test::errorOf;

namespace {

// An independent safetensors writer for hand-made (often deliberately broken) files.
std::string rawSafetensors(const std::string& headerJson, const std::string& data) {
    std::string out(8, '\0');
    const uint64_t n = headerJson.size();
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return out + headerJson + data;
}

std::string crcHex(const std::string& data) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%08lx",
                  ::crc32(::crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    return hex;
}

// A minimal valid Coalesce checkpoint made by hand: one F32 tensor "x" of shape [2].
std::string handMadeCheckpoint(const std::string& version = "1", const std::string& arch = "", float second = -2.0f) {
    const float values[2] = {1.5f, second};
    const std::string data(reinterpret_cast<const char*>(values), sizeof values);
    nlohmann::json header{{"x", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}}};
    header["__metadata__"] = {{"format", "coalesce-checkpoint"},
                              {"version", version},
                              {"arch", arch.empty() ? ArchSpec::preset("mlp2d").toJson().dump() : arch},
                              {"meta", "{\"step\": 3}"},
                              {"data_crc32", crcHex(data)}};
    return rawSafetensors(header.dump(), data);
}

ArchSpec tinyDcgan() {
    ArchSpec s = ArchSpec::preset("dcgan32", "small", 1);
    s.generatorWidths = {16, 8, 4};
    s.criticWidths = {4, 8, 16};
    s.latentDim = 10;
    return s;
}

}  // namespace

class TestCheckpoint : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(1); }

    void roundTripPreservesTensorsArchAndMeta() {
        const std::string path = test::scratchDir("ckpt") + "/model.coalesce";
        Checkpoint c;
        c.arch = tinyDcgan();
        Generator g(c.arch);
        Critic d(c.arch);
        storeModule(c, "generator", *g);
        storeModule(c, "critic0", *d);
        c.tensors["optim.generator.net.0.weight.exp_avg"] = torch::randn({3, 4}, torch::kFloat64);
        c.tensors["optim.generator.step"] = torch::tensor(int64_t(123456789012));
        c.tensors["misc.i32"] = torch::tensor({-1, 2, 3}, torch::kInt32);
        c.tensors["misc.u8"] = torch::tensor({0, 255}, torch::kUInt8);
        c.tensors["misc.empty"] = torch::empty({0, 5});
        c.meta = {{"step", 42}, {"job", "pretrain"}, {"config", {{"lr", 1e-4}}}};
        saveCheckpoint(path, c);

        Checkpoint back = loadCheckpoint(path);
        QVERIFY(back.arch == c.arch);
        QCOMPARE(back.meta, c.meta);
        QCOMPARE(back.tensors.size(), c.tensors.size());
        for (const auto& [name, t] : c.tensors) {
            QVERIFY2(back.tensors.count(name), name.c_str());
            const auto& b = back.tensors.at(name);
            QCOMPARE(b.scalar_type(), t.scalar_type());
            QCOMPARE(b.sizes().vec(), t.sizes().vec());
            QVERIFY2(torch::equal(b, t), name.c_str());
        }
        QVERIFY(hasModule(back, "generator"));
        QVERIFY(hasModule(back, "critic0"));
        QVERIFY(!hasModule(back, "critic1"));
        QVERIFY(!hasModule(back, "gen"));  // a prefix of a prefix is not a module

        // Restored networks compute exactly what the saved ones did (BN in eval uses running stats).
        Generator g2(c.arch);
        restoreModule(back, "generator", *g2, path);
        g->eval();
        g2->eval();
        auto z = torch::randn({3, c.arch.latentDim});
        QVERIFY(torch::equal(g->forward(z), g2->forward(z)));
    }

    void layoutIsPlainSafetensorsWithCrc() {
        // Parse the file with nothing but byte arithmetic, nlohmann::json and zlib (independent of io/).
        const std::string path = test::scratchDir("ckpt") + "/layout.coalesce";
        Checkpoint c;
        c.arch = ArchSpec::preset("mlp2d");
        c.tensors["a"] = torch::tensor({1.0f, 2.0f, 3.0f});
        c.tensors["b"] = torch::tensor({7.0, 8.0}, torch::kFloat64);
        c.meta = {{"hello", "world"}};
        saveCheckpoint(path, c);
        const std::string bytes = readBytes(path);
        uint64_t n = 0;
        for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
        QCOMPARE(n % 8, uint64_t(0));  // padded as the format recommends
        auto header = nlohmann::json::parse(bytes.substr(8, n));
        const std::string data = bytes.substr(8 + n);
        QCOMPARE(header["a"]["dtype"].get<std::string>(), std::string("F32"));
        QCOMPARE(header["b"]["dtype"].get<std::string>(), std::string("F64"));
        QCOMPARE(header["a"]["shape"], nlohmann::json::array({3}));
        auto a = header["a"]["data_offsets"].get<std::vector<uint64_t>>();
        float floats[3];
        std::memcpy(floats, data.data() + a[0], 12);
        QCOMPARE(floats[2], 3.0f);
        const auto& meta = header["__metadata__"];
        QCOMPARE(meta["format"].get<std::string>(), std::string("coalesce-checkpoint"));
        QCOMPARE(meta["version"].get<std::string>(), std::string("1"));
        QCOMPARE(meta["data_crc32"].get<std::string>(), crcHex(data));
        QVERIFY(ArchSpec::fromJson(nlohmann::json::parse(meta["arch"].get<std::string>())) == c.arch);
        QCOMPARE(nlohmann::json::parse(meta["meta"].get<std::string>())["hello"].get<std::string>(), std::string("world"));
        // And a file written by hand (not by saveCheckpoint) loads.
        writeBytes(path, handMadeCheckpoint());
        auto hand = loadCheckpoint(path);
        QCOMPARE(hand.tensors.at("x")[1].item<float>(), -2.0f);
        QCOMPARE(hand.meta["step"].get<int>(), 3);
    }

    void saveIsAtomic() {
        const std::string dir = test::scratchDir("atomic");
        const std::string path = dir + "/model.coalesce";
        Checkpoint good;
        good.arch = ArchSpec::preset("mlp2d");
        good.tensors["x"] = torch::ones({4});
        saveCheckpoint(path, good);
        const std::string before = readBytes(path);

        // A save that fails (complex tensors cannot be stored) leaves the old file and no temp file.
        Checkpoint bad = good;
        bad.tensors["y"] = torch::ones({2}, torch::kComplexFloat);
        QVERIFY(contains(errorOf([&] { saveCheckpoint(path, bad); }), "model.coalesce"));
        QCOMPARE(readBytes(path), before);
        // A writer abandoned half way (as by an exception while writing) never touches the target.
        {
            AtomicFileWriter writer(path);
            writer.write("half a file");
        }
        QCOMPARE(readBytes(path), before);
        for (const auto& entry : fs::directory_iterator(dir))
            QVERIFY2(entry.path().filename() == "model.coalesce", entry.path().c_str());
        // Saving into a folder that does not exist is a clear error.
        QVERIFY(contains(errorOf([&] { saveCheckpoint(dir + "/missing/x.coalesce", good); }), "missing/x.coalesce"));
        QVERIFY(!fs::exists(dir + "/missing"));
    }

    // Saved files get 0666 minus the process umask (not mkstemp's 0600), read without changing the umask.
    void savedFilesFollowTheUmask() {
        const std::string dir = test::scratchDir("umask");
        for (mode_t mask : {mode_t(022), mode_t(027), mode_t(077)}) {
            const mode_t previous = ::umask(mask);
            const std::string path = dir + "/f" + std::to_string(mask);
            AtomicFileWriter writer(path);
            writer.write("x");
            writer.commit();
            ::umask(previous);
            struct stat st {};
            QCOMPARE(::stat(path.c_str(), &st), 0);
            QCOMPARE(st.st_mode & 0777, 0666u & ~mask);
        }
    }

    void truncatedFilesSayTruncated() {
        const std::string dir = test::scratchDir("trunc");
        const std::string path = dir + "/model.coalesce";
        Checkpoint c;
        c.arch = ArchSpec::preset("mlp2d");
        c.tensors["w"] = torch::randn({300, 1000});  // 1.2 MB of data
        saveCheckpoint(path, c);
        const std::string full = readBytes(path);
        uint64_t headerLength = 0;
        for (int i = 7; i >= 0; --i) headerLength = (headerLength << 8) | static_cast<unsigned char>(full[i]);

        writeBytes(path, full.substr(0, 8 + headerLength + 300'000));
        std::string e = errorOf([&] { loadCheckpoint(path); });
        QVERIFY2(contains(e, "model.coalesce: truncated: header declares 1.2 MB of tensor data but only 0.3 MB present"), e.c_str());
        writeBytes(path, full.substr(0, 8 + headerLength / 2));
        e = errorOf([&] { loadCheckpoint(path); });
        QVERIFY2(contains(e, "model.coalesce: truncated") && contains(e, "of JSON"), e.c_str());
        writeBytes(path, full.substr(0, 5));
        e = errorOf([&] { loadCheckpoint(path); });
        QVERIFY2(contains(e, "model.coalesce: truncated"), e.c_str());
        writeBytes(path, "");
        e = errorOf([&] { loadCheckpoint(path); });
        QVERIFY2(contains(e, "model.coalesce") && contains(e, "truncated"), e.c_str());
        // Bytes appended after the data are not silently ignored either.
        writeBytes(path, full + "junk");
        e = errorOf([&] { loadCheckpoint(path); });
        QVERIFY2(contains(e, "4 unexpected bytes after the tensor data"), e.c_str());
    }

    // Issue "foundations", defect 2: NaN/Inf weights (a diverged run, a damaged or hostile file with a valid
    // CRC) are refused on load naming the tensor, and never written, so the last checkpoint stays good.
    void nonFiniteWeightsAreRefused() {
        const std::string dir = test::scratchDir("nonfinite");
        for (float bad : {std::nanf(""), std::numeric_limits<float>::infinity()}) {
            writeBytes(dir + "/bad.coalesce", handMadeCheckpoint("1", "", bad));
            const std::string e = errorOf([&] { loadCheckpoint(dir + "/bad.coalesce"); });
            QVERIFY2(contains(e, "bad.coalesce: tensor x (1 of 2 values are NaN/Inf)"), e.c_str());
        }
        writeBytes(dir + "/good.coalesce", handMadeCheckpoint());
        QCOMPARE(loadCheckpoint(dir + "/good.coalesce").tensors.at("x")[1].item<float>(), -2.0f);

        // Saving a diverged model fails and leaves the file that was there.
        Checkpoint c;
        c.arch = tinyDcgan();
        Generator g(c.arch);
        storeModule(c, "generator", *g);
        saveCheckpoint(dir + "/latest.coalesce", c);
        const std::string before = readBytes(dir + "/latest.coalesce");
        c.tensors["generator.net.0.weight"][0][0][0][0] = std::nanf("");
        const std::string e = errorOf([&] { saveCheckpoint(dir + "/latest.coalesce", c); });
        QVERIFY2(contains(e, "not written") && contains(e, "generator.net.0.weight"), e.c_str());
        QVERIFY(readBytes(dir + "/latest.coalesce") == before);

        // Foreign weights (a state_dict's tensors) are checked as they are loaded into a network.
        TensorMap weights = moduleTensors(*g);
        weights["net.0.weight"] = weights["net.0.weight"].clone();
        weights["net.0.weight"][0][0][0][0] = -std::numeric_limits<float>::infinity();
        Generator target(c.arch);
        const std::string foreign = errorOf([&] { loadTensorsIntoModule(weights, *target, "g.pt"); });
        QVERIFY2(contains(foreign, "g.pt: tensor net.0.weight (1 of") && contains(foreign, "not usable"), foreign.c_str());
    }

    void corruptDataFailsTheChecksum() {
        const std::string path = test::scratchDir("crc") + "/model.coalesce";
        std::string bytes = handMadeCheckpoint();
        bytes[bytes.size() - 3] ^= 0x10;
        writeBytes(path, bytes);
        const std::string e = errorOf([&] { loadCheckpoint(path); });
        QVERIFY2(contains(e, "model.coalesce: checksum mismatch") && contains(e, "corrupt"), e.c_str());
    }

    void malformedHeadersAreNamed_data() {
        QTest::addColumn<QByteArray>("file");
        QTest::addColumn<QString>("expected");
        const std::string crc = crcHex(std::string(8, '\0'));
        auto meta = [&](const std::string& extra = "") {
            return "\"__metadata__\":{\"format\":\"coalesce-checkpoint\",\"version\":\"1\",\"arch\":" +
                   nlohmann::json(ArchSpec::preset("mlp2d").toJson().dump()).dump() + ",\"data_crc32\":\"" + crc + "\"" + extra + "}";
        };
        auto bytes = [](const std::string& s) { return QByteArray(s.data(), static_cast<int>(s.size())); };
        auto file = [&](const std::string& entries) { return bytes(rawSafetensors("{" + entries + "}", std::string(8, '\0'))); };
        QTest::newRow("not json") << bytes(rawSafetensors("{not json at all}", std::string(8, '\0')))
                                  << "invalid JSON";
        QTest::newRow("deep nesting") << bytes(rawSafetensors("{\"a\":" + std::string(40, '[') + std::string(40, ']') + "}", ""))
                                      << "nested deeper";
        QTest::newRow("unknown dtype") << file("\"x\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}," + meta())
                                       << "tensor 'x': unsupported dtype 'Q7'";
        QTest::newRow("size mismatch") << file("\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}," + meta())
                                       << "F32 [3] needs 12 bytes but data_offsets span 8";
        QTest::newRow("negative dim") << file("\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}," + meta())
                                      << "non-negative integers";
        QTest::newRow("float dim") << file("\"x\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}," + meta())
                                   << "non-negative integers";
        QTest::newRow("huge shape") << file("\"x\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,8]}," + meta())
                                    << "too large";
        QTest::newRow("overlap") << file("\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}," + meta())
                                 << "overlap";
        QTest::newRow("beyond data") << file("\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}," + meta())
                                     << "truncated: header declares 16 bytes of tensor data but only 8 bytes present";
        QTest::newRow("reversed offsets") << file("\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}," + meta())
                                          << "end before they begin";
        QTest::newRow("missing offsets") << file("\"x\":{\"dtype\":\"F32\",\"shape\":[2]}," + meta()) << "data_offsets";
        QTest::newRow("metadata not strings") << file("\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                                      "\"__metadata__\":{\"format\":1}")
                                              << "__metadata__.format is not a string";
        QTest::newRow("no coalesce metadata") << file("\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}")
                                              << "not a Coalesce checkpoint (a safetensors file";
        QTest::newRow("newer version") << bytes(handMadeCheckpoint("2")) << "format version 2 is not supported";
        QTest::newRow("bad arch") << bytes(handMadeCheckpoint("1", "{\"family\":\"dcgan32\",\"latent_dim\":100}"))
                                  << "architecture: missing or mistyped field";
        // A crafted 900-character tensor name (names over 1024 bytes are refused outright) is shown cut, with its length.
        QTest::newRow("crafted long name") << file("\"" + std::string(900, 'n') + "\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}," + meta())
                                           << "…' (a name of 900 characters): unsupported dtype 'Q7'";
        std::string hugeHeader(8, '\0');
        hugeHeader[4] = 0x10;  // 2^36 bytes
        QTest::newRow("huge header length") << bytes(hugeHeader + "{}") << "exceeds the 100 MB limit";
    }
    void malformedHeadersAreNamed() {
        QFETCH(QByteArray, file);
        QFETCH(QString, expected);
        const std::string path = test::scratchDir("malformed") + "/bad.coalesce";
        writeBytes(path, file.toStdString());
        const std::string e = errorOf([&] { loadCheckpoint(path); });
        QVERIFY2(contains(e, "bad.coalesce") && contains(e, expected.toStdString()), e.substr(0, 2000).c_str());
        QVERIFY2(e.size() < 1000, qPrintable(QString("a %1-character message").arg(e.size())));
    }

    void foreignFilesAreNotCheckpoints() {
        const std::string dir = test::scratchDir("foreign");
        writeBytes(dir + "/image.coalesce", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01", 21));
        std::string e = errorOf([&] { loadCheckpoint(dir + "/image.coalesce"); });
        QVERIFY2(contains(e, "image.coalesce: not a Coalesce checkpoint (the file is a PNG image)"), e.c_str());
        writeBytes(dir + "/notes.coalesce", "These are my notes about the experiment.\n");
        e = errorOf([&] { loadCheckpoint(dir + "/notes.coalesce"); });
        QVERIFY2(contains(e, "notes.coalesce: not a Coalesce checkpoint (the file is a text file)"), e.c_str());
        e = errorOf([&] { loadCheckpoint(dir + "/absent.coalesce"); });
        QVERIFY2(contains(e, "absent.coalesce: no such file"), e.c_str());
        e = errorOf([&] { loadCheckpoint(dir); });
        QVERIFY2(contains(e, "is a directory"), e.c_str());
    }

    void restoreModuleListsMismatches() {
        const std::string path = test::scratchDir("restore") + "/small.coalesce";
        Checkpoint c;
        c.arch = ArchSpec::preset("dcgan32", "small", 1);
        Generator small(c.arch);
        storeModule(c, "generator", *small);
        saveCheckpoint(path, c);
        Checkpoint back = loadCheckpoint(path);

        Generator paper(ArchSpec::preset("dcgan32", "paper", 1));
        std::string e = errorOf([&] { restoreModule(back, "generator", *paper, path); });
        QVERIFY2(contains(e, "small.coalesce: "), e.c_str());
        QVERIFY2(contains(e, "generator.net.0.weight: shape [100,256,4,4] in file, [100,1024,4,4] expected"), e.c_str());
        QVERIFY2(contains(e, "and ") && contains(e, "more"), e.c_str());  // only the first few are listed
        QVERIFY2(contains(e, "file is dcgan32 small, not dcgan32 paper?"), e.c_str());

        QVERIFY(contains(errorOf([&] { restoreModule(back, "critic0", *paper, path); }), "holds no 'critic0' weights"));

        Checkpoint extra = back;
        extra.tensors["generator.net.99.weight"] = torch::zeros({1});
        extra.tensors.erase("generator.net.1.running_var");
        Generator same(c.arch);
        e = errorOf([&] { restoreModule(extra, "generator", *same, path); });
        QVERIFY2(contains(e, "generator.net.1.running_var: missing from the file"), e.c_str());
        QVERIFY2(contains(e, "generator.net.99.weight: in the file but not part of this network"), e.c_str());

        Checkpoint wrongType = back;
        wrongType.tensors["generator.net.1.running_mean"] = torch::zeros({256}, torch::kInt64);
        e = errorOf([&] { restoreModule(wrongType, "generator", *same, path); });
        QVERIFY2(contains(e, "generator.net.1.running_mean: Long in file, Float expected"), e.c_str());

        // Storing again under the same prefix replaces, never mixes, what was there.
        Checkpoint c2;
        c2.arch = c.arch;
        c2.tensors["generator.stale"] = torch::zeros({1});
        storeModule(c2, "generator", *small);
        QVERIFY(!c2.tensors.count("generator.stale"));
        Generator fromC2(c.arch);
        restoreModule(c2, "generator", *fromC2, "memory");
    }

    void float64TensorsLoadIntoFloat32Modules() {
        Checkpoint c;
        c.arch = ArchSpec::preset("mlp2d");
        Generator g(c.arch);
        storeModule(c, "generator", *g);
        for (auto& [name, t] : c.tensors) t = t.to(torch::kFloat64);
        const std::string path = test::scratchDir("f64") + "/f64.coalesce";
        saveCheckpoint(path, c);
        Generator g2(c.arch);
        restoreModule(loadCheckpoint(path), "generator", *g2, path);
        auto z = torch::randn({4, c.arch.latentDim});
        QVERIFY(torch::allclose(g->forward(z), g2->forward(z), 0, 0));
    }
};

COALESCE_TEST_APPLESS_MAIN(TestCheckpoint)
#include "test_checkpoint.moc"
