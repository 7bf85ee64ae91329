#include <twine/core/guard.hpp>
#include <twine/core/log.hpp>
#include <twine/core/looping_call.hpp>

#include <cmath>
#include <optional>
#include <stdexcept>

namespace twine {

struct LoopingCall::State : std::enable_shared_from_this<State> {
    State(ReactorTime& t, std::function<Deferred<void>()> f) : time(t), fn(std::move(f)) {}

    void runOnce();
    void afterCall();
    void onFailure(const Failure& failure);
    void scheduleFrom(double when);
    double delayFrom(double when) const;
    void fireStopped();
    std::int64_t intervalOf(double t) const {
        return static_cast<std::int64_t>((t - startTime) / interval);
    }

    ReactorTime& time;
    std::function<Deferred<void>()> fn;
    bool running = false;
    double interval = 0;
    double startTime = 0;
    bool runAtStart = false;
    /// For withCount: when the function last ran.
    std::optional<double> realLastTime;
    DelayedCall call;
    std::optional<Deferred<void>> deferred;
};

void LoopingCall::State::runOnce() {
    call = DelayedCall();
    Deferred<void> result;
    try {
        result = fn();
    } catch (...) {
        result = fail<void>(Failure());
    }
    // Weak: the loop may be destroyed while fn's Deferred is pending.
    std::weak_ptr<State> weak = weak_from_this();
    result.addCallbacks(
        [weak] {
            if (auto self = weak.lock()) self->afterCall();
        },
        [weak](const Failure& failure) {
            if (auto self = weak.lock()) {
                self->onFailure(failure);
            } else {
                log::failure(failure, "LoopingCall function failed after the loop was destroyed");
            }
        });
}

void LoopingCall::State::afterCall() {
    if (running) {
        scheduleFrom(time.seconds());
    } else {
        fireStopped();
    }
}

void LoopingCall::State::onFailure(const Failure& failure) {
    running = false;
    if (!deferred) return;
    Deferred<void> d = std::move(*deferred);
    deferred.reset();
    d.errback(failure);
}

void LoopingCall::State::fireStopped() {
    if (!deferred) return;
    // Taken out first: the callback may start the loop again.
    Deferred<void> d = std::move(*deferred);
    deferred.reset();
    d.callback();
}

double LoopingCall::State::delayFrom(double when) const {
    if (interval == 0) return 0;
    // The time left until the next point on the grid of intervals counted
    // from the start: a late call skips the intervals it missed.
    double runningFor = when - startTime;
    double intoInterval = std::fmod(runningFor, interval);
    if (intoInterval < 0) intoInterval += interval;
    const double untilNext = interval - intoInterval;
    // Too small to move `when` at all: that is the next interval already.
    if (when == when + untilNext) return interval;
    return untilNext;
}

void LoopingCall::State::scheduleFrom(double when) {
    std::weak_ptr<State> weak = weak_from_this();
    call = time.callLater(Duration(delayFrom(when)), [weak] {
        if (auto self = weak.lock()) self->runOnce();
    });
}

LoopingCall::LoopingCall(ReactorTime& time, std::function<Deferred<void>()> fn)
    : state_(std::make_shared<State>(time, std::move(fn))) {
    if (!state_->fn) throw std::invalid_argument("LoopingCall: empty function");
}

LoopingCall LoopingCall::withCountImpl(ReactorTime& time,
                                       std::function<Deferred<void>(int)> countFn) {
    LoopingCall loop(time, [] { return succeed(); });
    State* state = loop.state_.get();  // the function lives inside the state it reads
    state->fn = [state, countFn = std::move(countFn)]() -> Deferred<void> {
        const double now = state->time.seconds();
        if (state->interval == 0) {
            state->realLastTime = now;
            return countFn(1);
        }
        double lastTime = state->startTime - (state->runAtStart ? state->interval : 0);
        if (state->realLastTime) lastTime = *state->realLastTime;
        const auto count = state->intervalOf(now) - state->intervalOf(lastTime);
        if (count <= 0) return succeed();
        state->realLastTime = now;
        return countFn(static_cast<int>(count));
    };
    return loop;
}

LoopingCall::LoopingCall(LoopingCall&&) noexcept = default;

LoopingCall& LoopingCall::operator=(LoopingCall&& other) noexcept {
    if (this != &other) {
        LoopingCall old(std::move(*this));  // stops the loop this one held
        state_ = std::move(other.state_);
    }
    return *this;
}

LoopingCall::~LoopingCall() {
    if (!state_ || !state_->running) return;
    detail::guarded("Stopping a LoopingCall in its destructor", [&] {
        state_->running = false;
        if (state_->call.active()) state_->call.cancel();
        state_->fireStopped();
    });
}

Deferred<void> LoopingCall::start(Duration interval, bool now) {
    State& state = *state_;
    if (state.running) throw std::logic_error("Tried to start an already running LoopingCall.");
    if (!(interval.count() >= 0)) throw std::invalid_argument("LoopingCall: interval must be >= 0");
    state.running = true;
    // A local copy: a failing first call clears state.deferred at once.
    Deferred<void> result;
    state.deferred = result;
    state.startTime = state.time.seconds();
    state.interval = interval.count();
    state.runAtStart = now;
    state.realLastTime.reset();
    if (now) {
        state.runOnce();
    } else {
        state.scheduleFrom(state.startTime);
    }
    return result;
}

void LoopingCall::stop() {
    State& state = *state_;
    if (!state.running) throw std::logic_error("Tried to stop a LoopingCall that was not running.");
    state.running = false;
    // If fn is running or its Deferred is pending, afterCall fires the Deferred.
    if (state.call.active()) {
        state.call.cancel();
        state.call = DelayedCall();
        state.fireStopped();
    }
}

void LoopingCall::reset() {
    State& state = *state_;
    if (!state.running)
        throw std::logic_error("Tried to reset a LoopingCall that was not running.");
    if (!state.call.active()) return;
    state.call.cancel();
    state.startTime = state.time.seconds();
    state.scheduleFrom(state.startTime);
}

bool LoopingCall::running() const {
    return state_ && state_->running;
}

Duration LoopingCall::interval() const {
    return Duration(state_ ? state_->interval : 0.0);
}

}  // namespace twine
