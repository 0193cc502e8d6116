// PNG decoding through libpng with its warnings collected instead of printed. OpenCV's PNG reader lets
// libpng print every warning to stderr ("libpng warning: iCCP: known incorrect sRGB profile", common in
// images from the web), one line per file: a folder of 10 000 such images flooded the terminal and the
// progress bar. Here they come back to the caller, which reports them once per dataset.
#pragma once
#include <string>

#include "core/job.h"  // ImageU8

namespace coalesce {

// True if the file starts with the PNG signature.
bool isPngFile(const std::string& path);

// The image as stored, 8 bits per channel: gray stays 1 channel, colour and palette images become RGB,
// alpha (and a tRNS transparency) is dropped, 16-bit samples are scaled to 8 bits, interlacing is undone.
// More than 16384 pixels a side or 64 million pixels is refused before the pixels are allocated. `warnings` (may be null) receives libpng's warnings,
// "; "-separated. Throws Error naming the file when it cannot be decoded.
ImageU8 decodePngFile(const std::string& path, std::string* warnings);

}  // namespace coalesce
