// The data module: IDX and image-folder loaders (round trips, every validation error), the 28→32
// and resize/crop geometry checked on pixel values, class filters, k-shot subsets, the batch sampler,
// dataset hashes, toy mixtures (sample statistics against their parameters) and the real
// Fashion-MNIST files (cross-checked by an independent Python reader; skipped when not installed).
#include "support/test_main.h"  // Qt Test, and the suite registration
#include <torch/torch.h>

#include <QElapsedTimer>
#include <QScopeGuard>

#include <cstdlib>
#include <functional>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <zlib.h>

#include "core/error.h"
#include "data/dataset.h"
#include "data/digest.h"
#include "data/idx.h"
#include "data/image_geometry.h"
#include "data/spec_text.h"
#include "data/toy.h"
#include "imageio/image_io.h"
#include "imageio/png_encoder.h"
#include "support/error_of.h"
#include "support/test_support.h"

using namespace coalesce;
namespace fs = std::filesystem;


namespace {

// ---- fixtures written independently of the loader ----------------------------------------------

void putBigEndian(std::vector<uint8_t>& out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

std::vector<uint8_t> idxBytes(uint32_t magic, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& payload) {
    std::vector<uint8_t> out;
    putBigEndian(out, magic);
    for (auto d : dims) putBigEndian(out, d);
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

void writeFixtureBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("test fixture: cannot write " + path);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> gzipBytes(const std::vector<uint8_t>& bytes) {
    uLongf bound = compressBound(static_cast<uLong>(bytes.size())) + 64;
    std::vector<uint8_t> out(bound);
    z_stream s{};
    deflateInit2(&s, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);  // gzip wrapper
    s.next_in = const_cast<Bytef*>(bytes.data());
    s.avail_in = static_cast<uInt>(bytes.size());
    s.next_out = out.data();
    s.avail_out = static_cast<uInt>(out.size());
    deflate(&s, Z_FINISH);
    out.resize(s.total_out);
    deflateEnd(&s);
    return out;
}

// The pixel value of image i at (row, col) in the synthetic IDX fixtures.
uint8_t syntheticPixel(int i, int row, int col) { return static_cast<uint8_t>((i * 31 + row * 7 + col * 3) % 256); }

std::vector<uint8_t> syntheticImages(int n, int rows = 28, int cols = 28) {
    std::vector<uint8_t> pixels;
    for (int i = 0; i < n; ++i)
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c) pixels.push_back(syntheticPixel(i, r, c));
    return pixels;
}

struct IdxPair {
    std::string images, labels;
};

// n images 28×28 and labels i % classes, raw or gzipped.
IdxPair writeIdxPair(const std::string& dir, int n, int classes, bool gz, int labelCount = -1) {
    if (labelCount < 0) labelCount = n;
    std::vector<uint8_t> labels;
    for (int i = 0; i < labelCount; ++i) labels.push_back(static_cast<uint8_t>(i % classes));
    auto images = idxBytes(0x803, {uint32_t(n), 28, 28}, syntheticImages(n));
    auto labelFile = idxBytes(0x801, {uint32_t(labelCount)}, labels);
    const std::string ext = gz ? ".gz" : "";
    IdxPair pair{dir + "/images-idx3-ubyte" + ext, dir + "/labels-idx1-ubyte" + ext};
    writeFixtureBytes(pair.images, gz ? gzipBytes(images) : images);
    writeFixtureBytes(pair.labels, gz ? gzipBytes(labelFile) : labelFile);
    return pair;
}

using test::errorOf;

// Points COALESCE_DATA_DIR at `dir` for the lifetime of the object, then restores what it was.
class ScopedDataDir {
public:
    explicit ScopedDataDir(const std::string& dir) {
        const char* old = std::getenv("COALESCE_DATA_DIR");
        had_ = old != nullptr;
        saved_ = old ? old : "";
        ::setenv("COALESCE_DATA_DIR", dir.c_str(), 1);
    }
    ~ScopedDataDir() {
        if (had_)
            ::setenv("COALESCE_DATA_DIR", saved_.c_str(), 1);
        else
            ::unsetenv("COALESCE_DATA_DIR");
    }

private:
    bool had_ = false;
    std::string saved_;
};

#define QVERIFY_ERROR_CONTAINS(expr, ...)                                                         \
    do {                                                                                          \
        const std::string _msg = errorOf([&] { (void)(expr); });                                  \
        QVERIFY2(!_msg.empty(), "expected a coalesce::Error from " #expr);                        \
        for (const std::string& _part : std::initializer_list<std::string>{__VA_ARGS__})                                             \
            QVERIFY2(_msg.find(_part) != std::string::npos,                                      \
                     ("message '" + _msg + "' lacks '" + _part + "'").c_str());                   \
    } while (0)

float scaled(int pixel) { return static_cast<float>((pixel - 127.5) / 127.5); }

// 8-bit value back from a [−1, 1] sample.
int pixelOf(float x) { return static_cast<int>(std::lround(x * 127.5 + 127.5)); }

// A PNG written from the specification (IHDR fields, filter-0 scanlines, optional PLTE, extra chunks
// before IDAT, a damaged ancillary chunk, extra compressed data): independent of any PNG library.
struct PngSpec {
    uint32_t width = 0, height = 0;
    uint8_t bitDepth = 8, colorType = 0;
    std::vector<std::vector<uint8_t>> rows;  // packed samples of each row, without the filter byte
    std::vector<uint8_t> palette;            // RGB triples (colour type 3)
    std::vector<uint8_t> transparency;       // a tRNS chunk (palette alphas, or the transparent gray sample)
    bool damagedTextChunk = false;           // a tEXt chunk whose CRC is wrong (libpng warns, skips it)
    size_t extraIdatBytes = 0;               // zeros after the image data (libpng warns "Too much image data")
};

std::vector<uint8_t> pngBytes(const PngSpec& spec) {
    std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    auto chunk = [&out](const char* type, const std::vector<uint8_t>& data, bool badCrc = false) {
        putBigEndian(out, static_cast<uint32_t>(data.size()));
        std::vector<uint8_t> body(type, type + 4);
        body.insert(body.end(), data.begin(), data.end());
        out.insert(out.end(), body.begin(), body.end());
        putBigEndian(out, static_cast<uint32_t>(crc32(0, body.data(), static_cast<uInt>(body.size()))) ^ (badCrc ? 1u : 0u));
    };
    std::vector<uint8_t> ihdr;
    putBigEndian(ihdr, spec.width);
    putBigEndian(ihdr, spec.height);
    ihdr.insert(ihdr.end(), {spec.bitDepth, spec.colorType, 0, 0, 0});
    chunk("IHDR", ihdr);
    if (!spec.palette.empty()) chunk("PLTE", spec.palette);
    if (!spec.transparency.empty()) chunk("tRNS", spec.transparency);
    if (spec.damagedTextChunk) chunk("tEXt", {'T', 'i', 't', 'l', 'e', 0, 'h', 'i'}, true);
    std::vector<uint8_t> raw;
    for (const auto& row : spec.rows) {
        raw.push_back(0);
        raw.insert(raw.end(), row.begin(), row.end());
    }
    raw.insert(raw.end(), spec.extraIdatBytes, 0);
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    std::vector<uint8_t> packed(size);
    compress(packed.data(), &size, raw.data(), static_cast<uLong>(raw.size()));
    packed.resize(size);
    chunk("IDAT", packed);
    chunk("IEND", {});
    return out;
}

// What the process writes to stderr (fd 2) while `f` runs.
std::string stderrOf(const std::function<void()>& f, const std::string& scratch) {
    const std::string path = scratch + "/stderr.txt";
    std::fflush(stderr);
    const int saved = ::dup(2);
    std::FILE* capture = std::fopen(path.c_str(), "w");
    ::dup2(::fileno(capture), 2);
    f();
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    std::fclose(capture);
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

ImageU8 makeImage(int width, int height, int channels, const std::function<int(int x, int y, int c)>& value) {
    ImageU8 image;
    image.width = width;
    image.height = height;
    image.channels = channels;
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            for (int c = 0; c < channels; ++c) image.pixels.push_back(static_cast<uint8_t>(value(x, y, c)));
    return image;
}

std::set<std::vector<float>> rowsAsSet(const torch::Tensor& t) {
    std::set<std::vector<float>> rows;
    auto flat = t.reshape({t.size(0), -1}).contiguous();
    for (int64_t i = 0; i < flat.size(0); ++i)
        rows.insert(std::vector<float>(flat[i].data_ptr<float>(), flat[i].data_ptr<float>() + flat.size(1)));
    return rows;
}

// A points dataset whose sample i is (i, −i): every sample is unique and identifies its index.
Dataset indexDataset(int64_t n) {
    Dataset d;
    auto i = torch::arange(n, torch::kFloat);
    d.samples = torch::stack({i, -i}, 1);
    d.labels = torch::arange(n, torch::kLong) % 3;
    d.classNames = {"0", "1", "2"};
    d.name = "index";
    d.hash = "h";
    return d;
}

std::vector<int64_t> indicesOf(const torch::Tensor& pointBatch) {
    auto col = pointBatch.select(1, 0).to(torch::kLong).contiguous();
    return std::vector<int64_t>(col.data_ptr<int64_t>(), col.data_ptr<int64_t>() + col.numel());
}

// Pixel c (0 R, 1 G, 2 B) at (x, y) of synthetic CIFAR image i: every image, plane and position differs.
int cifarPixel(int i, int c, int x, int y) { return (i * 37 + c * 91 + x * 7 + y * 13 + x * y) % 256; }

// One CIFAR record: the label byte(s), then the red, green and blue 32×32 planes, row-major.
void appendCifarRecord(std::vector<uint8_t>& out, const std::vector<uint8_t>& labelBytes, int image) {
    out.insert(out.end(), labelBytes.begin(), labelBytes.end());
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 32; ++y)
            for (int x = 0; x < 32; ++x) out.push_back(static_cast<uint8_t>(cifarPixel(image, c, x, y)));
}

// A CIFAR-10 binary folder: data_batch_1..5 with 2 images each (labels 0..9 in order), test_batch
// with 3 images (labels 7, 3, 3), and class names.
std::string writeCifar10(const std::string& dir) {
    for (int b = 0; b < 5; ++b) {
        std::vector<uint8_t> bytes;
        for (int k = 0; k < 2; ++k) appendCifarRecord(bytes, {static_cast<uint8_t>(2 * b + k)}, 2 * b + k);
        writeFixtureBytes(dir + "/data_batch_" + std::to_string(b + 1) + ".bin", bytes);
    }
    std::vector<uint8_t> test;
    appendCifarRecord(test, {7}, 100);
    appendCifarRecord(test, {3}, 101);
    appendCifarRecord(test, {3}, 102);
    writeFixtureBytes(dir + "/test_batch.bin", test);
    std::ofstream(dir + "/batches.meta.txt") << "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
    return dir;
}

}  // namespace

class TestData : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(2); }

    // ---- digest -------------------------------------------------------------------------------
    void sha256MatchesTheFipsVectors() {
        QCOMPARE(sha256Hex(""), std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        QCOMPARE(sha256Hex("abc"), std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        QCOMPARE(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                 std::string("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
        // One million 'a' fed in odd-sized pieces exercises the block buffering.
        Sha256 h;
        const std::string chunk(997, 'a');
        int fed = 0;
        while (fed + 997 <= 1'000'000) {
            h.update(chunk);
            fed += 997;
        }
        h.update(std::string(1'000'000 - fed, 'a'));
        QCOMPARE(h.hexDigest(), std::string("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
    }

    // ---- IDX --------------------------------------------------------------------------------------
    void idxRoundTripRawAndGzip() {
        for (bool gz : {false, true}) {
            const auto dir = test::scratchDir("idx-roundtrip");
            const auto pair = writeIdxPair(dir, 7, 3, gz);
            auto data = loadDataset("idx:" + pair.images + ":" + pair.labels);
            QCOMPARE(data.size(), int64_t{7});
            QCOMPARE(data.samples.sizes().vec(), (std::vector<int64_t>{7, 1, 32, 32}));
            QCOMPARE(data.samples.scalar_type(), torch::kFloat);
            QCOMPARE(data.labels.scalar_type(), torch::kLong);
            QCOMPARE(data.classNames, (std::vector<std::string>{"0", "1", "2"}));
            for (int i = 0; i < 7; ++i) {
                QCOMPARE(data.labels[i].item<int64_t>(), int64_t{i % 3});
                // 28→32: a 2-px border of −1 (pixel 0), the image itself untouched inside.
                for (int r = 0; r < 32; ++r)
                    for (int c = 0; c < 32; ++c) {
                        const float got = data.samples[i][0][r][c].item<float>();
                        const bool border = r < 2 || r >= 30 || c < 2 || c >= 30;
                        const float want = border ? -1.0f : scaled(syntheticPixel(i, r - 2, c - 2));
                        if (got != want)
                            QFAIL(qPrintable(QString("image %1 (%2,%3): %4 != %5").arg(i).arg(r).arg(c).arg(got).arg(want)));
                    }
            }
            QCOMPARE(data.hash.size(), size_t{64});
            // channels = 3 replicates the gray channel.
            auto rgb = loadDataset("idx:" + pair.images + ":" + pair.labels, LoadOptions{3, 32});
            QCOMPARE(rgb.samples.sizes().vec(), (std::vector<int64_t>{7, 3, 32, 32}));
            for (int c = 0; c < 3; ++c) QVERIFY(torch::equal(rgb.samples.select(1, c), data.samples.select(1, 0)));
            QVERIFY(rgb.hash != data.hash);
            // imageSize 28 keeps the images as they are.
            auto native = loadDataset("idx:" + pair.images + ":" + pair.labels, LoadOptions{1, 28});
            QVERIFY(torch::equal(native.samples, data.samples.slice(2, 2, 30).slice(3, 2, 30)));
        }
    }

    void idxRawAndGzipGiveTheSameTensors() {
        const auto dir = test::scratchDir("idx-same");
        const auto raw = writeIdxPair(dir + "", 4, 2, false);
        const auto gzDir = test::scratchDir("idx-same-gz");
        const auto gz = writeIdxPair(gzDir, 4, 2, true);
        auto a = loadDataset("idx:" + raw.images + ":" + raw.labels);
        auto b = loadDataset("idx:" + gz.images + ":" + gz.labels);
        QVERIFY(torch::equal(a.samples, b.samples));
        QVERIFY(torch::equal(a.labels, b.labels));
        QVERIFY(a.hash != b.hash);  // the hash covers the bytes as stored
    }

    void idxHashIsStableAndFollowsTheBytes() {
        const auto dir = test::scratchDir("idx-hash");
        const auto pair = writeIdxPair(dir, 5, 5, true);
        const std::string spec = "idx:" + pair.images + ":" + pair.labels;
        auto first = loadDataset(spec);
        clearIdxCache();
        QCOMPARE(loadDataset(spec).hash, first.hash);
        // Independent check that the hash covers the file bytes: recompute from sha256 of the files.
        std::ifstream fi(pair.images, std::ios::binary), fl(pair.labels, std::ios::binary);
        std::string imageBytes((std::istreambuf_iterator<char>(fi)), {}), labelBytes((std::istreambuf_iterator<char>(fl)), {});
        QCOMPARE(first.hash, sha256Hex("coalesce-dataset/1\nidx\nimages " + sha256Hex(imageBytes) + "\nlabels " +
                                       sha256Hex(labelBytes) + "\nchannels 1\nsize 32\n"));
        // Change one pixel (same size) and a later mtime: new data and a new hash, cache or not.
        auto pixels = syntheticImages(5);
        pixels[100] ^= 0xff;
        writeFixtureBytes(pair.images, gzipBytes(idxBytes(0x803, {5, 28, 28}, pixels)));
        fs::last_write_time(pair.images, fs::last_write_time(pair.images) + std::chrono::seconds(5));
        auto changed = loadDataset(spec);
        QVERIFY(changed.hash != first.hash);
        QVERIFY(!torch::equal(changed.samples, first.samples));
        // Selections change the hash too, deterministically.
        QCOMPARE(filterClasses(first, {1, 2}).hash, filterClasses(first, {2, 1}).hash);
        QVERIFY(filterClasses(first, {1, 2}).hash != filterClasses(first, {1, 3}).hash);
        QCOMPARE(kShotSubset(first, 3, 7).hash, kShotSubset(first, 3, 7).hash);
        QVERIFY(kShotSubset(first, 3, 7).hash != kShotSubset(first, 3, 8).hash);
        QVERIFY(kShotSubset(first, 3, 7).hash != kShotSubset(first, 2, 7).hash);
    }

    void idxWrongMagic() {
        const auto dir = test::scratchDir("idx-magic");
        const auto pair = writeIdxPair(dir, 3, 2, false);
        // Images and labels swapped.
        QVERIFY_ERROR_CONTAINS(loadDataset("idx:" + pair.labels + ":" + pair.images), pair.labels, "wrong magic",
                               "0x00000801", "0x00000803", "swapped");
        // Not an IDX file at all.
        writeFixtureBytes(dir + "/junk.gz", gzipBytes({'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'}));
        QVERIFY_ERROR_CONTAINS(loadDataset("idx:" + dir + "/junk.gz:" + pair.labels), dir + "/junk.gz", "wrong magic",
                               "0x68656C6C", "not an IDX file");
        // IDX, but floats.
        writeFixtureBytes(dir + "/float-idx", idxBytes(0x0D03, {1, 1, 1}, {0, 0, 0, 0}));
        QVERIFY_ERROR_CONTAINS(readIdx(dir + "/float-idx", 3), "element type 0x0D", "unsigned bytes");
    }

    void idxTruncatedAndOverlongFiles() {
        const auto dir = test::scratchDir("idx-trunc");
        const auto pair = writeIdxPair(dir, 10, 2, false);
        auto full = syntheticImages(10);
        // Header promises 10 images, 2357 bytes follow.
        std::vector<uint8_t> partial(full.begin(), full.begin() + 3 * 784 + 5);
        for (bool gz : {false, true}) {
            const std::string path = dir + "/short-images" + (gz ? ".gz" : "");
            auto bytes = idxBytes(0x803, {10, 28, 28}, partial);
            writeFixtureBytes(path, gz ? gzipBytes(bytes) : bytes);
            QVERIFY_ERROR_CONTAINS(loadDataset("idx:" + path + ":" + pair.labels), path + ": truncated",
                                   "10 images of 28×28 (7840 bytes)", "only 2357 bytes follow");
            if (gz) QVERIFY_ERROR_CONTAINS(readIdx(path, 3), "(after decompression)");
        }
        // Cut gzip stream.
        auto gz = gzipBytes(idxBytes(0x803, {10, 28, 28}, full));
        gz.resize(gz.size() / 2);
        writeFixtureBytes(dir + "/cut.gz", gz);
        QVERIFY_ERROR_CONTAINS(readIdx(dir + "/cut.gz", 3), dir + "/cut.gz", "truncated gzip");
        // Corrupt gzip data.
        auto bad = gzipBytes(idxBytes(0x803, {10, 28, 28}, full));
        for (size_t i = 20; i < 40; ++i) bad[i] ^= 0x5a;
        writeFixtureBytes(dir + "/bad.gz", bad);
        QVERIFY_ERROR_CONTAINS(readIdx(dir + "/bad.gz", 3), dir + "/bad.gz", "gzip");
        // Too short for a header.
        writeFixtureBytes(dir + "/tiny", {0, 0, 8, 3, 0, 0});
        QVERIFY_ERROR_CONTAINS(readIdx(dir + "/tiny", 3), dir + "/tiny", "truncated", "header");
        // Labels truncated.
        writeFixtureBytes(dir + "/short-labels", idxBytes(0x801, {10}, {1, 2, 3}));
        QVERIFY_ERROR_CONTAINS(readIdx(dir + "/short-labels", 1), "10 labels (10 bytes)", "only 3 bytes follow");
        // Extra bytes after the data.
        auto longer = full;
        longer.push_back(7);
        writeFixtureBytes(dir + "/long-images", idxBytes(0x803, {10, 28, 28}, longer));
        QVERIFY_ERROR_CONTAINS(readIdx(dir + "/long-images", 3), "1 unexpected bytes");
        // Zero images.
        writeFixtureBytes(dir + "/empty-images", idxBytes(0x803, {0, 28, 28}, {}));
        QVERIFY_ERROR_CONTAINS(readIdx(dir + "/empty-images", 3), "size 0");
    }

    void idxCountMismatchAndMissingFiles() {
        const auto dir = test::scratchDir("idx-count");
        const auto pair = writeIdxPair(dir, 6, 2, true, 5);
        QVERIFY_ERROR_CONTAINS(loadDataset("idx:" + pair.images + ":" + pair.labels), pair.images, pair.labels,
                               "6 images", "5 labels");
        QVERIFY_ERROR_CONTAINS(loadDataset("idx:" + pair.images + ":" + dir + "/nope.gz"), dir + "/nope.gz", "no such file");
        QVERIFY_ERROR_CONTAINS(loadDataset("idx:" + dir + "/none.gz:" + pair.labels), dir + "/none.gz", "no such file");
    }

    void idxSpecParsingCopesWithColonsInPaths() {
        const auto dir = test::scratchDir("idx-colon") + "/run:3";
        fs::create_directories(dir);
        const auto pair = writeIdxPair(dir, 6, 3, false);
        auto all = loadDataset("idx:" + pair.images + ":" + pair.labels);
        QCOMPARE(all.size(), int64_t{6});
        auto some = loadDataset("idx:" + pair.images + ":" + pair.labels + ":0,2");
        QCOMPARE(some.size(), int64_t{4});
        QCOMPARE(some.name, "idx:" + pair.images + ":" + pair.labels + ":0,2");
        // Images alone: unlabeled.
        auto unlabeled = loadDataset("idx:" + pair.images);
        QCOMPARE(unlabeled.size(), int64_t{6});
        QVERIFY((unlabeled.labels == -1).all().item<bool>());
        QVERIFY_ERROR_CONTAINS(filterClasses(unlabeled, {0}), "no class labels");
    }

    void namedIdxDatasetsFollowCoalesceDataDir() {
        // mnist:<split> with a synthetic MNIST folder (raw, the '.' naming of some mirrors).
        const auto root = test::scratchDir("data-dir");
        fs::create_directories(root + "/mnist");
        writeFixtureBytes(root + "/mnist/t10k-images.idx3-ubyte", idxBytes(0x803, {4, 28, 28}, syntheticImages(4)));
        writeFixtureBytes(root + "/mnist/t10k-labels.idx1-ubyte", idxBytes(0x801, {4}, {3, 1, 4, 1}));
        const ScopedDataDir dataDir(root);
        auto data = loadDataset("mnist:test:1");
        QCOMPARE(data.size(), int64_t{2});
        QCOMPARE(data.name, std::string("mnist:test:1"));
        QCOMPARE(data.classNames.size(), size_t{5});
        QVERIFY_ERROR_CONTAINS(loadDataset("mnist:train"), root + "/mnist/train-images-idx3-ubyte", "not found");
        QVERIFY_ERROR_CONTAINS(loadDataset("mnist:valid"), "unknown split 'valid'");
        QVERIFY_ERROR_CONTAINS(loadDataset("mnist:test:x"), "'x' is not a class list");
    }

    // ---- CIFAR binary files -------------------------------------------------------------------
    void cifar10ReadsRecordsPlanesAndNames() {
        const auto dir = writeCifar10(test::scratchDir("cifar10") + "/cifar-10-batches-bin");
        auto train = loadDataset("cifar10:" + dir + ":train", LoadOptions{3, 32});
        QCOMPARE(train.size(), int64_t{10});
        QCOMPARE(train.samples.sizes().vec(), (std::vector<int64_t>{10, 3, 32, 32}));
        QVERIFY(torch::equal(train.labels, torch::arange(10, torch::kLong)));  // the files in batch order
        QCOMPARE(train.classNames.size(), size_t{10});
        QCOMPARE(train.classNames[9], std::string("truck"));
        for (int i : {0, 6, 9})
            for (int c = 0; c < 3; ++c)
                for (auto [x, y] : {std::pair{0, 0}, std::pair{31, 0}, std::pair{5, 17}, std::pair{31, 31}})
                    QCOMPARE(train.samples[i][c][y][x].item<float>(), scaled(cifarPixel(i, c, x, y)));
        auto cats = loadDataset("cifar10:" + dir + ":test:3", LoadOptions{3, 32});
        QCOMPARE(cats.size(), int64_t{2});
        QCOMPARE(cats.samples[1][2][4][8].item<float>(), scaled(cifarPixel(102, 2, 8, 4)));
        QCOMPARE(cats.name, std::string("cifar10:test:3"));
        // The hash follows the bytes, not the path; 64×64 goes through the size rule (bilinear enlarging).
        const auto moved = test::scratchDir("cifar10-moved");
        fs::copy(dir, moved, fs::copy_options::recursive);
        QCOMPARE(loadDataset("cifar10:" + moved + ":train", LoadOptions{3, 32}).hash, train.hash);
        auto big = loadDataset("cifar10:" + dir + ":test", LoadOptions{3, 64});
        QCOMPARE(big.samples.sizes().vec(), (std::vector<int64_t>{3, 3, 64, 64}));
        QVERIFY(torch::allclose(big.samples, fitBatch(loadDataset("cifar10:" + dir + ":test", LoadOptions{3, 32}).samples, 64)));
        // Gzipped files (detected by their magic) load the same.
        const auto gz = test::scratchDir("cifar10-gz");
        for (const auto& entry : fs::directory_iterator(dir)) {
            std::ifstream in(entry.path(), std::ios::binary);
            const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
            writeFixtureBytes(gz + "/" + entry.path().filename().string(), gzipBytes(bytes));
        }
        QVERIFY(torch::equal(loadDataset("cifar10:" + gz + ":train", LoadOptions{3, 32}).samples, train.samples));
    }

    // The same pixels as PNG files through the folder loader (OpenCV) give the same tensors, in RGB
    // and in gray (OpenCV's RGB→gray): an independent check of the plane layout and the gray rule.
    void cifarMatchesTheSamePixelsAsPngFiles() {
        if (!imageIoAvailable()) QSKIP("built without OpenCV");
        const auto dir = writeCifar10(test::scratchDir("cifar10-png") + "/bin");
        const auto pngs = test::scratchDir("cifar10-png") + "/png";
        fs::create_directories(pngs);
        for (int i = 0; i < 10; ++i)
            writeImage(pngs + "/" + std::to_string(i) + ".png", makeImage(32, 32, 3, [&](int x, int y, int c) { return cifarPixel(i, c, x, y); }));
        for (int channels : {3, 1}) {
            auto cifar = loadDataset("cifar10:" + dir + ":train", LoadOptions{channels, 32});
            auto folder = loadDataset("folder:" + pngs, LoadOptions{channels, 32});
            QCOMPARE(folder.size(), int64_t{10});
            QVERIFY2(torch::equal(cifar.samples, folder.samples),
                     qPrintable(QString("channels %1: max diff %2").arg(channels).arg((cifar.samples - folder.samples).abs().max().item<double>())));
        }
    }

    void cifar100UsesFineLabelsAndTheDataDirectory() {
        const auto root = test::scratchDir("cifar100-root");
        std::vector<uint8_t> train, test;
        for (int i = 0; i < 6; ++i) appendCifarRecord(train, {static_cast<uint8_t>(i % 20), static_cast<uint8_t>(90 + i)}, i);
        appendCifarRecord(test, {19, 99}, 50);
        writeFixtureBytes(root + "/cifar-100-binary/train.bin", train);
        writeFixtureBytes(root + "/cifar-100-binary/test.bin", test);
        const ScopedDataDir dataDir(root);
        auto data = loadDataset("cifar100:train:92,95", LoadOptions{3, 32});  // no folder: the data directory's
        QCOMPARE(data.size(), int64_t{2});
        QCOMPARE(data.labels[0].item<int64_t>(), int64_t{92});
        QCOMPARE(data.classNames.size(), size_t{100});
        QCOMPARE(data.samples[1][0][3][3].item<float>(), scaled(cifarPixel(5, 0, 3, 3)));
        QCOMPARE(loadDataset("cifar100:" + root + "/cifar-100-binary:test").size(), int64_t{1});
    }

    void cifarRejectsTruncatedMislabelledAndMissingFiles() {
        const auto base = test::scratchDir("cifar-bad");
        auto fresh = [&](const std::string& name) { return writeCifar10(base + "/" + name); };
        const auto cut = fresh("cut");
        fs::resize_file(cut + "/data_batch_2.bin", 2 * 3073 - 5);
        QVERIFY_ERROR_CONTAINS(loadDataset("cifar10:" + cut + ":train"), cut + "/data_batch_2.bin", "6141 bytes",
                               "not a whole number of 3073-byte CIFAR-10 records", "truncated", "3068 bytes");
        QCOMPARE(loadDataset("cifar10:" + cut + ":test").size(), int64_t{3});  // the other split is intact

        const auto missing = fresh("missing");
        fs::remove(missing + "/data_batch_3.bin");
        QVERIFY_ERROR_CONTAINS(loadDataset("cifar10:" + missing + ":train"), "data_batch_3.bin not found");

        const auto label = fresh("label");
        std::vector<uint8_t> bad;
        appendCifarRecord(bad, {1}, 0);
        appendCifarRecord(bad, {12}, 1);
        writeFixtureBytes(label + "/test_batch.bin", bad);
        QVERIFY_ERROR_CONTAINS(loadDataset("cifar10:" + label + ":test"), label + "/test_batch.bin", "record 1 has label 12",
                               "0..9");

        // CIFAR-100 records (2 label bytes) read as CIFAR-10, and the other way round: the error says which.
        const auto c100 = base + "/c100";
        std::vector<uint8_t> hundred;
        for (int i = 0; i < 3; ++i) appendCifarRecord(hundred, {1, 2}, i);
        writeFixtureBytes(c100 + "/test_batch.bin", hundred);
        writeFixtureBytes(c100 + "/test.bin", hundred);
        QVERIFY_ERROR_CONTAINS(loadDataset("cifar10:" + c100 + ":test"), "3074-byte CIFAR-100 records: use cifar100:");
        writeFixtureBytes(c100 + "/test.bin", std::vector<uint8_t>(3 * 3073, 0));
        QVERIFY_ERROR_CONTAINS(loadDataset("cifar100:" + c100 + ":test"), "3073-byte CIFAR-10 records: use cifar10:");
        std::vector<uint8_t> coarse;
        appendCifarRecord(coarse, {25, 3}, 0);
        writeFixtureBytes(c100 + "/test.bin", coarse);
        QVERIFY_ERROR_CONTAINS(loadDataset("cifar100:" + c100 + ":test"), "record 0 has coarse label 25");
        writeFixtureBytes(c100 + "/test.bin", {});
        QVERIFY_ERROR_CONTAINS(loadDataset("cifar100:" + c100 + ":test"), "empty file");

        QVERIFY_ERROR_CONTAINS(loadDataset("cifar10:" + cut + ":valid"), "got split 'valid'");
        QVERIFY_ERROR_CONTAINS(loadDataset("cifar10:" + base + "/nowhere:train"), base + "/nowhere is not a folder");
        QVERIFY_ERROR_CONTAINS(loadDataset("cifar10:" + fresh("cls") + ":test:10"), "class 10 does not exist");
    }

    void badSpecsAndOptions() {
        QVERIFY_ERROR_CONTAINS(loadDataset(""), "expected fashion-mnist");
        QVERIFY_ERROR_CONTAINS(loadDataset("cifar:train"), "unknown kind 'cifar'");
        QVERIFY_ERROR_CONTAINS(loadDataset("toy:ring8", LoadOptions{2, 32}), "channels must be 1 or 3");
        QVERIFY_ERROR_CONTAINS(loadDataset("toy:ring8", LoadOptions{1, 2}), "image size");
    }

    // ---- geometry -----------------------------------------------------------------------------
    void fitPlanRules() {
        auto same = planFit(32, 32, 32);
        QVERIFY(!same.resamples(32, 32) && same.padding == 0 && same.cropX == 0 && same.cropY == 0);
        QCOMPARE(planFit(28, 28, 32).padding, 2);
        QCOMPARE(planFit(60, 60, 64).padding, 2);
        auto wide = planFit(40, 24, 32);  // shorter side 24 → 32, width 40·32/24 = 53.3 → 53, crop (53−32)/2
        QCOMPARE(wide.scaledHeight, 32);
        QCOMPARE(wide.scaledWidth, 53);
        QCOMPARE(wide.cropX, 10);
        QCOMPARE(wide.cropY, 0);
        auto tall = planFit(32, 48, 32);
        QVERIFY(!tall.resamples(32, 48));
        QCOMPARE(tall.cropY, 8);
        auto big = planFit(640, 480, 32);
        QCOMPARE(big.scaledWidth, 43);
        QCOMPARE(big.scaledHeight, 32);
    }

    void fitBatchShrinksEnlargesAndCrops() {
        // Exact 2× area shrink of 2×2 blocks = block means.
        auto x = torch::rand({2, 3, 64, 64}) * 2 - 1;
        auto out = fitBatch(x, 32);
        auto blockMeans = x.reshape({2, 3, 32, 2, 32, 2}).mean({3, 5});
        QVERIFY(torch::allclose(out, blockMeans, 1e-5, 1e-6));
        // A constant image stays constant when enlarged (bilinear) and cropped.
        auto constant = torch::full({1, 1, 20, 30}, 0.25);
        auto big = fitBatch(constant, 32);
        QCOMPARE(big.sizes().vec(), (std::vector<int64_t>{1, 1, 32, 32}));
        QVERIFY(torch::allclose(big, torch::full_like(big, 0.25)));
        // Centre crop without resampling: rows 8..39 of a 48-tall image.
        auto rows = torch::arange(48, torch::kFloat).div(48).reshape({1, 1, 48, 1}).expand({1, 1, 48, 32});
        QVERIFY(torch::equal(fitBatch(rows, 32), rows.slice(2, 8, 40)));
    }

    // The zlib-only PNG writer of builds without OpenCV, decoded by libpng: every pixel back,
    // gray and RGB, odd sizes; an inconsistent buffer is refused.
    void pngEncoderRoundTripsThroughOpenCv() {
        if (!imageIoAvailable()) QSKIP("built without OpenCV: nothing independent to decode with");
        const auto dir = test::scratchDir("png_encoder");
        for (int channels : {1, 3}) {
            const ImageU8 image = makeImage(37, 23, channels, [](int x, int y, int c) { return (x * 7 + y * 13 + c * 91) % 256; });
            const std::vector<std::uint8_t> png = encodePng(image);
            const std::string path = dir + "/c" + std::to_string(channels) + ".png";
            std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
            const ImageU8 back = readImage(path, 0);
            QCOMPARE(back.width, 37);
            QCOMPARE(back.height, 23);
            QCOMPARE(back.channels, channels);
            QVERIFY(back.pixels == image.pixels);
        }
        ImageU8 bad = makeImage(4, 4, 1, [](int, int, int) { return 0; });
        bad.pixels.pop_back();
        QVERIFY_THROWS_EXCEPTION(Error, encodePng(bad));
    }

    // PNGs are decoded with libpng directly: every layout to 8-bit gray or RGB (files written from the
    // specification above), and libpng's warnings come back to the caller instead of being printed --
    // a folder of such files reports them once, as a dataset warning.
    void pngDecoderReadsEveryLayoutAndKeepsWarningsOffStderr() {
        if (!imageIoAvailable()) QSKIP("built without OpenCV");
        const auto dir = test::scratchDir("png_decoder");
        auto read = [&](const PngSpec& spec, std::string* warnings = nullptr) {
            writeFixtureBytes(dir + "/x.png", pngBytes(spec));
            return readImage(dir + "/x.png", 0, warnings);
        };
        PngSpec gray{3, 2, 8, 0, {{0, 100, 255}, {7, 8, 9}}};
        ImageU8 image = read(gray);
        QCOMPARE(image.channels, 1);
        QVERIFY(image.pixels == (std::vector<uint8_t>{0, 100, 255, 7, 8, 9}));
        image = read({2, 1, 8, 2, {{1, 2, 3, 4, 5, 6}}});  // RGB
        QVERIFY(image.channels == 3 && image.pixels == (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
        image = read({2, 1, 8, 6, {{1, 2, 3, 99, 4, 5, 6, 0}}});  // RGBA: alpha dropped
        QVERIFY(image.channels == 3 && image.pixels == (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
        // 16-bit gray to 8 bits, rounded: v / 257.
        image = read({4, 1, 16, 0, {{0, 0, 0x64, 0xD6, 0xFF, 0xFF, 0xC8, 0x94}}});  // 0, 25 814, 65 535, 51 348
        QVERIFY2(image.pixels == (std::vector<uint8_t>{0, 100, 255, 200}), qPrintable(QString::number(image.pixels[1])));
        // 2-bit palette indices 0 1 2 3 into RGB colours; 1-bit gray to 0 / 255.
        PngSpec palette{4, 1, 2, 3, {{0b00011011}}};
        palette.palette = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120};
        image = read(palette);
        QVERIFY(image.channels == 3 && image.pixels == (std::vector<uint8_t>{10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120}));
        image = read({3, 1, 1, 0, {{0b10100000}}});
        QVERIFY(image.channels == 1 && image.pixels == (std::vector<uint8_t>{255, 0, 255}));
        // Transparency (tRNS) is dropped like any alpha: a PNG-8 with transparent colours, a gray one.
        palette.transparency = {0, 128};
        image = read(palette);
        QVERIFY(image.channels == 3 && image.pixels == (std::vector<uint8_t>{10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120}));
        PngSpec grayTransparent = gray;
        grayTransparent.transparency = {0, 100};
        image = read(grayTransparent);
        QVERIFY(image.channels == 1 && image.pixels == (std::vector<uint8_t>{0, 100, 255, 7, 8, 9}));
        // 16-bit RGB: each sample v / 257.
        image = read({1, 1, 16, 2, {{0xFF, 0xFF, 0x64, 0xD6, 0, 0}}});
        QVERIFY(image.channels == 3 && image.pixels == (std::vector<uint8_t>{255, 100, 0}));
        // As gray: the RGB image through the usual luma rule (OpenCV's, as for every other format).
        writeFixtureBytes(dir + "/rgb.png", pngBytes({1, 1, 8, 2, {{200, 100, 50}}}));
        QCOMPARE(int(readImage(dir + "/rgb.png", 1).pixels[0]), int(std::lround(0.299 * 200 + 0.587 * 100 + 0.114 * 50)));

        // Damaged but readable: the pixels, the warnings returned, nothing on stderr.
        PngSpec damaged = gray;
        damaged.damagedTextChunk = true;
        damaged.extraIdatBytes = 40;
        std::string warnings;
        const std::string printed = stderrOf([&] { image = read(damaged, &warnings); }, dir);
        QVERIFY(image.pixels == (std::vector<uint8_t>{0, 100, 255, 7, 8, 9}));
        QVERIFY2(warnings.find("CRC error") != std::string::npos && warnings.find("Too much image data") != std::string::npos, warnings.c_str());
        QVERIFY2(printed.empty(), printed.c_str());
        // Unreadable: a clear error naming the file; a header claiming a huge image is refused unread.
        std::vector<uint8_t> bytes = pngBytes(gray);
        bytes.resize(bytes.size() - 30);
        writeFixtureBytes(dir + "/cut.png", bytes);
        std::string e = errorOf([&] { readImage(dir + "/cut.png"); });
        QVERIFY2(e.find("cut.png") != std::string::npos && e.find("libpng") != std::string::npos, e.c_str());
        writeFixtureBytes(dir + "/huge.png", pngBytes({100000, 1, 8, 0, {{0}}}));
        e = errorOf([&] { readImage(dir + "/huge.png"); });
        QVERIFY2(e.find("huge.png") != std::string::npos, e.c_str());

        // A folder of such files: one dataset warning, naming how many and the first.
        for (int i = 0; i < 3; ++i) writeFixtureBytes(dir + "/folder/c0/" + std::to_string(i) + ".png", pngBytes(damaged));
        writeFixtureBytes(dir + "/folder/c0/clean.png", pngBytes(gray));
        Dataset data;
        const std::string folderPrinted = stderrOf([&] { data = loadDataset("folder:" + dir + "/folder"); }, dir);
        QCOMPARE(data.size(), int64_t{4});
        QVERIFY2(folderPrinted.empty(), folderPrinted.c_str());
        bool reported = false;
        for (const auto& w : data.warnings)
            reported = reported || (w.find("3 of 4 image file(s) were read with decoder warnings") != std::string::npos &&
                                    w.find("c0/0.png: tEXt: CRC error") != std::string::npos);
        QVERIFY2(reported, data.warnings.empty() ? "no warnings" : data.warnings.front().c_str());
    }

    // ---- image folders ------------------------------------------------------------------------
    void folderClassesFormatsAndSkippedFiles() {
        if (!imageIoAvailable()) QSKIP("built without OpenCV");
        const auto dir = test::scratchDir("folder");
        // Created out of order: classes are the sorted folder names.
        writeImage(dir + "/c_jpg/photo.jpg", makeImage(64, 64, 3, [](int, int, int) { return 128; }));
        writeImage(dir + "/a_png/one.png", makeImage(28, 28, 1, [](int x, int y, int) { return (x * 9 + y) % 256; }));
        writeImage(dir + "/a_png/nested/two.PNG", makeImage(28, 28, 1, [](int, int, int) { return 255; }));
        writeImage(dir + "/b_bmp/rgb.bmp", makeImage(37, 23, 3, [](int, int, int c) { return c == 0 ? 200 : c == 1 ? 100 : 20; }));
        writeFixtureBytes(dir + "/c_jpg/broken.png", {0x89, 'P', 'N', 'G', 1, 2, 3, 4, 5});
        writeFixtureBytes(dir + "/c_jpg/notes.txt", {'h', 'i'});
        writeImage(dir + "/.hidden/ignored.png", makeImage(8, 8, 1, [](int, int, int) { return 0; }));

        auto data = loadDataset("folder:" + dir);
        QCOMPARE(data.classNames, (std::vector<std::string>{"a_png", "b_bmp", "c_jpg"}));
        QCOMPARE(data.size(), int64_t{4});
        QCOMPARE(data.samples.sizes().vec(), (std::vector<int64_t>{4, 1, 32, 32}));
        QCOMPARE(data.labels.sizes().vec(), (std::vector<int64_t>{4}));
        QCOMPARE(std::vector<int64_t>(data.labels.data_ptr<int64_t>(), data.labels.data_ptr<int64_t>() + 4),
                 (std::vector<int64_t>{0, 0, 1, 2}));
        QCOMPARE(data.skippedFiles, int64_t{1});
        QCOMPARE(data.warnings.size(), size_t{1});
        QVERIFY(data.warnings[0].find("broken.png") != std::string::npos);
        QVERIFY(data.warnings[0].find("skipped 1 of 5") != std::string::npos);
        QVERIFY(data.samples.min().item<float>() >= -1.0f && data.samples.max().item<float>() <= 1.0f);
        QCOMPARE(data.name, "folder:" + dir);
        // Gray from RGB (200, 100, 20): 0.299 R + 0.587 G + 0.114 B = 120.78 → 121 (OpenCV, fixed point).
        QVERIFY(std::abs(pixelOf(data.samples[2].mean().item<float>()) - 121) <= 1);
        // JPEG is lossy, but a flat 128 image stays within a level or two.
        QVERIFY((data.samples[3] - scaled(128)).abs().max().item<float>() <= 3.0f / 127.5f);

        auto rgb = loadDataset("folder:" + dir, LoadOptions{3, 32});
        QCOMPARE(rgb.samples.sizes().vec(), (std::vector<int64_t>{4, 3, 32, 32}));
        // Odd-sized RGB BMP, enlarged and cropped: channels stay in R, G, B order and exact.
        QVERIFY(torch::equal(rgb.samples[2][0], torch::full({32, 32}, scaled(200))));
        QVERIFY(torch::equal(rgb.samples[2][1], torch::full({32, 32}, scaled(100))));
        QVERIFY(torch::equal(rgb.samples[2][2], torch::full({32, 32}, scaled(20))));
        // Gray images become three equal channels.
        QVERIFY(torch::equal(rgb.samples[0][0], rgb.samples[0][2]));
        QVERIFY(rgb.hash != data.hash);

        // Classes from the spec; a class whose only image is unreadable is named in the error.
        writeFixtureBytes(dir + "/d_bad/only.jpg", {0xff, 0xd8, 0xff, 0x00});
        auto withBad = loadDataset("folder:" + dir);
        QCOMPARE(withBad.skippedFiles, int64_t{2});
        QCOMPARE(loadDataset("folder:" + dir + ":0,2").size(), int64_t{3});
        QVERIFY_ERROR_CONTAINS(loadDataset("folder:" + dir + ":3"), "class 3 ('d_bad') has no images");
        QVERIFY_ERROR_CONTAINS(loadDataset("folder:" + dir + ":7"), "class 7 does not exist", "0..3");
    }

    void folderPadsResizesAndCropsByTheRule() {
        if (!imageIoAvailable()) QSKIP("built without OpenCV");
        const auto dir = test::scratchDir("folder-geometry");
        // 28×28: padded exactly like the IDX path.
        auto pattern = [](int x, int y, int) { return (x * 13 + y * 5) % 256; };
        writeImage(dir + "/a/mnist-like.png", makeImage(28, 28, 1, pattern));
        // 32 wide × 48 tall, row-coded: centre crop keeps rows 8..39.
        writeImage(dir + "/b/tall.png", makeImage(32, 48, 1, [](int, int y, int) { return y * 5; }));
        // 64×64 of 2×2 blocks whose means are whole numbers: INTER_AREA gives them exactly.
        auto blocks = [](int x, int y, int) { return ((x / 2 + y / 2) % 8) * 16 + 8 * (x % 2) + 16 * (y % 2); };
        writeImage(dir + "/c/blocks.bmp", makeImage(64, 64, 1, blocks));
        auto data = loadDataset("folder:" + dir);
        QCOMPARE(data.size(), int64_t{3});
        auto at = [&](int i, int y, int x) { return data.samples[i][0][y][x].item<float>(); };
        for (int y = 0; y < 32; ++y)
            for (int x = 0; x < 32; ++x) {
                const bool border = y < 2 || y >= 30 || x < 2 || x >= 30;
                QCOMPARE(at(0, y, x), border ? -1.0f : scaled(pattern(x - 2, y - 2, 0)));
                QCOMPARE(at(1, y, x), scaled((y + 8) * 5));
                QCOMPARE(at(2, y, x), scaled(((x + y) % 8) * 16 + 12));
            }
    }

    void folderWithImagesDirectlyInsideIsOneClass() {
        if (!imageIoAvailable()) QSKIP("built without OpenCV");
        const auto dir = test::scratchDir("folder-flat");
        for (int i = 0; i < 3; ++i)
            writeImage(dir + "/img" + std::to_string(i) + ".png", makeImage(16, 16, 1, [i](int, int, int) { return 40 * i; }));
        auto data = loadDataset("folder:" + dir);
        QCOMPARE(data.size(), int64_t{3});
        QCOMPARE(data.classNames, (std::vector<std::string>{"0"}));
        QVERIFY((data.labels == 0).all().item<bool>());
        QCOMPARE(data.samples[2].mean().item<float>(), scaled(80));
        QVERIFY(data.warnings.empty());
        // With a class sub-folder present, loose images are ignored with a warning.
        writeImage(dir + "/cls/x.png", makeImage(16, 16, 1, [](int, int, int) { return 1; }));
        auto mixed = loadDataset("folder:" + dir);
        QCOMPARE(mixed.size(), int64_t{1});
        QCOMPARE(mixed.warnings.size(), size_t{1});
        QVERIFY(mixed.warnings[0].find("ignored 3 image(s)") != std::string::npos);
    }

    void folderErrors() {
        if (!imageIoAvailable()) QSKIP("built without OpenCV");
        const auto root = test::scratchDir("folder-errors");
        QVERIFY_ERROR_CONTAINS(loadDataset("folder:" + root + "/missing"), root + "/missing", "no such folder");
        fs::create_directories(root + "/empty");
        QVERIFY_ERROR_CONTAINS(loadDataset("folder:" + root + "/empty"), root + "/empty", "no image files");
        fs::create_directories(root + "/text");
        writeFixtureBytes(root + "/text/readme.txt", {'x'});
        QVERIFY_ERROR_CONTAINS(loadDataset("folder:" + root + "/text"), "no image files", "1 other file");
        fs::create_directories(root + "/corrupt/a");
        writeFixtureBytes(root + "/corrupt/a/x.png", {1, 2, 3});
        writeFixtureBytes(root + "/corrupt/a/y.bmp", {});
        QVERIFY_ERROR_CONTAINS(loadDataset("folder:" + root + "/corrupt"), root + "/corrupt", "none of the 2 image");
        writeFixtureBytes(root + "/file.png", {1});
        QVERIFY_ERROR_CONTAINS(loadDataset("folder:" + root + "/file.png"), "expected a folder");
    }

    // ---- selection ----------------------------------------------------------------------------
    void filterClassesKeepsOrderAndLabels() {
        const auto dir = test::scratchDir("filter");
        const auto pair = writeIdxPair(dir, 20, 5, false);
        auto data = loadDataset("idx:" + pair.images + ":" + pair.labels);
        auto some = filterClasses(data, {3, 1});
        QCOMPARE(some.size(), int64_t{8});
        std::vector<int64_t> expected;
        for (int i = 0; i < 20; ++i)
            if (i % 5 == 1 || i % 5 == 3) expected.push_back(i);
        for (size_t j = 0; j < expected.size(); ++j) {
            QCOMPARE(some.labels[int64_t(j)].item<int64_t>(), expected[j] % 5);  // original label values
            QVERIFY(torch::equal(some.samples[int64_t(j)], data.samples[expected[j]]));
        }
        QCOMPARE(some.classNames, data.classNames);
        QCOMPARE(some.name, data.name + ":1,3");
        QVERIFY_ERROR_CONTAINS(filterClasses(data, {5}), "class 5 does not exist");
        QVERIFY_ERROR_CONTAINS(filterClasses(data, {}), "no classes");
        // A class that exists but has no samples is named.
        auto onlyOne = filterClasses(data, {2});
        QVERIFY_ERROR_CONTAINS(filterClasses(onlyOne, {2, 4}), "class 4 ('4') has no images");
    }

    void kShotIsReproducibleDistinctAndBounded() {
        auto data = indexDataset(50);
        auto a = kShotSubset(data, 20, 42), b = kShotSubset(data, 20, 42), c = kShotSubset(data, 20, 43);
        QVERIFY(torch::equal(a.samples, b.samples));
        QVERIFY(!torch::equal(a.samples, c.samples));
        auto ia = indicesOf(a.samples);
        QCOMPARE(std::set<int64_t>(ia.begin(), ia.end()).size(), size_t{20});  // no duplicates
        QVERIFY(std::is_sorted(ia.begin(), ia.end()));                         // source order kept
        for (size_t j = 0; j < ia.size(); ++j) QCOMPARE(a.labels[int64_t(j)].item<int64_t>(), ia[j] % 3);
        QCOMPARE(a.name, std::string("index (k=20, seed=42)"));
        // Nested: the 8-shot subset of a seed lies inside its 20-shot subset.
        auto small = indicesOf(kShotSubset(data, 8, 42).samples);
        for (auto i : small) QVERIFY(std::find(ia.begin(), ia.end(), i) != ia.end());
        // k = size takes everything.
        QCOMPARE(indicesOf(kShotSubset(data, 50, 1).samples).size(), size_t{50});
        QVERIFY_ERROR_CONTAINS(kShotSubset(data, 51, 1), "k=51", "only 50");
        QVERIFY_ERROR_CONTAINS(kShotSubset(data, 0, 1), "at least 1");
    }

    void splitPartsAreDisjointCoverAndFollowTheWeights() {
        auto data = indexDataset(101);
        const std::vector<int64_t> weights{50, 40, 10};
        std::vector<int64_t> all;
        const std::vector<size_t> expectedSizes{50, 40, 11};  // ⌊101·50/100⌋, ⌊101·90/100⌋ − 50, 101 − 90
        for (int64_t part = 0; part < 3; ++part) {
            auto piece = splitPart(data, weights, part, 5);
            auto idx = indicesOf(piece.samples);
            QCOMPARE(idx.size(), expectedSizes[size_t(part)]);
            QVERIFY(std::is_sorted(idx.begin(), idx.end()));
            for (size_t j = 0; j < idx.size(); ++j) QCOMPARE(piece.labels[int64_t(j)].item<int64_t>(), idx[j] % 3);
            all.insert(all.end(), idx.begin(), idx.end());
            QCOMPARE(piece.name, "index (split 50,40,10 part " + std::to_string(part) + " seed 5)");
        }
        std::sort(all.begin(), all.end());
        std::vector<int64_t> every(101);
        std::iota(every.begin(), every.end(), int64_t{0});
        QCOMPARE(all, every);  // disjoint and covering
        // Reproducible from the seed, different for another seed, distinct hashes per part.
        QVERIFY(torch::equal(splitPart(data, weights, 2, 5).samples, splitPart(data, weights, 2, 5).samples));
        QVERIFY(!torch::equal(splitPart(data, weights, 2, 5).samples, splitPart(data, weights, 2, 6).samples));
        QVERIFY(splitPart(data, weights, 0, 5).hash != splitPart(data, weights, 1, 5).hash);
        QVERIFY(splitPart(data, weights, 0, 5).hash != splitPart(data, weights, 0, 6).hash);
        QVERIFY_ERROR_CONTAINS(splitPart(data, {100}, 0, 1), "at least two weights");
        QVERIFY_ERROR_CONTAINS(splitPart(data, {50, 0}, 0, 1), "positive");
        QVERIFY_ERROR_CONTAINS(splitPart(data, weights, 3, 1), "part 3 does not exist", "0..2");
        QVERIFY_ERROR_CONTAINS(splitPart(indexDataset(5), {1, 1000}, 0, 1), "part 0 is empty");
    }

    void splitSpecLoadsAPartOfAnyInnerSpec() {
        // The inner spec is everything after the seed, so it may hold ':' (here a toy mixture).
        auto whole = loadDataset("toy:gauss:0,0,1:200:3");
        auto part = loadDataset("split:3,1:1:7:toy:gauss:0,0,1:200:3");
        QCOMPARE(part.size(), int64_t{50});
        QVERIFY(torch::equal(part.samples, splitPart(whole, {3, 1}, 1, 7).samples));
        QCOMPARE(part.hash, splitPart(whole, {3, 1}, 1, 7).hash);
        QVERIFY_ERROR_CONTAINS(loadDataset("split:50,50:0:1"), "expected split:<weights>:<part>:<seed>:<spec>");
        QVERIFY_ERROR_CONTAINS(loadDataset("split:50,50:0:1:"), "no dataset spec");
        QVERIFY_ERROR_CONTAINS(loadDataset("split:a,b:0:1:toy:ring8"), "'a,b' is not a list of weights");
        QVERIFY_ERROR_CONTAINS(loadDataset("split:1,1:0,1:1:toy:ring8"), "not a part index");
        QVERIFY_ERROR_CONTAINS(loadDataset("split:1,1:0:x:toy:ring8"), "'x' is not a seed");
        QVERIFY_ERROR_CONTAINS(loadDataset("split:1,1:2:1:toy:ring8"), "part 2 does not exist");
        QCOMPARE(unsplitSpec("split:50,40,10:2:1:fashion-mnist:train:8,9"), std::string("fashion-mnist:train:8,9"));
        QCOMPARE(unsplitSpec("split:1,1:0:3:split:50,50:1:2:folder:/a:b"), std::string("folder:/a:b"));
        QCOMPARE(unsplitSpec("fashion-mnist:test"), std::string("fashion-mnist:test"));
    }

    void kShotIsUniform() {
        // Each of 10 items must be chosen with probability k/n = 0.3 (σ of the frequency ≈ 0.0032).
        auto data = indexDataset(10);
        std::vector<int> hits(10, 0);
        const int trials = 20000;
        for (int seed = 0; seed < trials; ++seed)
            for (auto i : indicesOf(kShotSubset(data, 3, static_cast<uint64_t>(seed)).samples)) ++hits[size_t(i)];
        for (int i = 0; i < 10; ++i) {
            const double freq = hits[size_t(i)] / double(trials);
            QVERIFY2(std::abs(freq - 0.3) < 0.015, qPrintable(QString("item %1 chosen with frequency %2").arg(i).arg(freq)));
        }
    }

    void batchSamplerEpochsWithoutReplacement() {
        auto data = indexDataset(10);
        BatchSampler sampler(data, 4, 9);
        QCOMPARE(sampler.batchSize(), int64_t{4});
        std::vector<std::vector<int64_t>> epochs;
        for (int e = 0; e < 3; ++e) {
            std::vector<int64_t> seen;
            for (int b = 0; b < 2; ++b) {  // 10 / 4 → two full batches, the remainder is dropped
                auto batch = sampler.next();
                QCOMPARE(batch.sizes().vec(), (std::vector<int64_t>{4, 2}));
                auto idx = indicesOf(batch);
                seen.insert(seen.end(), idx.begin(), idx.end());
            }
            QCOMPARE(sampler.epoch(), int64_t{e + 1});
            QCOMPARE(std::set<int64_t>(seen.begin(), seen.end()).size(), size_t{8});  // no repeats in an epoch
            epochs.push_back(seen);
        }
        QVERIFY(epochs[0] != epochs[1] || epochs[1] != epochs[2]);  // reshuffled
        // Same seed, same stream.
        BatchSampler again(data, 4, 9);
        for (int e = 0; e < 3; ++e) {
            auto first = indicesOf(again.next()), second = indicesOf(again.next());
            first.insert(first.end(), second.begin(), second.end());
            QCOMPARE(first, epochs[size_t(e)]);
        }
        // Batch larger than the data: clamped, each batch a permutation of all samples.
        BatchSampler whole(data, 64, 1);
        QCOMPARE(whole.batchSize(), int64_t{10});
        auto p1 = indicesOf(whole.next()), p2 = indicesOf(whole.next());
        QCOMPARE(std::set<int64_t>(p1.begin(), p1.end()).size(), size_t{10});
        QCOMPARE(std::set<int64_t>(p2.begin(), p2.end()).size(), size_t{10});
        QVERIFY(p1 != p2);
        QVERIFY_ERROR_CONTAINS(BatchSampler(data, 0, 1), "batch size");
        QVERIFY_ERROR_CONTAINS(BatchSampler(Dataset{}, 4, 1), "empty");
    }

    // ---- toy mixtures -------------------------------------------------------------------------
    void toyGaussianStatisticsMatchParameters() {
        const int64_t n = 20000;
        auto a = loadDataset("toy:gauss:1,-2,0.5:20000:3");
        QCOMPARE(a.samples.sizes().vec(), (std::vector<int64_t>{n, 2}));
        QCOMPARE(a.samples.scalar_type(), torch::kFloat);
        auto mean = a.samples.to(torch::kDouble).mean(0), stdev = a.samples.to(torch::kDouble).std(0);
        const double meanTol = 5 * 0.5 / std::sqrt(double(n));  // 5 standard errors
        QVERIFY(std::abs(mean[0].item<double>() - 1) < meanTol);
        QVERIFY(std::abs(mean[1].item<double>() + 2) < meanTol);
        const double stdTol = 5 * 0.5 / std::sqrt(2.0 * n);  // standard error of a normal sample std
        QVERIFY(std::abs(stdev[0].item<double>() - 0.5) < stdTol);
        QVERIFY(std::abs(stdev[1].item<double>() - 0.5) < stdTol);
        // Uncorrelated coordinates, normal tails (4th standardized moment 3).
        auto z = (a.samples.to(torch::kDouble) - mean) / stdev;
        QVERIFY(std::abs((z.select(1, 0) * z.select(1, 1)).mean().item<double>()) < 5 / std::sqrt(double(n)));
        QVERIFY(std::abs(z.pow(4).mean().item<double>() - 3) < 0.15);
        // A second, distinct source.
        auto b = loadDataset("toy:gauss:4,2,0.5:20000:5");
        auto shift = b.samples.mean(0) - a.samples.mean(0);
        QVERIFY(std::abs(shift[0].item<float>() - 3) < 2 * meanTol && std::abs(shift[1].item<float>() - 4) < 2 * meanTol);
        // Reproducible; the seed matters.
        QVERIFY(torch::equal(a.samples, loadDataset("toy:gauss:1,-2,0.5:20000:3").samples));
        QVERIFY(!torch::equal(a.samples, loadDataset("toy:gauss:1,-2,0.5:20000:4").samples));
        QCOMPARE(a.name, std::string("toy:gauss:1,-2,0.5:20000:3"));
        QCOMPARE(loadDataset(a.name).hash, a.hash);
        QVERIFY(loadDataset("toy:gauss:1,-2,0.5:20000:4").hash != a.hash);
    }

    void toyRingAndGridComponents() {
        auto ring = loadDataset("toy:ring8:16000");
        QCOMPARE(ring.size(), int64_t{16000});
        QCOMPARE(ring.classNames.size(), size_t{8});
        QCOMPARE(ring.name, std::string("toy:ring8:16000:0"));
        for (int k = 0; k < 8; ++k) {
            auto pts = ring.samples.index({ring.labels == k}).to(torch::kDouble);
            const double count = double(pts.size(0));
            QVERIFY2(std::abs(count - 2000) < 5 * std::sqrt(16000 * (1 / 8.0) * (7 / 8.0)), qPrintable(QString::number(count)));
            const double angle = 2 * M_PI * k / 8;
            auto m = pts.mean(0);
            QVERIFY(std::abs(m[0].item<double>() - 2 * std::cos(angle)) < 5 * 0.02 / std::sqrt(count));
            QVERIFY(std::abs(m[1].item<double>() - 2 * std::sin(angle)) < 5 * 0.02 / std::sqrt(count));
            auto s = pts.std(0);
            QVERIFY(std::abs(s[0].item<double>() - 0.02) < 5 * 0.02 / std::sqrt(2 * count));
        }
        // Radius: E|x| ≈ 2 for std ≪ radius.
        QVERIFY(std::abs(ring.samples.norm(2, 1).mean().item<float>() - 2.0f) < 0.002f);

        auto grid = loadDataset("toy:grid25:25000:1");
        std::set<std::pair<int, int>> centres;
        for (int k = 0; k < 25; ++k) {
            auto m = grid.samples.index({grid.labels == k}).mean(0);
            const double x = m[0].item<double>(), y = m[1].item<double>();
            QVERIFY(std::abs(x - std::round(x / 2) * 2) < 0.01 && std::abs(y - std::round(y / 2) * 2) < 0.01);
            centres.insert({int(std::lround(x)), int(std::lround(y))});
        }
        QCOMPARE(centres.size(), size_t{25});
        QCOMPARE(centres.begin()->first, -4);
        QCOMPARE(centres.rbegin()->first, 4);
        // Parametric forms equal the named ones.
        auto mixture = GaussianMixture::parse("ring:8,2,0.02");
        QVERIFY(torch::allclose(mixture.meansTensor(), GaussianMixture::parse("ring8").meansTensor()));
        QVERIFY(torch::equal(mixture.sample(100, 5), GaussianMixture::parse("ring8").sample(100, 5)));
        // Filtering works on toy labels too.
        QCOMPARE(filterClasses(ring, {0, 4}).size(), (ring.labels == 0).sum().item<int64_t>() + (ring.labels == 4).sum().item<int64_t>());
    }

    void toySpecErrors() {
        QVERIFY_ERROR_CONTAINS(loadDataset("toy:"), "name a mixture");
        QVERIFY_ERROR_CONTAINS(loadDataset("toy:spiral"), "unknown toy mixture 'spiral'", "ring8");
        QVERIFY_ERROR_CONTAINS(loadDataset("toy:gauss:1,2"), "three numbers");
        QVERIFY_ERROR_CONTAINS(loadDataset("toy:gauss:1,2,-1"), "std must be > 0");
        QVERIFY_ERROR_CONTAINS(loadDataset("toy:gauss"), "needs parameters");
        QVERIFY_ERROR_CONTAINS(loadDataset("toy:ring8:0"), "n must be");
        QVERIFY_ERROR_CONTAINS(loadDataset("toy:ring8:10:x"), "seed must be");
        QVERIFY_ERROR_CONTAINS(loadDataset("toy:ring8:10:1:2"), "too many fields");
        QVERIFY_ERROR_CONTAINS(loadDataset("toy:ring:2.5,1,1"), "k must be an integer");
    }

    // ---- the real Fashion-MNIST ---------------------------------------------------------------
    void fashionMnistLoadsAndMatchesAnIndependentReader() {
        if (!test::haveFashionMnist()) QSKIP("Debian's dataset-fashion-mnist is not installed");
        const std::string dir = std::string(COALESCE_DATA_DIR) + "/fashion-mnist/";
        struct Split {
            const char* spec;
            const char* prefix;
            int64_t count;
        };
        for (const auto& split : {Split{"fashion-mnist:train", "train", 60000}, Split{"fashion-mnist:test", "t10k", 10000}}) {
            QElapsedTimer timer;
            timer.start();
            auto data = loadDataset(split.spec);
            qInfo("%s: loaded in %lld ms", split.spec, static_cast<long long>(timer.elapsed()));
            QCOMPARE(data.size(), split.count);
            QCOMPARE(data.samples.sizes().vec(), (std::vector<int64_t>{split.count, 1, 32, 32}));
            QCOMPARE(data.samples.min().item<float>(), -1.0f);
            QCOMPARE(data.samples.max().item<float>(), 1.0f);
            QVERIFY((data.samples.slice(2, 0, 2) == -1).all().item<bool>());
            QVERIFY((data.samples.slice(3, 30, 32) == -1).all().item<bool>());
            QCOMPARE(data.classNames.size(), size_t{10});
            auto counts = torch::bincount(data.labels, {}, 10);
            for (int c = 0; c < 10; ++c) QCOMPARE(counts[c].item<int64_t>(), split.count / 10);

            const std::string images = dir + split.prefix + "-images-idx3-ubyte.gz";
            const std::string labels = dir + split.prefix + "-labels-idx1-ubyte.gz";
            const int64_t last = split.count - 1;
            std::string out;
            QCOMPARE(test::runPython("idx_reference.py", images + " " + labels + " 0 1 " + std::to_string(last), &out), 0);
            auto ref = nlohmann::json::parse(out);
            QCOMPARE(ref["count"].get<int64_t>(), split.count);
            const std::vector<int64_t> at = {0, 1, last};
            for (size_t j = 0; j < at.size(); ++j) {
                QCOMPARE(data.labels[at[j]].item<int64_t>(), ref["labels_at"][j].get<int64_t>());
                auto pixels = (data.samples[at[j]][0].slice(0, 2, 30).slice(1, 2, 30) * 127.5 + 127.5).round().to(torch::kLong);
                QCOMPARE(pixels.sum().item<int64_t>(), ref["pixel_sums"][j].get<int64_t>());
            }
            QCOMPARE(data.hash, sha256Hex("coalesce-dataset/1\nidx\nimages " + ref["images_sha256"].get<std::string>() +
                                          "\nlabels " + ref["labels_sha256"].get<std::string>() + "\nchannels 1\nsize 32\n"));
        }
        auto target = loadDataset("fashion-mnist:train:8,9");
        QCOMPARE(target.size(), int64_t{12000});
        QCOMPARE(target.name, std::string("fashion-mnist:train:8,9"));
        auto local = kShotSubset(target, 20, 1);
        QCOMPARE(local.name, std::string("fashion-mnist:train:8,9 (k=20, seed=1)"));
        QVERIFY(((local.labels == 8) | (local.labels == 9)).all().item<bool>());
    }
};

COALESCE_TEST_APPLESS_MAIN(TestData)
#include "test_data.moc"
