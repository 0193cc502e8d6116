// The message a call fails with, for tests of error messages: what the coalesce::Error thrown by f says,
// "NOT a coalesce::Error: …" for any other exception (so a test can see it), "" if f did not throw.
#pragma once
#include <exception>
#include <string>

#include "core/error.h"

namespace coalesce::test {

template <typename F>
std::string errorOf(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("NOT a coalesce::Error: ") + e.what();
    }
    return "";
}

}  // namespace coalesce::test
