#pragma once

#include <twine/core/deferred.hpp>
#include <twine/core/reactor_time.hpp>

#include <concepts>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace twine {

/// Calls a function repeatedly, every `interval`, as Twisted's
/// task.LoopingCall. If the function returns a Deferred, the next call is
/// scheduled only once it has fired. Calls stay on the grid of intervals
/// counted from start(): when a call runs late (a busy loop, a slow function)
/// the missed intervals are skipped, not run in a burst; withCount() tells
/// the function how many intervals passed.
class LoopingCall {
public:
    /// fn returns void or Deferred<void>.
    template <class F>
    requires std::invocable<F&> LoopingCall(ReactorTime& time, F fn)
        : LoopingCall(time, adapt(std::move(fn))) {}
    /// The general form; throws std::invalid_argument for an empty fn. Not
    /// started: call start().
    LoopingCall(ReactorTime& time, std::function<Deferred<void>()> fn);

    /// A LoopingCall whose fn(count) receives the number of intervals that
    /// have passed since it last ran (1 unless intervals were skipped; always
    /// 1 for an interval of 0). fn returns void or Deferred<void>.
    template <class F>
    requires std::invocable<F&, int>
    static LoopingCall withCount(ReactorTime& time, F fn) {
        return withCountImpl(time, adaptCount(std::move(fn)));
    }

    /// Takes over the loop; the moved-from LoopingCall holds none.
    LoopingCall(LoopingCall&&) noexcept;
    /// Stops the loop this one held, then takes over the other's.
    LoopingCall& operator=(LoopingCall&&) noexcept;
    LoopingCall(const LoopingCall&) = delete;
    LoopingCall& operator=(const LoopingCall&) = delete;
    /// Stops a running loop (its Deferred fires, as on stop()).
    ~LoopingCall();

    /// Starts calling fn every `interval` (0: as fast as the scheduler
    /// allows), at once if `now`. The Deferred fires when stop() is called,
    /// or fails with fn's exception (or its Deferred's failure), which ends
    /// the loop. Throws std::logic_error if already running and
    /// std::invalid_argument for a negative interval.
    Deferred<void> start(Duration interval, bool now = true);
    /// Stops the loop; throws std::logic_error if not running. If fn is
    /// running (or its Deferred is pending) the loop ends when it finishes.
    void stop();
    /// Skips the next call and counts the intervals afresh from now.
    void reset();
    /// True from start() until stop() or a failure.
    bool running() const;
    /// The interval given to the last start(); 0 before.
    Duration interval() const;

private:
    struct State;

    template <class F>
    static std::function<Deferred<void>()> adapt(F fn) {
        if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
            return [fn = std::move(fn)]() mutable {
                fn();
                return succeed();
            };
        } else {
            return fn;
        }
    }
    template <class F>
    static std::function<Deferred<void>(int)> adaptCount(F fn) {
        if constexpr (std::is_void_v<std::invoke_result_t<F&, int>>) {
            return [fn = std::move(fn)](int count) mutable {
                fn(count);
                return succeed();
            };
        } else {
            return fn;
        }
    }
    static LoopingCall withCountImpl(ReactorTime& time, std::function<Deferred<void>(int)> fn);

    std::shared_ptr<State> state_;
};

}  // namespace twine
