#include "data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/tensor_image.h"
#include "data/digest.h"
#include "data/image_geometry.h"
#include "imageio/image_io.h"

namespace coalesce {

namespace fs = std::filesystem;

namespace {

struct ImageFile {
    fs::path path;
    std::string relative;  // generic form, for hashing and messages
    int64_t label;
};

bool isHidden(const fs::path& p) {
    const auto name = p.filename().string();
    return !name.empty() && name[0] == '.';
}

// Image files below `root` (recursively, hidden entries skipped), sorted by relative path.
std::vector<fs::path> imagesBelow(const fs::path& root, int64_t* otherFiles) {
    std::vector<fs::path> found;
    std::error_code ec;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
    if (ec) throw Error(root.string() + ": cannot list folder (" + ec.message() + ")");
    for (; it != end; it.increment(ec)) {
        if (ec) throw Error(root.string() + ": cannot list folder (" + ec.message() + ")");
        if (isHidden(it->path())) {
            if (it->is_directory()) it.disable_recursion_pending();
            continue;
        }
        if (!it->is_regular_file()) continue;
        if (hasImageExtension(it->path().string()))
            found.push_back(it->path());
        else
            ++*otherFiles;
    }
    std::sort(found.begin(), found.end());
    return found;
}

std::vector<fs::path> imagesDirectlyIn(const fs::path& dir, int64_t* otherFiles) {
    std::vector<fs::path> found;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (isHidden(entry.path()) || !entry.is_regular_file()) continue;
        if (hasImageExtension(entry.path().string()))
            found.push_back(entry.path());
        else
            ++*otherFiles;
    }
    std::sort(found.begin(), found.end());
    return found;
}

void hashFile(Sha256& digest, const fs::path& path) {
    std::FILE* f = std::fopen(path.string().c_str(), "rb");
    if (!f) return;  // unreadable files are reported by the decoder; their name is hashed anyway
    std::vector<char> buf(1 << 16);
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) digest.update(buf.data(), n);
    std::fclose(f);
}

// Decodes one file and brings it to size×size with `channels` channels, as float C×S×S in [−1, 1].
torch::Tensor decodeAndFit(const fs::path& path, int channels, int size, std::string* warnings) {
    ImageU8 image = readImage(path.string(), channels, warnings);
    const FitPlan plan = planFit(image.width, image.height, size);
    if (plan.resamples(image.width, image.height)) image = resizeImage(image, plan.scaledWidth, plan.scaledHeight);
    auto tensor = imageToTensor(image);  // C×H×W in [−1, 1]
    if (plan.padding > 0) {
        const int64_t p = plan.padding;
        return torch::constant_pad_nd(tensor, {p, p, p, p}, -1.0);
    }
    return tensor.narrow(1, plan.cropY, size).narrow(2, plan.cropX, size).contiguous();
}

}  // namespace

bool hasImageExtension(const std::string& path) {
    std::string ext = fs::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    static const char* known[] = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp",
                                  ".pgm", ".ppm", ".pbm", ".pnm"};
    return std::find(std::begin(known), std::end(known), ext) != std::end(known);
}

Dataset loadImageFolder(const std::string& dir, const LoadOptions& options) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) throw Error(dir + ": no such folder");
    if (!fs::is_directory(dir, ec)) throw Error(dir + ": is a file, expected a folder of images");
    if (!imageIoAvailable())
        throw Error(dir + ": this build of Coalesce has no image file support (built without OpenCV)");

    // Classes: sorted non-hidden sub-folders, if any of them holds an image.
    std::vector<fs::path> subfolders;
    for (const auto& entry : fs::directory_iterator(dir, ec))
        if (entry.is_directory() && !isHidden(entry.path())) subfolders.push_back(entry.path());
    if (ec) throw Error(dir + ": cannot list folder (" + ec.message() + ")");
    std::sort(subfolders.begin(), subfolders.end());

    Dataset data;
    std::vector<ImageFile> files;
    int64_t otherFiles = 0;
    for (std::size_t c = 0; c < subfolders.size(); ++c)
        for (const auto& p : imagesBelow(subfolders[c], &otherFiles))
            files.push_back({p, fs::relative(p, dir).generic_string(), static_cast<int64_t>(c)});
    int64_t rootOther = 0;
    const auto rootImages = imagesDirectlyIn(dir, &rootOther);
    otherFiles += rootOther;
    if (!files.empty()) {
        for (const auto& sub : subfolders) data.classNames.push_back(sub.filename().string());
        if (!rootImages.empty())
            data.warnings.push_back(dir + ": ignored " + std::to_string(rootImages.size()) +
                                    " image(s) directly in the folder: with class sub-folders, every image "
                                    "must be inside one");
    } else {
        for (const auto& p : rootImages) files.push_back({p, p.filename().generic_string(), 0});
        data.classNames.push_back("0");
    }
    if (files.empty())
        throw Error(dir + ": no image files found (looked for .png, .jpg, .jpeg, .bmp, .tif, .webp, .pgm/.ppm" +
                    (otherFiles ? "; " + std::to_string(otherFiles) + " other file(s) ignored" : std::string()) + ")");

    // Decode in parallel: each file writes only its own slot.
    const int64_t n = static_cast<int64_t>(files.size());
    std::vector<torch::Tensor> decoded(files.size());
    std::vector<std::string> failures(files.size()), decoderWarnings(files.size());
    at::parallel_for(0, n, 8, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            try {
                decoded[i] = decodeAndFit(files[i].path, options.channels, options.imageSize, &decoderWarnings[i]);
            } catch (const std::exception& e) {
                failures[i] = e.what();
            }
        }
    });

    Sha256 digest;
    digest.update("coalesce-dataset/1\nfolder\nchannels " + std::to_string(options.channels) + "\nsize " +
                  std::to_string(options.imageSize) + "\n");
    for (const auto& name : data.classNames) digest.update("class " + name + "\n");  // empty ones shift labels too
    std::vector<torch::Tensor> kept;
    std::vector<int64_t> labels;
    std::vector<int64_t> perClass(data.classNames.size(), 0);
    std::string firstFailures, firstWarning;
    int64_t filesWithWarnings = 0;
    for (int64_t i = 0; i < n; ++i) {
        if (decoded[i].defined() && !decoderWarnings[i].empty() && filesWithWarnings++ == 0)
            firstWarning = files[i].relative + ": " + decoderWarnings[i];
        // The relative path carries the class; the bytes identify the content, readable or not.
        digest.update(files[i].relative);
        digest.update("\n", 1);
        hashFile(digest, files[i].path);
        if (!decoded[i].defined()) {
            if (data.skippedFiles < 3) firstFailures += (firstFailures.empty() ? "" : "; ") + failures[i];
            ++data.skippedFiles;
            continue;
        }
        kept.push_back(decoded[i]);
        labels.push_back(files[i].label);
        ++perClass[static_cast<std::size_t>(files[i].label)];
    }
    if (kept.empty())
        throw Error(dir + ": none of the " + std::to_string(n) + " image file(s) could be read (" + firstFailures + ")");
    if (data.skippedFiles > 0)
        data.warnings.push_back(dir + ": skipped " + std::to_string(data.skippedFiles) + " of " + std::to_string(n) +
                                " image file(s) that could not be read: " + firstFailures +
                                (data.skippedFiles > 3 ? "; …" : ""));
    // Files the decoder read with complaints (a damaged ancillary chunk, an odd colour profile): once per
    // dataset, not once per file on stderr.
    if (filesWithWarnings > 0)
        data.warnings.push_back(dir + ": " + std::to_string(filesWithWarnings) + " of " + std::to_string(n) +
                                " image file(s) were read with decoder warnings, e.g. " + firstWarning);
    for (std::size_t c = 0; c < perClass.size(); ++c)
        if (perClass[c] == 0) data.warnings.push_back(dir + ": class " + std::to_string(c) + " ('" + data.classNames[c] + "') has no readable images");

    data.samples = torch::stack(kept);
    data.labels = torch::tensor(labels, torch::kLong);
    data.name = "folder:" + dir;
    data.hash = digest.hexDigest();
    return data;
}

}  // namespace coalesce
