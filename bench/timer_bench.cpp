// Timer costs on the real Reactor: scheduling and cancelling a call, firing
// calls that are due, and one self-rescheduling call per loop iteration.
// Prints "name value" lines. Run pinned for stable figures: taskset -c 1.
#include <twine/core/clock.hpp>
#include <twine/core/reactor.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

namespace {

using Nanos = std::chrono::duration<double, std::nano>;
using SteadyClock = std::chrono::steady_clock;

void report(const char* name, SteadyClock::duration elapsed, long operations) {
    std::printf("%s %.1f\n", name, Nanos(elapsed).count() / static_cast<double>(operations));
}

// callLater + cancel with `background` other calls pending, so the heap has depth.
void callLaterCancel(long operations, int background) {
    twine::Reactor reactor;
    for (int i = 0; i < background; ++i) reactor.callLater(std::chrono::hours(1 + i), [] {});
    const auto start = SteadyClock::now();
    for (long i = 0; i < operations; ++i) {
        reactor.callLater(std::chrono::seconds(30), [] {}).cancel();
    }
    report(background == 0 ? "timer_call_later_cancel_ns" : "timer_call_later_cancel_1k_pending_ns",
           SteadyClock::now() - start, operations);
}

// Batches of calls all due at once, as when a busy loop catches up: the cost
// of firing one, loop overhead amortised over the batch.
void fireDue(int batches, int batchSize) {
    twine::Reactor reactor;
    long fired = 0;
    int remaining = batches;
    std::function<void()> batch = [&] {
        if (remaining-- == 0) {
            reactor.stop();
            return;
        }
        for (int i = 0; i < batchSize; ++i) reactor.callLater(twine::Duration(0), [&] { ++fired; });
        reactor.callLater(twine::Duration(0), batch);
    };
    reactor.callLater(twine::Duration(0), batch);
    const auto start = SteadyClock::now();
    reactor.run();
    report("timer_schedule_and_fire_ns", SteadyClock::now() - start, fired);
}

// One call that reschedules itself: a full loop iteration per call.
void chain(long operations) {
    twine::Reactor reactor;
    long remaining = operations;
    std::function<void()> step = [&] {
        if (--remaining == 0) {
            reactor.stop();
        } else {
            reactor.callLater(twine::Duration(0), step);
        }
    };
    reactor.callLater(twine::Duration(0), step);
    const auto start = SteadyClock::now();
    reactor.run();
    report("timer_chain_iteration_ns", SteadyClock::now() - start, operations);
}

// The test Clock: schedule then advance past, per call.
void clockAdvance(long operations) {
    twine::Clock clock;
    long fired = 0;
    const auto start = SteadyClock::now();
    for (long i = 0; i < operations; ++i) {
        clock.callLater(twine::Duration(1), [&] { ++fired; });
        clock.advance(twine::Duration(1));
    }
    report("clock_call_later_advance_ns", SteadyClock::now() - start, fired);
}

}  // namespace

int main() {
    callLaterCancel(2'000'000, 0);
    callLaterCancel(2'000'000, 1000);
    fireDue(100, 10'000);
    chain(200'000);
    clockAdvance(1'000'000);
}
