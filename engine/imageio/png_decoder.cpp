#include "imageio/png_decoder.h"

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include <png.h>

#include "core/error.h"

namespace coalesce {

namespace {

constexpr png_uint_32 kMaxSide = 16384;

struct Messages {
    std::jmp_buf jump;
    std::string error;
    std::string warnings;
};

void onError(png_structp png, png_const_charp message) {
    auto* m = static_cast<Messages*>(png_get_error_ptr(png));
    m->error = message ? message : "unknown error";
    std::longjmp(m->jump, 1);
}

void onWarning(png_structp png, png_const_charp message) {
    auto* m = static_cast<Messages*>(png_get_error_ptr(png));
    if (m->warnings.size() < 1000) m->warnings += (m->warnings.empty() ? "" : "; ") + std::string(message ? message : "");
}

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

bool isPngFile(const std::string& path) {
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
    unsigned char signature[8];
    return f && std::fread(signature, 1, 8, f.get()) == 8 && png_sig_cmp(signature, 0, 8) == 0;
}

namespace {

constexpr png_uint_32 kMaxPixels = png_uint_32{1} << 26;  // 64 M pixels: images are decoded in parallel

// Every libpng call, in a frame of its own: a libpng error longjmps out of it to decodePngFile's setjmp,
// whose frame holds nothing modified after that setjmp.
void decode(png_structp png, png_infop info, ImageU8* image, std::vector<png_bytep>* rows) {
    png_read_info(png, info);
    if (static_cast<std::uint64_t>(png_get_image_width(png, info)) * png_get_image_height(png, info) > kMaxPixels)
        png_error(png, "image too large (over 64 million pixels)");
    const int colorType = png_get_color_type(png, info);
    if (colorType == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (colorType == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_bit_depth(png, info) == 16) png_set_scale_16(png);
    // Alpha is dropped, as for every format: also the alpha that palette_to_rgb makes of a tRNS chunk.
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    image->width = static_cast<int>(png_get_image_width(png, info));
    image->height = static_cast<int>(png_get_image_height(png, info));
    image->channels = static_cast<int>(png_get_channels(png, info));
    if ((image->channels != 1 && image->channels != 3) || png_get_bit_depth(png, info) != 8)
        png_error(png, "unexpected pixel layout after conversion");
    const size_t stride = static_cast<size_t>(image->width) * image->channels;
    if (png_get_rowbytes(png, info) != stride) png_error(png, "unexpected row size");
    image->pixels.resize(stride * image->height);
    rows->resize(image->height);
    for (int y = 0; y < image->height; ++y) (*rows)[y] = image->pixels.data() + stride * y;
    png_read_image(png, rows->data());
    png_read_end(png, nullptr);
}

}  // namespace

ImageU8 decodePngFile(const std::string& path, std::string* warnings) {
    std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) throw Error(path + ": cannot open");
    Messages messages;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &messages, onError, onWarning);
    if (!png) throw Error(path + ": cannot decode image (libpng could not start)");
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, nullptr, nullptr);
        throw Error(path + ": cannot decode image (out of memory)");
    }
    ImageU8 image;
    std::vector<png_bytep> rows;
    if (setjmp(messages.jump)) {
        png_destroy_read_struct(&png, &info, nullptr);
        throw Error(path + ": cannot decode image (libpng: " + messages.error + ")");
    }
    png_set_user_limits(png, kMaxSide, kMaxSide);
    png_init_io(png, file.get());
    decode(png, info, &image, &rows);
    png_destroy_read_struct(&png, &info, nullptr);
    if (warnings) *warnings = messages.warnings;
    return image;
}

}  // namespace coalesce
