// The packed ternary generator file (".ctern"): what a ternarised generator needs at inference, with
// each ternary weight stored as a 2-bit code.
//
// Layout (all integers little-endian):
//   offset 0   8 bytes   magic "COALTERN"
//   offset 8   u32       format version (1)
//   offset 12  u32       CRC-32 (zlib) of every byte from offset 16 to the end of the file
//   offset 16  u64       header length H
//   offset 24  H bytes   header, UTF-8 JSON
//   offset 24+H          data section (byte ranges referenced by the header)
// Header: {"format": "coalesce-ternary", "version": 1, "arch": <ArchSpec JSON>, "method": "learned",
//   "data_bytes": N, "meta": {...},
//   "ternary": [{"name": "net.0", "kind": "conv_transpose2d", "shape": [...], "offset": o, "bytes": b,
//                "scale_pos": s+, "scale_neg": s−, "threshold": Δc, "center": μ}, ...],
//   "tensors": {"net.0.bias": {"dtype": "float32", "shape": [...], "offset": o, "bytes": b}, ...}}
// Codes: weight i (row-major order of the weight tensor) sits in byte i/4, bits 2·(i%4)..2·(i%4)+1;
// 0 = zero, 1 = +1, 2 = −1 (3 is invalid). Dequantised weight = scale_pos·[+1] − scale_neg·[−1].
// Scales are float32 values (stored in the JSON as exact decimal doubles); "tensors" holds every other
// parameter and buffer of the generator in float (biases, BatchNorm affine and running statistics, and
// any layer kept in float). Loading checks the magic, version, CRC, every offset/length against the
// data section, every code, and every name/shape against the architecture: any problem is a
// coalesce::Error naming the file and the problem.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "models/arch_spec.h"
#include "models/networks.h"

namespace coalesce {

struct PackedTernaryLayer {
    std::string name;             // module name in the generator, e.g. "net.0" (weight is "net.0.weight")
    std::string kind;             // "conv2d" | "conv_transpose2d" | "linear"
    torch::Tensor codes;          // int8 in {−1, 0, +1}, the weight's shape, CPU
    float scalePos = 0.0f;
    float scaleNeg = 0.0f;
    float threshold = 0.0f;       // informative only (inference needs codes and scales)
    float center = 0.0f;
};

struct PackedGenerator {
    ArchSpec arch;
    std::string method;                              // "learned" | "twn" | "ttq"
    std::vector<PackedTernaryLayer> layers;
    std::map<std::string, torch::Tensor> tensors;    // every other parameter/buffer, CPU, contiguous
    nlohmann::json meta = nlohmann::json::object();
};

// Snapshot of a ternarised generator (quant/ternary_layers.h) for export.
PackedGenerator packGenerator(const Generator& ternarized, nlohmann::json meta = nlohmann::json::object());
// A float generator (CPU, eval mode) whose ternary weights are the dequantised codes: it computes what
// the ternarised generator computes in eval mode.
Generator unpackGenerator(const PackedGenerator& packed);

// Atomic write (temp file, fsync, rename). Returns the file size in bytes.
std::int64_t savePackedGenerator(const std::string& path, const PackedGenerator& packed);
PackedGenerator loadPackedGenerator(const std::string& path);

// Makes every generator-file loader (io/model_files.h: loadGeneratorFile, describeModelFile, and with them
// evaluate, sample, info, stage inputs, the workbench) accept .ctern files as the unpacked generator.
// Idempotent; done at program start by this file's static initialiser (whenever the program links it) and
// again by registerBuiltinJobs (jobs/job_factory.h), so job runners never depend on link order.
void registerPackedTernaryReader();

// 2-bit packing of codes in {−1, 0, +1} (any integer/float dtype) into ceil(n/4) bytes (uint8 tensor).
torch::Tensor packTernaryCodes(const torch::Tensor& codes);
// Inverse of packTernaryCodes for `count` codes (int8). Throws coalesce::Error on the invalid code 3.
torch::Tensor unpackTernaryCodes(const torch::Tensor& packed, std::int64_t count);

}  // namespace coalesce
