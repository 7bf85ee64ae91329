#pragma once

// What every fuzz target shares: reading choices from the front of the
// fuzzer's input, cutting the rest into reads of varying sizes (a peer's
// bytes arrive in any split), and a property check that stops the fuzzer
// with a message.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace fuzz {

/// A property that must hold: a failure is a finding, as a crash is.
#define FUZZ_CHECK(condition)                                                              \
    do {                                                                                   \
        if (!(condition)) {                                                                \
            std::fprintf(stderr, "property failed: %s (%s:%d)\n", #condition, __FILE__, \
                         __LINE__);                                                        \
            std::abort();                                                                  \
        }                                                                                  \
    } while (0)

/// The fuzzer's bytes, read from the front: choices first, then data.
class Input {
public:
    Input(const std::uint8_t* data, std::size_t size)
        : rest_(reinterpret_cast<const char*>(data), size) {}

    /// One byte (0 once the input is used up).
    std::uint8_t byte() {
        if (rest_.empty()) return 0;
        const auto value = static_cast<std::uint8_t>(rest_[0]);
        rest_.remove_prefix(1);
        return value;
    }
    /// Everything not read yet.
    std::string_view rest() const { return rest_; }

private:
    std::string_view rest_;
};

/// Splits `data` into pieces of 1 to 64 bytes, sizes drawn from `seed`, so
/// that the same input is also tried whole and split at every boundary kind.
inline std::vector<std::string_view> split(std::string_view data, std::uint8_t seed) {
    std::vector<std::string_view> pieces;
    std::uint32_t state = seed * 2654435761u + 1;
    while (!data.empty()) {
        state = state * 1664525u + 1013904223u;
        const std::size_t size = seed == 0 ? data.size() : 1 + (state >> 24) % 64;
        pieces.push_back(data.substr(0, size));
        data.remove_prefix(pieces.back().size());
    }
    return pieces;
}

}  // namespace fuzz
