#pragma once

#include <twine/core/deferred.hpp>
#include <twine/core/failure.hpp>

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace twine::detail {

/// What deferToThread's function produces, carried from the pool thread to
/// the reactor thread.
template <class F, class R>
class ThreadJob {
public:
    explicit ThreadJob(F fn) : fn_(std::move(fn)) {}

    /// On a pool thread.
    void run() {
        try {
            if constexpr (std::is_void_v<R>) {
                fn_();
            } else {
                value_.emplace(fn_());
            }
        } catch (...) {
            error_ = std::current_exception();
        }
    }

    /// On the reactor thread, after run().
    void deliver(Deferred<R>& d) {
        if (error_) {
            d.errback(Failure(error_));
        } else if constexpr (std::is_void_v<R>) {
            d.callback();
        } else {
            d.callback(std::move(*value_));
        }
    }

private:
    F fn_;
    std::optional<std::conditional_t<std::is_void_v<R>, bool, R>> value_;
    std::exception_ptr error_;
};

}  // namespace twine::detail
