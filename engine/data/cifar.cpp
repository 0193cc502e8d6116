// CIFAR binary files → Dataset. Format and rules in cifar.h and data/README.md.
#include "data/cifar.h"

#include <filesystem>
#include <fstream>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "core/error.h"
#include "data/digest.h"
#include "data/idx.h"
#include "data/image_geometry.h"

namespace coalesce {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kSide = 32, kPlane = kSide * kSide, kPixels = 3 * kPlane;

struct Layout {
    const char* name;          // "CIFAR-10"
    const char* spec;          // "cifar10"
    int64_t labelBytes;        // bytes before the pixels
    int64_t labelIndex;        // which of them is the class (CIFAR-100: the fine label)
    int64_t classes;
    const char* namesFile;     // class names, one per line
    int64_t recordBytes() const { return labelBytes + kPixels; }
};

const Layout& layoutOf(CifarKind kind) {
    static const Layout cifar10{"CIFAR-10", "cifar10", 1, 0, 10, "batches.meta.txt"};
    static const Layout cifar100{"CIFAR-100", "cifar100", 2, 1, 100, "fine_label_names.txt"};
    return kind == CifarKind::Cifar10 ? cifar10 : cifar100;
}
const Layout& otherLayout(CifarKind kind) { return layoutOf(kind == CifarKind::Cifar10 ? CifarKind::Cifar100 : CifarKind::Cifar10); }

std::vector<std::string> filesOf(CifarKind kind, const std::string& split) {
    if (kind == CifarKind::Cifar100) return {split + ".bin"};
    if (split == "test") return {"test_batch.bin"};
    std::vector<std::string> files;
    for (int i = 1; i <= 5; ++i) files.push_back("data_batch_" + std::to_string(i) + ".bin");
    return files;
}

// Class names from the archive's text file when it has one name per class, else "0".."K−1".
std::vector<std::string> classNamesOf(const Layout& layout, const std::string& dir, std::vector<std::string>* warnings) {
    std::vector<std::string> names;
    const auto path = (fs::path(dir) / layout.namesFile).string();
    std::ifstream in(path);
    if (in) {
        std::string line;
        while (std::getline(in, line)) {
            while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
            if (!line.empty()) names.push_back(line);
        }
        if (static_cast<int64_t>(names.size()) == layout.classes) return names;
        warnings->push_back(path + ": " + std::to_string(names.size()) + " names for " + std::to_string(layout.classes) +
                            " classes; classes are named by their numbers");
    }
    names.clear();
    for (int64_t c = 0; c < layout.classes; ++c) names.push_back(std::to_string(c));
    return names;
}

// Checks one file's bytes; returns its record count. Errors name the file and say what is wrong.
int64_t recordCount(const Layout& layout, CifarKind kind, const std::string& path, const std::vector<std::uint8_t>& bytes) {
    const auto size = static_cast<int64_t>(bytes.size());
    const int64_t record = layout.recordBytes();
    if (size == 0) throw Error(path + ": empty file, not " + layout.name + " data");
    if (size % record != 0) {
        const Layout& other = otherLayout(kind);
        std::string hint = size % other.recordBytes() == 0
                               ? std::string(" — it is a whole number of ") + std::to_string(other.recordBytes()) +
                                     "-byte " + other.name + " records: use " + other.spec + ":"
                               : std::string(" — truncated? the last record has only ") + std::to_string(size % record) +
                                     " bytes";
        throw Error(path + ": " + std::to_string(size) + " bytes is not a whole number of " + std::to_string(record) +
                    "-byte " + layout.name + " records (" + std::to_string(layout.labelBytes) + " label byte" +
                    (layout.labelBytes > 1 ? "s" : "") + " + 3072 pixel bytes)" + hint);
    }
    const int64_t n = size / record;
    for (int64_t i = 0; i < n; ++i) {
        const std::uint8_t* r = bytes.data() + i * record;
        if (kind == CifarKind::Cifar100 && r[0] >= 20)
            throw Error(path + ": record " + std::to_string(i) + " has coarse label " + std::to_string(r[0]) +
                        ", but CIFAR-100 coarse labels are 0..19 (not a CIFAR-100 file?)");
        const auto label = r[layout.labelIndex];
        if (label >= layout.classes)
            throw Error(path + ": record " + std::to_string(i) + " has label " + std::to_string(label) + ", but " +
                        layout.name + " labels are 0.." + std::to_string(layout.classes - 1) + " (not a " + layout.name +
                        " file?)");
    }
    return n;
}

}  // namespace

std::string defaultCifarDirectory(CifarKind kind, const std::string& dataDirectory) {
    return (fs::path(dataDirectory) / (kind == CifarKind::Cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary")).string();
}

Dataset loadCifar(CifarKind kind, const std::string& dir, const std::string& split, const LoadOptions& options) {
    const Layout& layout = layoutOf(kind);
    const std::string what = std::string(layout.spec) + ":" + split;
    if (split != "train" && split != "test")
        throw Error("dataset spec '" + what + "': unknown split '" + split + "' (use train or test)");
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw Error(what + ": " + dir + " is not a folder (expected the unpacked " + layout.name +
                    " binary version, e.g. " + (kind == CifarKind::Cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary") + ")");

    Dataset data;
    std::vector<std::vector<std::uint8_t>> contents;
    std::vector<int64_t> counts;
    int64_t n = 0;
    std::string digests;
    for (const auto& name : filesOf(kind, split)) {
        const auto path = (fs::path(dir) / name).string();
        if (!fs::is_regular_file(path, ec))
            throw Error(what + ": " + path + " not found (the " + layout.name + " binary version has " + name + ")");
        std::string sha;
        contents.push_back(readFileMaybeGzipped(path, &sha));
        counts.push_back(recordCount(layout, kind, path, contents.back()));
        n += counts.back();
        digests += name + " " + sha + "\n";
    }

    // One pass per record: labels out, pixels to [−1, 1] (or to gray first, as OpenCV's 8-bit
    // RGB2GRAY: (4899 R + 9617 G + 1868 B + 8192) >> 14, so a CIFAR file and PNGs of it load the same).
    const int64_t c = options.channels;
    auto samples = torch::empty({n, c, kSide, kSide}, torch::kFloat);
    auto labels = torch::empty({n}, torch::kLong);
    float toUnit[256];
    for (int p = 0; p < 256; ++p) toUnit[p] = static_cast<float>((p - 127.5) / 127.5);
    float* dst = samples.data_ptr<float>();
    int64_t* lab = labels.data_ptr<int64_t>();
    int64_t first = 0;
    for (size_t f = 0; f < contents.size(); ++f) {
        const std::uint8_t* src = contents[f].data();
        const int64_t record = layout.recordBytes(), offset = first;
        at::parallel_for(0, counts[f], 256, [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i) {
                const std::uint8_t* r = src + i * record;
                const std::uint8_t* px = r + layout.labelBytes;
                lab[offset + i] = r[layout.labelIndex];
                float* o = dst + (offset + i) * c * kPlane;
                if (c == 3) {
                    for (int64_t k = 0; k < kPixels; ++k) o[k] = toUnit[px[k]];
                } else {
                    for (int64_t k = 0; k < kPlane; ++k)
                        o[k] = toUnit[(4899 * px[k] + 9617 * px[kPlane + k] + 1868 * px[2 * kPlane + k] + 8192) >> 14];
                }
            }
        });
        first += counts[f];
    }
    data.samples = options.imageSize == kSide ? samples : fitBatch(samples, options.imageSize);
    data.labels = labels;
    data.classNames = classNamesOf(layout, dir, &data.warnings);
    data.name = what;
    data.hash = sha256Hex(std::string("coalesce-dataset/1\n") + layout.spec + "\n" + digests + "channels " +
                          std::to_string(options.channels) + "\nsize " + std::to_string(options.imageSize) + "\n");
    return data;
}

}  // namespace coalesce
