// Image file I/O behind a small interface so the engine core builds without OpenCV (e.g. on a GPU
// server). With OpenCV absent every function throws coalesce::Error saying so.
#pragma once
#include <string>

#include "core/job.h"

namespace coalesce {

bool imageIoAvailable();
// Reads PNG/JPG/BMP (whatever OpenCV decodes; PNG through libpng, imageio/png_decoder.h). channels: 1 (to
// gray), 3 (to RGB) or 0 (as stored, gray stays 1, colour becomes RGB). Throws Error naming the file if it
// is missing or undecodable. `warnings` (may be null) receives the decoder's warnings about a file it
// could still read ("" if none), for the caller to report instead of the library printing them.
ImageU8 readImage(const std::string& path, int channels = 0, std::string* warnings = nullptr);
// Writes atomically (temp file + rename). Format from the extension (.png recommended).
void writeImage(const std::string& path, const ImageU8& image);
// Area-averaging when shrinking, bilinear when enlarging (OpenCV INTER_AREA / INTER_LINEAR).
ImageU8 resizeImage(const ImageU8& image, int width, int height);

}  // namespace coalesce
