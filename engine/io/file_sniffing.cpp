#include "io/file_sniffing.h"

#include <algorithm>

namespace coalesce {

namespace {
bool startsWith(const std::string& bytes, const char* magic, std::size_t length) {
    return bytes.size() >= length && bytes.compare(0, length, magic, length) == 0;
}
}  // namespace

std::string describeFileContent(const std::string& bytes) {
    if (bytes.empty()) return "an empty file";
    if (startsWith(bytes, "\x89PNG\r\n\x1a\n", 8)) return "a PNG image";
    if (startsWith(bytes, "\xff\xd8\xff", 3)) return "a JPEG image";
    if (startsWith(bytes, "\x1f\x8b", 2)) return "gzip-compressed data";
    if (startsWith(bytes, "PK\x03\x04", 4) || startsWith(bytes, "PK\x05\x06", 4)) return "a ZIP archive";
    if (startsWith(bytes, "\x80\x02\x8a\x0a", 4)) return "a legacy torch.save file";
    if (startsWith(bytes, "\x80", 1)) return "a Python pickle";
    if (startsWith(bytes, "\x93NUMPY", 6)) return "a NumPy .npy array";
    if (startsWith(bytes, "\x89HDF", 4)) return "an HDF5 file";
    if (startsWith(bytes, "\x08", 1) && bytes.size() > 8 && bytes.find("onnx") != std::string::npos) return "an ONNX model";
    const std::size_t probe = std::min<std::size_t>(bytes.size(), 4096);
    const bool text = std::all_of(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(probe), [](char c) {
        const unsigned char u = static_cast<unsigned char>(c);
        return u >= 0x20 || u == '\n' || u == '\r' || u == '\t' || u >= 0x80;
    });
    if (text) {
        const auto first = bytes.find_first_not_of(" \t\r\n");
        if (first != std::string::npos && (bytes[first] == '{' || bytes[first] == '[')) return "a JSON/text file";
        return "a text file";
    }
    return "unrecognised binary data";
}

}  // namespace coalesce
