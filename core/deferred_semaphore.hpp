#pragma once

// A counting semaphore for event-driven code, as Twisted's DeferredSemaphore:
// acquire() returns a Deferred that fires when a token is ours.

#include <twine/core/deferred.hpp>
#include <twine/core/deferred_queue.hpp>
#include <twine/core/failure.hpp>

#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace twine {
namespace detail {

struct SemaphoreCore {
    int tokens;
    int limit;
    WaitList<void> waiting;

    void release() {
        if (tokens >= limit) {
            throw std::logic_error("DeferredSemaphore: release() without a matching acquire()");
        }
        // A waiter takes the token straight away, as in Twisted: it never
        // shows as free, so an acquire() from a callback cannot jump the queue.
        if (waiting.empty()) {
            ++tokens;
        } else {
            waiting.pop().callback();
        }
    }
};

/// Releases `core` once `d` has a result, and passes that result on.
template <class T>
Deferred<T> releaseAfter(Deferred<T> d, std::shared_ptr<SemaphoreCore> core) {
    auto onFailure = [core](const Failure& failure) {
        core->release();
        return failure;
    };
    if constexpr (std::is_void_v<T>) {
        return d.addCallbacks([core] { core->release(); }, std::move(onFailure));
    } else {
        return d.addCallbacks(
            [core](T value) {
                core->release();
                return value;
            },
            std::move(onFailure));
    }
}

}  // namespace detail

/// At most `tokens` holders at once; the others wait, first come first
/// served. acquire() fires a Deferred<void> when a token is ours (the caller
/// already holds the semaphore, so, unlike Twisted, it is not passed along);
/// release() gives the token back, to the oldest waiter if there is one.
///
/// Cancelling a waiting acquire() takes it out of the line (it fails with
/// CancelledError); cancelling one that fired does nothing. Destroying the
/// semaphore leaves the acquires still waiting unfired; cancelling them
/// later, or finishing a run() started before, is safe.
class DeferredSemaphore {
public:
    /// Throws std::invalid_argument if tokens < 1.
    explicit DeferredSemaphore(int tokens) : core_(makeCore(tokens)) {}
    DeferredSemaphore(const DeferredSemaphore&) = delete;
    DeferredSemaphore& operator=(const DeferredSemaphore&) = delete;

    /// Fires when a token is ours: at once if one is free.
    Deferred<void> acquire() {
        if (core_->tokens > 0) {
            --core_->tokens;
            return succeed();
        }
        return detail::WaitList<void>::push(
            std::shared_ptr<detail::WaitList<void>>(core_, &core_->waiting));
    }

    /// Gives a token back. Throws std::logic_error if every token is already
    /// free (more releases than acquires).
    void release() { core_->release(); }

    /// Acquires, calls f() (which may return a value, a Deferred, or nothing),
    /// and releases once its result is there, success or failure. The
    /// Deferred returned fires with f's result. Cancelling it while it waits
    /// for a token gives up the place in line (f never runs); while it waits
    /// on f's Deferred, cancels that one (and releases).
    template <class F>
    auto run(F f) {
        return acquire().addCallback([core = core_, f = std::move(f)]() mutable {
            return detail::releaseAfter(maybeDeferred(f), core);
        });
    }

    /// Tokens free now.
    int tokens() const { return core_->tokens; }
    /// Tokens in all (what the constructor was given).
    int limit() const { return core_->limit; }

private:
    static std::shared_ptr<detail::SemaphoreCore> makeCore(int tokens) {
        if (tokens < 1) throw std::invalid_argument("DeferredSemaphore requires tokens >= 1");
        auto core = std::make_shared<detail::SemaphoreCore>();
        core->tokens = tokens;
        core->limit = tokens;
        return core;
    }

    std::shared_ptr<detail::SemaphoreCore> core_;
};

}  // namespace twine
