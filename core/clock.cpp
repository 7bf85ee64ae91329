#include <twine/core/clock.hpp>

#include <stdexcept>

namespace twine {

Clock::Clock() : queue_(*this) {}

double Clock::seconds() const {
    return now_;
}

DelayedCall Clock::callLater(Duration delay, std::function<void()> fn) {
    return queue_.schedule(delay.count(), std::move(fn));
}

void Clock::advance(Duration amount) {
    // Time never runs backwards, as for the Reactor's monotonic clock.
    if (!(amount.count() >= 0)) throw std::invalid_argument("Clock::advance: amount must be >= 0");
    now_ += amount.count();
    queue_.runDue(now_);
}

void Clock::pump(const std::vector<Duration>& timings) {
    for (const Duration& amount : timings) advance(amount);
}

std::vector<DelayedCall> Clock::getDelayedCalls() const {
    return queue_.pending();
}

}  // namespace twine
