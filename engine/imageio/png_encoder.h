// A PNG encoder on zlib alone, so that a build without OpenCV (a headless GPU server) still writes its
// sample grids and charts. Why not a library: OpenCV is the project's image library; this fallback only
// has to write 8-bit gray/RGB PNGs, which is zlib (already a dependency) plus ~40 lines of chunk framing,
// and it must not add a dependency to the minimal build. Tested against OpenCV's decoder.
#pragma once
#include <cstdint>
#include <vector>

#include "core/job.h"

namespace coalesce {

// 8-bit gray (1 channel) or RGB (3 channels), no interlace, filter 0 on every row. Throws Error for an
// inconsistent buffer.
std::vector<std::uint8_t> encodePng(const ImageU8& image);

}  // namespace coalesce
