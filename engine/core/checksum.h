// CRC-32 (the zlib / PNG / zip polynomial) of a byte range, for every file format Coalesce checks:
// packed .ctern files, the data section of .coalesce / safetensors files, zip entries. One place so the
// formats cannot drift apart. Torch-free.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace coalesce {

std::uint32_t crc32Of(const void* data, std::size_t size);
// As 8 lower-case hex digits (how .coalesce headers store it).
std::string crc32Hex(const void* data, std::size_t size);

}  // namespace coalesce
