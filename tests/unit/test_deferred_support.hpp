#pragma once

// Helpers for the Deferred unit tests, as trial's successResultOf /
// failureResultOf: watch a chain and look at what it delivered.

#include <twine/core/deferred.hpp>
#include <twine/core/failure.hpp>
#include <twine/core/log.hpp>

#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace deferred_test {

template <class T>
struct Outcome {
    std::optional<twine::detail::Stored<T>> value;
    std::optional<twine::Failure> failure;
    int calls = 0;

    bool succeeded() const { return value.has_value(); }
    bool failed() const { return failure.has_value(); }
    bool fired() const { return calls > 0; }
};

/// Adds a last callback/errback pair recording the chain's result (and
/// handling a failure, so nothing is logged as unhandled).
template <class T>
std::shared_ptr<Outcome<T>> watch(twine::Deferred<T> d) {
    auto outcome = std::make_shared<Outcome<T>>();
    if constexpr (std::is_void_v<T>) {
        d.addCallbacks(
            [outcome] {
                ++outcome->calls;
                outcome->value.emplace();
            },
            [outcome](const twine::Failure& f) {
                ++outcome->calls;
                outcome->failure = f;
            });
    } else {
        d.addCallbacks(
            [outcome](T v) {
                ++outcome->calls;
                outcome->value.emplace(std::move(v));
            },
            [outcome](const twine::Failure& f) {
                ++outcome->calls;
                outcome->failure = f;
            });
    }
    return outcome;
}

/// Captures every log line while alive.
class LogCapture {
public:
    LogCapture() {
        twine::log::setObserver(
            [this](const twine::log::Event& event) { lines.emplace_back(event.message); });
    }
    ~LogCapture() { twine::log::setObserver({}); }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    std::size_t count(const std::string& fragment) const {
        std::size_t n = 0;
        for (const auto& line : lines) n += line.find(fragment) != std::string::npos;
        return n;
    }

    std::vector<std::string> lines;
};

}  // namespace deferred_test
