#include "imageio/png_encoder.h"

#include <zlib.h>

#include "core/checksum.h"
#include "core/error.h"

namespace coalesce {

namespace {
void putU32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// length, type, data, CRC-32 of type + data (PNG spec 5.3)
void putChunk(std::vector<std::uint8_t>& out, const char type[4], const std::vector<std::uint8_t>& data) {
    putU32(out, static_cast<std::uint32_t>(data.size()));
    std::vector<std::uint8_t> typed(type, type + 4);
    typed.insert(typed.end(), data.begin(), data.end());
    out.insert(out.end(), typed.begin(), typed.end());
    putU32(out, crc32Of(typed.data(), typed.size()));
}
}  // namespace

std::vector<std::uint8_t> encodePng(const ImageU8& image) {
    if (image.width <= 0 || image.height <= 0 || (image.channels != 1 && image.channels != 3) ||
        image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels)
        throw Error("PNG: inconsistent image buffer");
    const size_t rowBytes = static_cast<size_t>(image.width) * image.channels;
    std::vector<std::uint8_t> raw;  // each row: filter type 0, then the row's bytes
    raw.reserve((rowBytes + 1) * image.height);
    for (int y = 0; y < image.height; ++y) {
        raw.push_back(0);
        raw.insert(raw.end(), image.pixels.begin() + static_cast<long>(y * rowBytes),
                   image.pixels.begin() + static_cast<long>((y + 1) * rowBytes));
    }
    uLongf compressedSize = compressBound(static_cast<uLong>(raw.size()));
    std::vector<std::uint8_t> compressed(compressedSize);
    if (compress2(compressed.data(), &compressedSize, raw.data(), static_cast<uLong>(raw.size()), 6) != Z_OK)
        throw Error("PNG: zlib compression failed");
    compressed.resize(compressedSize);

    std::vector<std::uint8_t> header;
    putU32(header, static_cast<std::uint32_t>(image.width));
    putU32(header, static_cast<std::uint32_t>(image.height));
    header.push_back(8);                               // bit depth
    header.push_back(image.channels == 1 ? 0 : 2);     // colour type: gray or RGB
    header.push_back(0);                               // deflate
    header.push_back(0);                               // filter method 0
    header.push_back(0);                               // no interlace
    std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    putChunk(png, "IHDR", header);
    putChunk(png, "IDAT", compressed);
    putChunk(png, "IEND", {});
    return png;
}

}  // namespace coalesce
