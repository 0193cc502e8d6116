// Errors the engine reports to users. Every message names the file/parameter and the problem,
// e.g. "train-images-idx3-ubyte.gz: wrong magic 0x00000000 (expected 0x00000803 for IDX images)".
#pragma once
#include <stdexcept>
#include <string>

namespace coalesce {

// A user-facing failure (bad input, bad config, I/O problem). Front ends print what() as one line.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Thrown inside a job when its CancelToken fires; jobs catch it at the top and report "cancelled".
class Cancelled : public std::runtime_error {
public:
    Cancelled() : std::runtime_error("cancelled") {}
};

}  // namespace coalesce
