#pragma once

// A lock for event-driven code, as Twisted's DeferredLock: acquire() returns
// a Deferred that fires when the lock is ours.

#include <twine/core/deferred.hpp>
#include <twine/core/deferred_semaphore.hpp>

#include <stdexcept>
#include <utility>

namespace twine {

/// A DeferredSemaphore of one token, with a lock's words. acquire() fires a
/// Deferred<void> when the lock is ours (the caller already holds the lock, so,
/// unlike Twisted, it is not passed along); release() hands it to the oldest
/// waiter, or unlocks it.
///
/// Cancelling a waiting acquire() takes it out of the line (it fails with
/// CancelledError); cancelling one that fired does nothing. Destroying the
/// lock leaves the acquires still waiting unfired; cancelling them later, or
/// finishing a run() started before, is safe.
class DeferredLock {
public:
    DeferredLock() = default;
    DeferredLock(const DeferredLock&) = delete;
    DeferredLock& operator=(const DeferredLock&) = delete;

    /// Fires when the lock is ours: at once if it is free.
    Deferred<void> acquire() { return semaphore_.acquire(); }

    /// Hands the lock to the oldest waiter (its callbacks run now), or unlocks
    /// it. Throws std::logic_error if the lock is not locked.
    void release() {
        if (!locked()) throw std::logic_error("DeferredLock: release() of an unlocked lock");
        semaphore_.release();
    }

    /// Acquires, calls f() (which may return a value, a Deferred, or nothing),
    /// and releases once its result is there, success or failure. The
    /// Deferred returned fires with f's result. Cancelling it while it waits
    /// for the lock gives up the place in line (f never runs); while it waits
    /// on f's Deferred, cancels that one (and releases).
    template <class F>
    auto run(F f) {
        return semaphore_.run(std::move(f));
    }

    /// True from the acquire() that takes the lock until the release() that
    /// leaves no waiter.
    bool locked() const { return semaphore_.tokens() == 0; }

private:
    DeferredSemaphore semaphore_{1};
};

}  // namespace twine
