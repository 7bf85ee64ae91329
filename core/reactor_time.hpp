#pragma once

#include <twine/core/delayed_call.hpp>

#include <chrono>
#include <functional>

namespace twine {

/// Seconds as a floating-point duration: any std::chrono duration (500ms, 2s)
/// converts to it implicitly.
using Duration = std::chrono::duration<double>;

/// Everything that schedules work in time. The Reactor and the test Clock both
/// implement it, so every timed feature (timeouts, LoopingCall, deferLater,
/// reconnect backoff) runs on a Clock in tests with no sleeping.
class ReactorTime {
public:
    virtual ~ReactorTime() = default;

    /// The current time in seconds (monotonic for the Reactor).
    virtual double seconds() const = 0;

    /// Runs fn once, `delay` from now, on this time source's thread.
    virtual DelayedCall callLater(Duration delay, std::function<void()> fn) = 0;
};

}  // namespace twine
