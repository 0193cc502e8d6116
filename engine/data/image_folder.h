// Datasets from a folder of image files (PNG, JPG, BMP, and whatever else OpenCV decodes), read through
// imageio/image_io.h. Rules (see data/README.md):
//   * classes = the non-hidden sub-folders of <dir>, sorted by name (byte order, like torchvision's
//     ImageFolder); images anywhere below a class folder belong to it. When no sub-folder holds an
//     image, the images directly in <dir> form one class "0".
//   * each image is converted to LoadOptions::channels and brought to imageSize by planFit
//     (data/image_geometry.h), then scaled to [−1, 1].
//   * files with an image extension that cannot be decoded are skipped, counted in
//     Dataset::skippedFiles and listed in Dataset::warnings; it is an error if none can be read.
#pragma once
#include <string>

#include "data/dataset.h"

namespace coalesce {

Dataset loadImageFolder(const std::string& dir, const LoadOptions& options);

// True for the file extensions the folder loader considers images (case-insensitive).
bool hasImageExtension(const std::string& path);

}  // namespace coalesce
