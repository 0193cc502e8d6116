// SHA-256, written out so dataset hashes are the standard digest (`sha256sum` of an IDX file gives the
// same hex as sha256File) and do not depend on which crypto library a machine has.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace coalesce {

class Sha256 {
public:
    Sha256();
    void update(const void* data, std::size_t size);
    void update(const std::string& text) { update(text.data(), text.size()); }
    // Finishes the digest (the object cannot be updated afterwards) and returns 64 lowercase hex digits.
    std::string hexDigest();

private:
    void compress(const std::uint8_t* block);
    std::array<std::uint32_t, 8> state_;
    std::array<std::uint8_t, 64> buffer_{};
    std::size_t buffered_ = 0;
    std::uint64_t totalBytes_ = 0;
    bool finished_ = false;
};

std::string sha256Hex(const void* data, std::size_t size);
inline std::string sha256Hex(const std::string& text) { return sha256Hex(text.data(), text.size()); }

}  // namespace coalesce
