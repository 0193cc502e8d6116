// CIFAR-10 and CIFAR-100 in their binary versions (https://www.cs.toronto.edu/~kriz/cifar.html, the
// "binary version suitable for C programs"): files of fixed-size records, each a label (CIFAR-10: 1 byte)
// or a coarse and a fine label (CIFAR-100: 2 bytes), then 3072 pixel bytes: the 32×32 red plane, then
// green, then blue, each row-major.
//   CIFAR-10:  <dir>/data_batch_1.bin … data_batch_5.bin (train), <dir>/test_batch.bin (test);
//              class names from <dir>/batches.meta.txt when present.
//   CIFAR-100: <dir>/train.bin, <dir>/test.bin; the fine labels (100 classes) are the classes; names
//              from <dir>/fine_label_names.txt when present.
// Files may be gzipped (detected by their magic bytes). Rules and errors: data/README.md.
#pragma once
#include <string>

#include "data/dataset.h"

namespace coalesce {

enum class CifarKind { Cifar10, Cifar100 };

// Loads one split ("train" or "test") of the CIFAR folder `dir`. Validates every file: missing files,
// sizes that are not a whole number of records (truncated, or the other CIFAR's files — the error says
// so), empty files and labels out of range (record index named). Images become N×C×S×S in [−1, 1] by the
// loaders' rules (LoadOptions: gray by OpenCV's integer 0.299 R + 0.587 G + 0.114 B; sizes other than 32
// by data/image_geometry.h).
Dataset loadCifar(CifarKind kind, const std::string& dir, const std::string& split, const LoadOptions& options);

// The folder `cifar10:train` means without a directory: $COALESCE_DATA_DIR/cifar-10-batches-bin
// (CIFAR-10) or $COALESCE_DATA_DIR/cifar-100-binary (CIFAR-100), the names the archives unpack to.
std::string defaultCifarDirectory(CifarKind kind, const std::string& dataDirectory);

}  // namespace coalesce
