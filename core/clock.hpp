#pragma once

#include <twine/core/reactor_time.hpp>
#include <twine/core/timer_queue.hpp>

#include <functional>
#include <vector>

namespace twine {

/// Fake time for tests, as Twisted's task.Clock: time starts at 0 and moves
/// only when advance() is called, running every call that has come due, so
/// timed code is tested with no sleeping. Single-threaded.
class Clock final : public ReactorTime {
public:
    Clock();
    Clock(const Clock&) = delete;
    Clock& operator=(const Clock&) = delete;

    double seconds() const override;
    DelayedCall callLater(Duration delay, std::function<void()> fn) override;

    /// Moves time forward by `amount` and runs every call due by then, in
    /// time order (scheduling order for equal times), including calls that
    /// those calls schedule when they fall due. An exception from a call is
    /// logged, never thrown out. A negative amount throws std::invalid_argument.
    void advance(Duration amount);
    /// advance() by each amount in turn.
    void pump(const std::vector<Duration>& timings);
    /// The calls still pending, earliest first.
    std::vector<DelayedCall> getDelayedCalls() const;

private:
    double now_ = 0;
    detail::TimerQueue queue_;
};

}  // namespace twine
