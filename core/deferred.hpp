#pragma once

#include <twine/core/deferred_link.hpp>
#include <twine/core/deferred_state.hpp>
#include <twine/core/error.hpp>
#include <twine/core/failure.hpp>
#include <twine/core/guard.hpp>
#include <twine/core/reactor_time.hpp>

#include <concepts>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace twine {

namespace detail {
template <class T>
class DeferredPromise;
}

/// A result that arrives later, as Twisted's Deferred: one chain of callbacks
/// and errbacks, run in order once callback() or errback() gives it a result.
///
/// Deferred<T> is a handle: copies share one chain, and dropping every handle
/// never cancels it. addCallback returns a handle typed for the callback's
/// result, on the same chain, so `d.addCallback(f).addCallback(g)` stays
/// typed. A handle whose type no longer matches the chain (a callback changed
/// it) throws std::logic_error when used to add a step.
///
/// A Deferred belongs to one thread (the reactor's): create, copy and fire it
/// there. From another thread, go through Reactor::callFromThread.
///
/// A function returning Deferred<T> may be a coroutine: it starts at once,
/// may co_await any Deferred, and its co_return value (or escaping
/// exception) fires the Deferred.
template <class T = void>
class Deferred {
    static_assert(!std::is_reference_v<T>, "Deferred<T&> is not supported: use a pointer");
    static_assert(!std::is_const_v<T> && !std::is_volatile_v<T>,
                  "Deferred<const T> is not supported: the value is moved along the chain");
    static_assert(!std::is_same_v<std::remove_cv_t<T>, Failure>,
                  "a Deferred carries failures already: Deferred<Failure> is not needed");
    static_assert(!detail::IsDeferred<std::remove_cv_t<T>>::value,
                  "Deferred<Deferred<U>> is not supported: a Deferred result is chained");

public:
    /// The result type carried at this handle's point of the chain.
    using ValueType = T;
    /// Makes a function returning Deferred<T> a coroutine (see deferred_coroutine.hpp).
    using promise_type = detail::DeferredPromise<T>;

    /// A new, unfired Deferred.
    Deferred() : state_(detail::StateRef::adopt(new detail::State(detail::tagOf<T>))) {}

    /// A new Deferred whose cancel() first calls `canceller(deferred)`.
    template <class C>
    requires(!std::is_same_v<std::remove_cvref_t<C>, Deferred> &&
             std::is_invocable_v<C&, Deferred&>) explicit Deferred(C canceller)
        : Deferred() {
        state_->setCanceller(std::make_unique<TypedCanceller<C>>(std::move(canceller)));
    }

    // Firing.

    /// Fires the chain with a value. Throws AlreadyCalledError if fired before
    /// (except the first time after a cancel() with no canceller, which is
    /// silently ignored, as in Twisted).
    template <class V = detail::Stored<T>>
    requires(!std::is_void_v<T> && std::is_constructible_v<T, V&&>) void callback(V&& value) {
        detail::ResultSlot slot;
        slot.emplace<T>(std::forward<V>(value));
        fireWith(slot);
    }
    /// Fires a Deferred<void>. Throws AlreadyCalledError as callback(value).
    void callback() requires std::is_void_v<T> {
        detail::ResultSlot slot;
        slot.setUnit();
        fireWith(slot);
    }

    /// Fires the chain with a failure; with no argument, inside a catch block,
    /// with the exception being handled.
    void errback(Failure failure = Failure()) {
        detail::ResultSlot slot;
        slot.setFailure(std::move(failure));
        fireWith(slot);
    }

    // Adding steps.

    /// Adds a callback: f(T) (f() for `Deferred<void>`) returning U, `Deferred<U>`,
    /// void, or a Failure to fail the chain. Returns a `Deferred<U>` handle on
    /// this chain. A callback that throws moves the chain to the next errback.
    template <class F>
    auto addCallback(F f) {
        return addPair(std::move(f), detail::Pass{});
    }

    /// Adds an errback: f(const Failure&) returning T (recovers), Deferred<T>,
    /// a Failure (stays failed), or throwing / rethrowing / failure.trap<E>().
    /// An errback returning void recovers with no value: on a Deferred<T> the
    /// returned handle is then a Deferred<void>.
    template <class F>
    auto addErrback(F f) {
        return addPair(detail::Pass{}, std::move(f));
    }

    /// Adds a callback and an errback at the same stage: one never sees the
    /// other's outcome.
    template <class Cb, class Eb>
    auto addCallbacks(Cb cb, Eb eb) {
        return addPair(std::move(cb), std::move(eb));
    }

    /// Adds f as both callback and errback: f is called with the value, or
    /// with the Failure, or with nothing if it takes no argument.
    template <class F>
    auto addBoth(F f) {
        return addPair(f, std::move(f));
    }

    /// As Twisted's d.chainDeferred(other): `other` fires with this chain's
    /// result at this point (callback with the value, errback with the
    /// failure); firing `other` never affects this chain. Afterwards this chain
    /// carries nothing on either path (Twisted's None): a failure handed to
    /// `other` is other's to handle. Returns the Deferred<void> handle on this
    /// chain. As in Twisted, `other` fires inside this chain's callback, so a
    /// long series of chainDeferred nests that deep: to wait on a Deferred
    /// without nesting, return it from a callback instead.
    Deferred<void> chainDeferred(Deferred other) {
        if (other == *this) throw std::logic_error("Deferred: chainDeferred to itself");
        if (other.state().rootType() != detail::tagOf<T>) {
            throw std::logic_error(
                "Deferred: chainDeferred to a handle of another type than its "
                "chain starts with");
        }
        auto fail = [other](const Failure& failure) mutable { other.errback(failure); };
        if constexpr (std::is_void_v<T>) {
            return addCallbacks([other]() mutable { other.callback(); }, std::move(fail));
        } else {
            return addCallbacks([other](T value) mutable { other.callback(std::move(value)); },
                                std::move(fail));
        }
    }

    /// Cancels the chain if `timeout` passes before it fires: the
    /// CancelledError becomes a TimeoutError.
    Deferred addTimeout(Duration timeout, ReactorTime& time);

    // Control.

    /// As Twisted: runs the canceller, then fails with CancelledError if the
    /// canceller did not fire it. A no-op on a fired Deferred, unless its chain
    /// waits on a Deferred a callback returned: that one is cancelled.
    void cancel() { state().cancel(); }
    /// Holds the chain: no further callback runs until unpause(). Pauses nest.
    void pause() { state().pause(); }
    /// Undoes one pause(); the last one resumes the chain where it stopped.
    /// Throws std::logic_error without a matching pause().
    void unpause() { state().unpause(); }

    // Queries.

    /// True once callback() or errback() was called.
    bool called() const { return state().called(); }
    /// True if the chain's current result is there now: fired, not paused,
    /// not waiting on another Deferred.
    bool hasResult() const { return state().settled(); }
    /// True if the chain's current result is there and is a failure.
    bool failed() const { return hasResult() && state().slot().failed(); }

    /// Whether two handles share one chain.
    friend bool operator==(const Deferred& a, const Deferred& b) {
        return a.state_.get() == b.state_.get();
    }

private:
    template <class>
    friend class Deferred;
    template <class>
    friend class detail::DeferredPromise;
    template <class U, class R>
    friend detail::StateRef detail::stateOfReturned(R&& returned);
    template <class U>
    friend detail::StateRef detail::stateOf(const Deferred<U>& d);
    template <class U>
    friend detail::StateRef detail::takeState(Deferred<U>& d);

    template <class C>
    class TypedCanceller final : public detail::Canceller {
    public:
        explicit TypedCanceller(C fn) : fn_(std::move(fn)) {}
        void cancel(detail::State& state) override {
            Deferred self{detail::StateRef(&state)};
            fn_(self);
        }

    private:
        C fn_;
    };

    explicit Deferred(detail::StateRef state) : state_(std::move(state)) {}

    detail::State& state() const {
        if (!state_) throw std::logic_error("Deferred: this handle was moved from");
        return *state_;
    }

    void fireWith(detail::ResultSlot& slot) {
        if (state().rootType() != detail::tagOf<T>) {
            throw std::logic_error(
                "Deferred: callback() on a handle of another type than the chain starts with");
        }
        state().fire(slot);
    }

    template <class Cb, class Eb>
    auto addPair(Cb cb, Eb eb) {
        using Out = typename detail::PairOutput<T, Cb, Eb>::type;
        detail::State& chain = state();
        if (chain.tailType() != detail::tagOf<T>) {
            throw std::logic_error(
                "Deferred: a callback changed this chain's type; add steps through the handle "
                "addCallback returned");
        }
        auto* link = new detail::PairLink<T, Out, Cb, Eb>(std::move(cb), std::move(eb));
        Deferred<Out> next{state_};
        chain.setTailType(detail::tagOf<Out>);
        chain.append(link);
        return next;
    }

    detail::StateRef state_;
};

namespace detail {

/// "Deferred timed out after 2.5 seconds".
std::string timeoutMessage(Duration timeout);

template <class U>
StateRef stateOf(const Deferred<U>& d) {
    return d.state_;
}

template <class U>
StateRef takeState(Deferred<U>& d) {
    return std::move(d.state_);
}

template <class U, class R>
StateRef stateOfReturned(R&& returned) {
    const Deferred<U>& d = returned;
    if (!d.state_) throw std::logic_error("a callback returned a moved-from Deferred");
    if (d.state_->tailType() != tagOf<U>) {
        throw std::logic_error("a callback returned a Deferred whose chain changed type");
    }
    return d.state_;
}

}  // namespace detail

/// An already-fired Deferred.
template <class T>
Deferred<std::decay_t<T>> succeed(T&& value) {
    Deferred<std::decay_t<T>> d;
    d.callback(std::forward<T>(value));
    return d;
}

/// An already-fired Deferred<void>.
inline Deferred<void> succeed() {
    Deferred<void> d;
    d.callback();
    return d;
}

/// An already-failed Deferred.
template <class T = void>
Deferred<T> fail(Failure failure) {
    Deferred<T> d;
    d.errback(std::move(failure));
    return d;
}

/// Calls f() and returns its result as a Deferred: a Deferred it returns as
/// is, a value as succeed(value), an exception as a failed Deferred.
template <class F>
auto maybeDeferred(F&& f) {
    using R = std::invoke_result_t<F&>;
    using U = typename detail::StepOutput<R>::type;
    using Out = std::conditional_t<std::is_same_v<U, detail::NoType>, void, U>;
    try {
        if constexpr (std::is_void_v<R>) {
            f();
            return succeed();
        } else if constexpr (detail::DeferredLike<R>) {
            return Deferred<Out>(f());
        } else if constexpr (std::is_same_v<U, detail::NoType>) {
            return fail<void>(f());
        } else {
            return succeed(f());
        }
    } catch (...) {
        return fail<Out>(Failure());
    }
}

template <class T>
Deferred<T> Deferred<T>::addTimeout(Duration timeout, ReactorTime& time) {
    if (state().tailType() != detail::tagOf<T>) {
        throw std::logic_error("Deferred: addTimeout on a handle whose chain changed type");
    }
    auto timedOut = std::make_shared<bool>(false);
    DelayedCall call = time.callLater(timeout, [timedOut, self = *this]() mutable {
        *timedOut = true;
        self.cancel();
    });
    auto* link = new detail::SlotLink([timedOut, call, timeout](detail::ResultSlot& slot) mutable {
        detail::guarded("Deferred timeout", [&] {
            if (call.active()) call.cancel();
            if (*timedOut && slot.failed() && slot.failure().template check<CancelledError>()) {
                slot.setFailure(Failure(TimeoutError(detail::timeoutMessage(timeout))));
            }
        });
    });
    state().append(link);
    return *this;
}

}  // namespace twine

#include <twine/core/deferred_coroutine.hpp>
