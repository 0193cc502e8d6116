// Parsing JSON text that comes from outside the process: job configs, file headers, metadata stored
// in model files, run folders. nlohmann's parser recurses once per nesting level, so a document
// nested 100 000 deep overflows the stack (SIGSEGV) before any validation can run. Every parse of
// such text goes through here: the depth is checked while parsing, so the nested value never exists.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace coalesce {

// Far above anything Coalesce writes (a job config nests ~5 levels) and far below what overflows a
// thread's stack.
constexpr int kMaxJsonDepth = 100;

// Parses `input` (a string, an input stream or an iterator pair, as nlohmann::json::parse accepts).
// Throws nlohmann::json::parse_error for invalid JSON and for nesting deeper than kMaxJsonDepth, so
// callers' existing parse_error handlers name the file.
template <typename... Input>
nlohmann::json parseJson(Input&&... input) {
    const auto limitDepth = [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
        if (depth > kMaxJsonDepth)
            throw nlohmann::json::parse_error::create(
                101, 0, "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels", nullptr);
        return true;
    };
    return nlohmann::json::parse(std::forward<Input>(input)..., limitDepth);
}

// The same, but a discarded value (is_discarded()) instead of an exception for any invalid input.
template <typename... Input>
nlohmann::json parseJsonOrDiscarded(Input&&... input) {
    try {
        return parseJson(std::forward<Input>(input)...);
    } catch (const nlohmann::json::exception&) {
        return nlohmann::json(nlohmann::json::value_t::discarded);
    }
}

}  // namespace coalesce
