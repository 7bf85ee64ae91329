#pragma once

#include <chrono>
#include <memory>

namespace twine {

namespace detail {
struct TimerEntry;
}

/// A handle on a call scheduled by ReactorTime::callLater, as Twisted's
/// IDelayedCall. Copies refer to the same call; dropping a handle does not
/// cancel it.
class DelayedCall {
public:
    /// A handle on no call: active() is false.
    DelayedCall() = default;
    /// Internal: made by ReactorTime::callLater implementations.
    explicit DelayedCall(std::shared_ptr<detail::TimerEntry> entry) : entry_(std::move(entry)) {}

    /// Stops the call from running. Throws AlreadyCalled or AlreadyCancelled
    /// if it is not active.
    void cancel();
    /// Reschedules the call to run `fromNow` after the current time.
    void reset(std::chrono::duration<double> fromNow);
    /// Moves the call later (or earlier, for a negative amount) by `by`.
    void delay(std::chrono::duration<double> by);
    /// True until the call has run or been cancelled.
    bool active() const;
    /// The time, in the scheduler's seconds(), at which the call runs.
    double getTime() const;

private:
    std::shared_ptr<detail::TimerEntry> entry_;
};

}  // namespace twine
