// The message a call fails with, for tests of error messages: what the coalesce::Error thrown by f says,
// "NOT a coalesce::Error: …" for any other exception (so a test can see it), "" if f did not throw.
#pragma once
#include <exception>
#include <utility>
#include <string>

#include <QtTest/QtTest>

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

// Records a test failure unless f throws a coalesce::Error whose message contains fragment.
template <typename F>
void expectError(F&& f, const std::string& fragment) {
    const std::string message = errorOf(std::forward<F>(f));
    if (message.empty()) QFAIL(("expected a coalesce::Error mentioning '" + fragment + "'").c_str());
    if (message.rfind("NOT a coalesce::Error", 0) == 0) QFAIL(message.c_str());  // even if it mentions fragment
    if (message.find(fragment) == std::string::npos)
        QFAIL(("error '" + message + "' does not mention '" + fragment + "'").c_str());
}

}  // namespace coalesce::test
