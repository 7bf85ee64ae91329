#pragma once

// An event-driven queue, as Twisted's DeferredQueue: get() returns a Deferred
// that fires when an item is there. Also the list of waiting Deferreds that
// DeferredSemaphore shares.

#include <twine/core/deferred.hpp>
#include <twine/core/error.hpp>

#include <algorithm>
#include <cstddef>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace twine {
namespace detail {

/// Deferreds waiting for something, oldest first. Cancelling a waiter takes
/// it out of the list, as Twisted's _cancelAcquire / _cancelGet.
template <class T>
class WaitList {
public:
    /// A new waiter at the back of `list`. Its canceller holds the list
    /// weakly: cancelling it after the list is gone only fails it.
    static Deferred<T> push(const std::shared_ptr<WaitList>& list) {
        Deferred<T> waiter([weak = std::weak_ptr<WaitList>(list)](Deferred<T>& self) {
            if (auto alive = weak.lock()) alive->remove(self);
        });
        list->waiters_.push_back(waiter);
        return waiter;
    }

    /// Takes out the oldest waiter, for the caller to fire: out of the list
    /// first, so that what its callbacks do to the list is consistent.
    Deferred<T> pop() {
        Deferred<T> oldest = std::move(waiters_.front());
        waiters_.pop_front();
        return oldest;
    }

    bool empty() const { return waiters_.empty(); }
    std::size_t size() const { return waiters_.size(); }

private:
    void remove(const Deferred<T>& waiter) {
        auto it = std::find(waiters_.begin(), waiters_.end(), waiter);
        if (it != waiters_.end()) waiters_.erase(it);
    }

    // A list, not a deque: an idle lock or queue then holds no allocation.
    std::list<Deferred<T>> waiters_;
};

template <class T>
struct QueueCore {
    std::optional<std::size_t> size;
    std::optional<std::size_t> backlog;
    std::deque<T> pending;
    WaitList<T> waiting;
};

}  // namespace detail

/// An event-driven queue, as Twisted's DeferredQueue. put() hands an item to
/// the oldest waiting get(), or keeps it; get() fires at once with the oldest
/// item kept, or waits for the next put(). Both limits are checked at the
/// call, as in Twisted: put() beyond `size` items throws QueueOverflow, get()
/// beyond `backlog` waiting gets throws QueueUnderflow.
///
/// Cancelling a waiting get() takes it out of the queue (it fails with
/// CancelledError; the next item goes to the next get). Destroying the queue
/// leaves the gets still waiting unfired; cancelling them later is safe.
template <class T>
class DeferredQueue {
    static_assert(!std::is_void_v<T>, "DeferredQueue<void> holds nothing: use DeferredSemaphore");

public:
    /// No limit on either side when a limit is not given (Twisted's None).
    explicit DeferredQueue(std::optional<std::size_t> size = std::nullopt,
                           std::optional<std::size_t> backlog = std::nullopt)
        : core_(std::make_shared<detail::QueueCore<T>>()) {
        core_->size = size;
        core_->backlog = backlog;
    }
    DeferredQueue(const DeferredQueue&) = delete;
    DeferredQueue& operator=(const DeferredQueue&) = delete;

    /// Fires the oldest waiting get() with `item` (its callbacks run now), or
    /// keeps it. Throws QueueOverflow if it would be kept beyond `size`.
    void put(T item) {
        detail::QueueCore<T>& core = *core_;
        if (!core.waiting.empty()) {
            core.waiting.pop().callback(std::move(item));
        } else if (!core.size || core.pending.size() < *core.size) {
            core.pending.push_back(std::move(item));
        } else {
            throw QueueOverflow();
        }
    }

    /// The oldest item, now if one is kept, else when put() gives one.
    /// Throws QueueUnderflow if `backlog` gets are already waiting.
    Deferred<T> get() {
        detail::QueueCore<T>& core = *core_;
        if (!core.pending.empty()) {
            Deferred<T> now = succeed(std::move(core.pending.front()));
            core.pending.pop_front();
            return now;
        }
        if (core.backlog && core.waiting.size() >= *core.backlog) throw QueueUnderflow();
        return detail::WaitList<T>::push(waitingOf(core_));
    }

    /// How many items are kept, waiting for a get().
    std::size_t pending() const { return core_->pending.size(); }
    /// How many get()s are waiting for an item.
    std::size_t waiting() const { return core_->waiting.size(); }
    /// Twisted's `size`: the most items kept at once (nullopt: no limit).
    std::optional<std::size_t> size() const { return core_->size; }
    /// Twisted's `backlog`: the most gets waiting at once (nullopt: no limit).
    std::optional<std::size_t> backlog() const { return core_->backlog; }

private:
    // The waiting list shares the core's ownership, so its cancellers can
    // tell when the queue is gone.
    static std::shared_ptr<detail::WaitList<T>> waitingOf(
        const std::shared_ptr<detail::QueueCore<T>>& core) {
        return {core, &core->waiting};
    }

    std::shared_ptr<detail::QueueCore<T>> core_;
};

}  // namespace twine
