#include "imageio/image_io.h"

#include <cstdio>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "imageio/png_encoder.h"
#ifdef COALESCE_HAVE_LIBPNG
#include "imageio/png_decoder.h"
#endif

#ifdef COALESCE_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace coalesce {

#ifdef COALESCE_HAVE_OPENCV
namespace {
cv::Mat toMat(const ImageU8& image) {
    cv::Mat m(image.height, image.width, image.channels == 1 ? CV_8UC1 : CV_8UC3,
              const_cast<std::uint8_t*>(image.pixels.data()));
    return m.clone();
}
ImageU8 fromMat(const cv::Mat& m) {
    ImageU8 out;
    out.width = m.cols;
    out.height = m.rows;
    out.channels = m.channels();
    cv::Mat c = m.isContinuous() ? m : m.clone();
    out.pixels.assign(c.data, c.data + static_cast<size_t>(c.total()) * c.channels());
    return out;
}
}  // namespace

bool imageIoAvailable() { return true; }

ImageU8 readImage(const std::string& path, int channels, std::string* warnings) {
    if (!std::filesystem::exists(path)) throw Error(path + ": no such file");
    if (warnings) warnings->clear();
    cv::Mat m;
    bool bgr = true;  // imread's channel order
#ifdef COALESCE_HAVE_LIBPNG
    if (isPngFile(path)) {
        m = toMat(decodePngFile(path, warnings));  // 8-bit gray or RGB
        bgr = false;
    }
#endif
    try {
        if (m.empty()) m = cv::imread(path, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception& e) {
        throw Error(path + ": cannot decode image (" + std::string(e.what()) + ")");
    }
    if (m.empty()) throw Error(path + ": cannot decode image (unsupported or corrupt file)");
    if (m.depth() != CV_8U) {  // 16-bit PNGs etc.: scale to 8 bits
        double scale = m.depth() == CV_16U ? 1.0 / 257.0 : 255.0;
        m.convertTo(m, CV_8U, scale);
    }
    if (m.channels() == 4) cv::cvtColor(m, m, cv::COLOR_BGRA2BGR);
    if (m.channels() == 3 && bgr) cv::cvtColor(m, m, cv::COLOR_BGR2RGB);
    if (channels == 1 && m.channels() == 3) cv::cvtColor(m, m, cv::COLOR_RGB2GRAY);
    if (channels == 3 && m.channels() == 1) cv::cvtColor(m, m, cv::COLOR_GRAY2RGB);
    if (channels != 0 && channels != 1 && channels != 3)
        throw Error("readImage: channels must be 0, 1 or 3, got " + std::to_string(channels));
    return fromMat(m);
}

void writeImage(const std::string& path, const ImageU8& image) {
    if (image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels ||
        (image.channels != 1 && image.channels != 3))
        throw Error(path + ": refusing to write an inconsistent image buffer");
    cv::Mat m = toMat(image);
    if (m.channels() == 3) cv::cvtColor(m, m, cv::COLOR_RGB2BGR);
    std::vector<uchar> bytes;
    if (!cv::imencode(std::filesystem::path(path).extension().string(), m, bytes)) throw Error(path + ": cannot encode image");
    const std::filesystem::path target(path);
    if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path());
    replaceFileAtomically(path, bytes.data(), bytes.size());
}

ImageU8 resizeImage(const ImageU8& image, int width, int height) {
    cv::Mat m = toMat(image), out;
    bool shrink = width < image.width || height < image.height;
    cv::resize(m, out, cv::Size(width, height), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
    return fromMat(out);
}

#else

bool imageIoAvailable() { return false; }
static Error noOpenCv(const std::string& what) {
    return Error(what + ": this build of Coalesce has no image file support (built without OpenCV)");
}
ImageU8 readImage(const std::string& path, int, std::string*) { throw noOpenCv(path); }
// PNG still works (sample grids, charts): zlib alone, png_encoder.h.
void writeImage(const std::string& path, const ImageU8& image) {
    const std::filesystem::path target(path);
    if (target.extension() != ".png") throw noOpenCv(path);
    const std::vector<std::uint8_t> bytes = encodePng(image);
    if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path());
    replaceFileAtomically(path, bytes.data(), bytes.size());
}
ImageU8 resizeImage(const ImageU8&, int, int) { throw noOpenCv("resize"); }

#endif

}  // namespace coalesce
