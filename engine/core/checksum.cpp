#include "core/checksum.h"

#include <cstdio>

#include <zlib.h>

namespace coalesce {

std::uint32_t crc32Of(const void* data, std::size_t size) {
    // crc32_z takes a z_size_t length, so files over 4 GB need no chunking.
    const uLong crc = ::crc32_z(::crc32_z(0L, Z_NULL, 0), static_cast<const Bytef*>(data), size);
    return static_cast<std::uint32_t>(crc & 0xffffffffUL);
}

std::string crc32Hex(const void* data, std::size_t size) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%08lx", static_cast<unsigned long>(crc32Of(data, size)));
    return hex;
}

}  // namespace coalesce
