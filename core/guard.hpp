#pragma once

#include <twine/core/failure.hpp>
#include <twine/core/log.hpp>

#include <string_view>
#include <utility>

namespace twine::detail {

/// Runs fn, logging any exception it throws with `context`. Every entry point
/// from libuv goes through this (or catches on its own): no C++ exception may
/// cross into C. Returns false if fn threw.
template <class F>
bool guarded(std::string_view context, F&& fn) noexcept {
    try {
        std::forward<F>(fn)();
        return true;
    } catch (...) {
        try {
            log::failure(Failure(), context);
        } catch (...) {
            // Logging itself failed (out of memory): nothing more can be done.
        }
        return false;
    }
}

}  // namespace twine::detail
