#pragma once

// How a typed callback/errback pair becomes an untyped Link: the result type
// of a step, and the invocation that moves a chain from one result to the next.

#include <twine/core/deferred_state.hpp>
#include <twine/core/failure.hpp>

#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

namespace twine {

template <class T>
class Deferred;

namespace detail {

/// Marks the missing half of a pair: the result passes through untouched.
struct Pass {};

/// A step's result that fixes no type (a Failure is returned to fail the chain).
struct NoType {};

template <class T>
struct IsDeferred : std::false_type {};
template <class T>
struct IsDeferred<Deferred<T>> : std::true_type {};

/// A Deferred<U> or anything derived from one (DeferredList).
template <class R>
concept DeferredLike = requires(const std::remove_cvref_t<R>& r) {
    typename std::remove_cvref_t<R>::ValueType;
    requires std::derived_from<std::remove_cvref_t<R>,
                               Deferred<typename std::remove_cvref_t<R>::ValueType>>;
};

/// The type of value a step returning R hands to the next step.
template <class R>
struct StepOutput {
    using type = std::remove_cvref_t<R>;
};
template <class R>
requires DeferredLike<R>
struct StepOutput<R> {
    using type = typename std::remove_cvref_t<R>::ValueType;
};
template <class R>
requires std::same_as<std::remove_cvref_t<R>, Failure>
struct StepOutput<R> {
    using type = NoType;
};

/// Calls a callback on a T (no argument for void).
template <class In, class F>
decltype(auto) invokeCallback(F& f, ResultSlot& slot) {
    if constexpr (std::is_void_v<In>) {
        slot.take<Unit>();
        return std::invoke(f);
    } else if constexpr (std::is_invocable_v<F&, In&&>) {
        return std::invoke(f, slot.take<In>());
    } else {
        // addBoth with a function that ignores its argument.
        slot.take<In>();
        return std::invoke(f);
    }
}

/// Calls an errback on the failure (or with no argument, for addBoth).
template <class F>
decltype(auto) invokeErrback(F& f, const Failure& failure) {
    if constexpr (std::is_invocable_v<F&, const Failure&>) {
        return std::invoke(f, failure);
    } else {
        return std::invoke(f);
    }
}

template <class In, class F>
struct CallbackResult {
    using type = decltype(invokeCallback<In>(std::declval<F&>(), std::declval<ResultSlot&>()));
};
template <class In>
struct CallbackResult<In, Pass> {
    using type = In;
};
template <class F>
struct ErrbackResult {
    using type = decltype(invokeErrback(std::declval<F&>(), std::declval<const Failure&>()));
};
template <>
struct ErrbackResult<Pass> {
    using type = Failure;
};

template <class In, class Cb, class Eb>
struct PairOutput {
    using FromCallback = typename StepOutput<typename CallbackResult<In, Cb>::type>::type;
    using FromErrback = typename StepOutput<typename ErrbackResult<Eb>::type>::type;
    using Preferred =
        std::conditional_t<std::is_same_v<FromCallback, NoType>, FromErrback, FromCallback>;
    // An errback returning void on a Deferred<T> ends the chain's value: the
    // next stage receives nothing on either path (Twisted's None).
    static constexpr bool errbackEndsValue =
        std::is_same_v<Cb, Pass> && std::is_void_v<FromErrback> && !std::is_void_v<In>;
    using type =
        std::conditional_t<errbackEndsValue, void,
                           std::conditional_t<std::is_same_v<Preferred, NoType>, In, Preferred>>;
};

/// The typed handle's hooks the links need (defined with Deferred).
template <class U, class R>
StateRef stateOfReturned(R&& returned);
template <class U>
StateRef stateOf(const Deferred<U>& d);
template <class U>
StateRef takeState(Deferred<U>& d);

/// Stores a step's return value into the slot, or returns the Deferred the
/// chain must wait for.
template <class Out, class Thunk>
StateRef deliver(ResultSlot& slot, Thunk&& thunk) {
    using R = decltype(thunk());
    if constexpr (std::is_void_v<R>) {
        static_assert(std::is_void_v<Out>,
                      "this step returns nothing but the other one returns a value: both must "
                      "produce the same type");
        thunk();
        slot.setUnit();
    } else if constexpr (std::is_same_v<std::remove_cvref_t<R>, Failure>) {
        slot.setFailure(thunk());
    } else if constexpr (DeferredLike<R>) {
        static_assert(std::is_same_v<typename std::remove_cvref_t<R>::ValueType, Out>,
                      "a step returns a Deferred of another type than the chain carries");
        return stateOfReturned<Out>(thunk());
    } else {
        static_assert(!std::is_void_v<Out> && std::is_convertible_v<R, Stored<Out>>,
                      "a step returns a value of another type than the chain carries (an "
                      "errback must return the Deferred's type, a Deferred of it, a Failure, "
                      "or rethrow)");
        slot.emplace<Stored<Out>>(thunk());
    }
    return {};
}

/// A callback/errback pair, as Twisted stores them; either may be Pass.
template <class In, class Out, class Cb, class Eb>
class PairLink final : public Link {
public:
    PairLink(Cb cb, Eb eb) : callback_(std::move(cb)), errback_(std::move(eb)) {}

    StateRef run(ResultSlot& slot) noexcept override {
        try {
            return slot.failed() ? runErrback(slot) : runCallback(slot);
        } catch (...) {
            slot.setFailure(Failure());
            return {};
        }
    }

private:
    StateRef runCallback(ResultSlot& slot) {
        if constexpr (std::is_same_v<Cb, Pass>) {
            if constexpr (PairOutput<In, Cb, Eb>::errbackEndsValue) slot.setUnit();
            return {};
        } else {
            return deliver<Out>(
                slot, [&]() -> decltype(auto) { return invokeCallback<In>(callback_, slot); });
        }
    }

    StateRef runErrback(ResultSlot& slot) {
        if constexpr (std::is_same_v<Eb, Pass>) {
            return {};
        } else {
            Failure failure = slot.take<Failure>();
            return deliver<Out>(
                slot, [&]() -> decltype(auto) { return invokeErrback(errback_, failure); });
        }
    }

    [[no_unique_address]] Cb callback_;
    [[no_unique_address]] Eb errback_;
};

}  // namespace detail
}  // namespace twine
