#pragma once

// C++20 coroutines over Deferred: a function returning Deferred<T> may
// co_await any Deferred<U> and co_return a T.

#include <twine/core/deferred.hpp>
#include <twine/core/deferred_state.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace twine {
namespace detail {

class PromiseBase;

/// The coroutine's Deferred canceller, as Twisted's _cancellableInlineCallbacks:
/// cancelling the coroutine cancels what it awaits, and the coroutine itself
/// decides the outcome (it may catch the CancelledError and go on).
class CoroutineCanceller final : public Canceller {
public:
    explicit CoroutineCanceller(PromiseBase& promise) : promise_(&promise) {}
    void cancel(State& state) override;

private:
    PromiseBase* promise_;
};

class PromiseBase {
public:
    PromiseBase() = default;
    PromiseBase(const PromiseBase&) = delete;
    PromiseBase& operator=(const PromiseBase&) = delete;
    ~PromiseBase() {
        // Destroyed before finishing (what it awaited was dropped unfired):
        // the canceller must not outlive this promise.
        if (state_ && !state_->called()) state_->clearCanceller();
    }

    // Frames come from the same pool as chain states: a short coroutine
    // costs no malloc.
    static void* operator new(std::size_t size) { return BlockPool::allocate(size); }
    static void operator delete(void* frame, std::size_t size) noexcept {
        BlockPool::deallocate(frame, size);
    }

    // Starts at once, and frees itself when done: the Deferred is the only
    // thing a caller keeps.
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }

    void unhandled_exception() noexcept {
        ResultSlot slot;
        slot.setFailure(Failure());
        finish(slot);
    }

    /// The Deferred this coroutine is suspended on, if any (for cancel()).
    State* awaiting = nullptr;

    void cancelFrom(State& self) {
        State* awaited = awaiting;
        if (awaited == nullptr) return;  // running, not awaiting: CancelledError as usual
        auto fresh = StateRef::adopt(new State(self.rootType()));
        fresh->setCanceller(std::make_unique<CoroutineCanceller>(*this));
        self.waitOn(*fresh);
        state_ = std::move(fresh);
        StateRef keep(awaited);
        keep->cancel();  // may resume and finish the coroutine: `this` may be gone now
    }

protected:
    template <class T>
    Deferred<T> start() {
        Deferred<T> d;
        state_ = stateOf(d);
        state_->setCanceller(std::make_unique<CoroutineCanceller>(*this));
        return d;
    }

    void finish(ResultSlot& result) noexcept {
        StateRef state = std::move(state_);
        // Already called only if cancelled while not awaiting; the outcome of
        // a cancelled coroutine is then dropped, as a second fire would be.
        try {
            state->tryFire(result);
        } catch (...) {
        }
    }

private:
    StateRef state_;
};

inline void CoroutineCanceller::cancel(State& state) {
    promise_->cancelFrom(state);
}

template <class T>
class DeferredPromise final : public PromiseBase {
public:
    Deferred<T> get_return_object() { return start<T>(); }

    template <class V = T>
    requires std::is_constructible_v<T, V&&>
    void return_value(V&& value) {
        ResultSlot slot;
        slot.emplace<T>(std::forward<V>(value));
        finish(slot);
    }
};

template <>
class DeferredPromise<void> final : public PromiseBase {
public:
    Deferred<void> get_return_object() { return start<void>(); }

    void return_void() {
        ResultSlot slot;
        slot.setUnit();
        finish(slot);
    }
};

/// Resumes a coroutine suspended on a Deferred, handing it the result. If the
/// Deferred goes away unfired, the coroutine can never resume: its frame is
/// destroyed with the link.
class ResumeLink final : public Link {
public:
    ResumeLink(std::coroutine_handle<> handle, ResultSlot& target, State** awaiting)
        : handle_(handle), target_(&target), awaiting_(awaiting) {}
    ~ResumeLink() override {
        if (handle_) handle_.destroy();
    }

    StateRef run(ResultSlot& slot) noexcept override {
        target_->moveFrom(slot);
        slot.setUnit();
        if (awaiting_ != nullptr) *awaiting_ = nullptr;
        std::exchange(handle_, {}).resume();
        return {};
    }

private:
    std::coroutine_handle<> handle_;
    ResultSlot* target_;
    State** awaiting_;
};

template <class U>
class DeferredAwaiter {
public:
    explicit DeferredAwaiter(StateRef state) : state_(std::move(state)) {}

    /// A fired Deferred's result is taken at once: no suspension, no stack.
    bool await_ready() {
        if (!state_) throw std::logic_error("co_await on a moved-from Deferred");
        if (state_->tailType() != tagOf<U>) {
            throw std::logic_error("co_await on a Deferred handle whose chain changed type");
        }
        if (!state_->settled()) return false;
        result_.moveFrom(state_->slot());
        state_->slot().setUnit();
        state_->setTailType(tagOf<void>);
        return true;
    }

    template <class P>
    void await_suspend(std::coroutine_handle<P> handle) {
        State** awaiting = nullptr;
        if constexpr (std::is_base_of_v<PromiseBase, P>) {
            awaiting = &handle.promise().awaiting;
            *awaiting = state_.get();
        }
        state_->setTailType(tagOf<void>);
        state_->appendQuietly(new ResumeLink(handle, result_, awaiting));
        // The awaited Deferred's owners keep it (and so this frame) alive; if
        // it had none, this drops the frame: touch nothing after.
        state_.reset();
    }

    U await_resume() {
        if (result_.failed()) result_.failure().rethrow();
        if constexpr (!std::is_void_v<U>) return result_.template take<U>();
    }

private:
    StateRef state_;
    ResultSlot result_;
};

}  // namespace detail

/// `co_await d` in a coroutine: the Deferred's value, or its failure rethrown
/// as the original exception. The awaited chain's result is consumed.
template <class U>
detail::DeferredAwaiter<U> operator co_await(Deferred<U> d) {
    return detail::DeferredAwaiter<U>(detail::takeState(d));
}

}  // namespace twine
