#include <twine/core/clock.hpp>
#include <twine/core/deferred.hpp>
#include <twine/core/looping_call.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

// What became of the Deferred returned by start().
struct Outcome {
    bool stopped = false;
    std::optional<std::string> failure;

    void watch(twine::Deferred<void> d) {
        d.addCallbacks([this] { stopped = true; },
                       [this](const twine::Failure& f) { failure = f.what(); });
    }
};

}  // namespace

TEST_CASE("a LoopingCall runs at once, then once per interval") {
    twine::Clock clock;
    std::vector<double> times;
    twine::LoopingCall loop(clock, [&] { times.push_back(clock.seconds()); });
    loop.start(1s);
    CHECK(times == std::vector<double>{0.0});
    clock.pump({1s, 1s, 1s});
    CHECK(times == std::vector<double>{0.0, 1.0, 2.0, 3.0});
    CHECK(loop.running());
    CHECK(loop.interval() == twine::Duration(1.0));
}

TEST_CASE("start with now = false waits one interval for the first call") {
    twine::Clock clock;
    int calls = 0;
    twine::LoopingCall loop(clock, [&] { ++calls; });
    loop.start(2s, false);
    CHECK(calls == 0);
    clock.advance(1999ms);
    CHECK(calls == 0);
    clock.advance(1ms);
    CHECK(calls == 1);
}

TEST_CASE("missed intervals are skipped, and the calls stay on the interval grid") {
    twine::Clock clock;
    std::vector<double> times;
    twine::LoopingCall loop(clock, [&] { times.push_back(clock.seconds()); });
    loop.start(1s);
    // The loop is late by three and a half intervals: one call, not four.
    clock.advance(3500ms);
    CHECK(times == std::vector<double>{0.0, 3.5});
    // The next call is on the grid (4 s), not an interval after the late one.
    clock.advance(500ms);
    CHECK(times == std::vector<double>{0.0, 3.5, 4.0});
}

TEST_CASE("withCount passes the number of intervals since the last call") {
    twine::Clock clock;
    std::vector<int> counts;
    auto loop = twine::LoopingCall::withCount(clock, [&](int count) { counts.push_back(count); });
    loop.start(1s);
    clock.advance(1s);
    clock.advance(3s);
    clock.advance(1s);
    CHECK(counts == std::vector<int>{1, 1, 3, 1});
}

TEST_CASE("withCount with now = false counts the first interval as one") {
    twine::Clock clock;
    std::vector<int> counts;
    auto loop = twine::LoopingCall::withCount(clock, [&](int count) { counts.push_back(count); });
    loop.start(1s, false);
    clock.advance(1s);
    clock.advance(2s);
    CHECK(counts == std::vector<int>{1, 2});
}

TEST_CASE("withCount with an interval of zero always counts one") {
    twine::Clock clock;
    std::vector<int> counts;
    std::optional<twine::LoopingCall> loop;
    loop.emplace(twine::LoopingCall::withCount(clock, [&](int count) {
        counts.push_back(count);
        if (counts.size() == 5) loop->stop();
    }));
    Outcome outcome;
    outcome.watch(loop->start(0s, false));
    clock.advance(0s);
    CHECK(counts == std::vector<int>{1, 1, 1, 1, 1});
    CHECK(outcome.stopped);
}

TEST_CASE("stop fires the Deferred returned by start and no call runs after it") {
    twine::Clock clock;
    int calls = 0;
    twine::LoopingCall loop(clock, [&] { ++calls; });
    Outcome outcome;
    outcome.watch(loop.start(1s));
    clock.advance(1s);
    loop.stop();
    CHECK(outcome.stopped);
    CHECK_FALSE(loop.running());
    clock.advance(10s);
    CHECK(calls == 2);
    CHECK(clock.getDelayedCalls().empty());
}

TEST_CASE("stop from inside the function ends the loop once the call returns") {
    twine::Clock clock;
    int calls = 0;
    std::optional<twine::LoopingCall> loop;
    loop.emplace(clock, [&] {
        if (++calls == 3) loop->stop();
    });
    Outcome outcome;
    outcome.watch(loop->start(1s));
    clock.pump({1s, 1s, 1s, 1s});
    CHECK(calls == 3);
    CHECK(outcome.stopped);
}

TEST_CASE("an exception from the function fails the Deferred and ends the loop") {
    twine::Clock clock;
    int calls = 0;
    twine::LoopingCall loop(clock, [&] {
        if (++calls == 2) throw std::runtime_error("tick failed");
    });
    Outcome outcome;
    outcome.watch(loop.start(1s));
    clock.advance(1s);
    CHECK(outcome.failure == "tick failed");
    CHECK_FALSE(outcome.stopped);
    CHECK_FALSE(loop.running());
    clock.advance(5s);
    CHECK(calls == 2);
}

TEST_CASE("a failure on the very first call fails the Deferred start returns") {
    twine::Clock clock;
    twine::LoopingCall loop(clock, []() -> void { throw std::runtime_error("at once"); });
    Outcome outcome;
    outcome.watch(loop.start(1s));
    CHECK(outcome.failure == "at once");
    CHECK_FALSE(loop.running());
}

TEST_CASE("the next call waits for the Deferred the function returns") {
    twine::Clock clock;
    int calls = 0;
    twine::Deferred<void> pending;
    twine::LoopingCall loop(clock, [&] {
        ++calls;
        pending = twine::Deferred<void>();
        return pending;
    });
    loop.start(1s);
    clock.advance(5s);
    CHECK(calls == 1);
    pending.callback();
    clock.advance(1s);
    CHECK(calls == 2);
}

TEST_CASE("a failed Deferred from the function fails the loop") {
    twine::Clock clock;
    twine::LoopingCall loop(clock, [] {
        return twine::fail<void>(twine::Failure(std::runtime_error("async failure")));
    });
    Outcome outcome;
    outcome.watch(loop.start(1s));
    CHECK(outcome.failure == "async failure");
    CHECK_FALSE(loop.running());
}

TEST_CASE("reset skips the next call and counts intervals from now") {
    twine::Clock clock;
    std::vector<double> times;
    twine::LoopingCall loop(clock, [&] { times.push_back(clock.seconds()); });
    loop.start(2s);
    clock.advance(1s);
    loop.reset();
    clock.advance(1s);
    CHECK(times == std::vector<double>{0.0});
    clock.advance(1s);
    CHECK(times == std::vector<double>{0.0, 3.0});
}

TEST_CASE("a stopped LoopingCall can be started again") {
    twine::Clock clock;
    int calls = 0;
    twine::LoopingCall loop(clock, [&] { ++calls; });
    loop.start(1s);
    loop.stop();
    loop.start(1s);
    clock.advance(1s);
    CHECK(calls == 3);
}

TEST_CASE("misuse is refused with a clear error") {
    twine::Clock clock;
    twine::LoopingCall loop(clock, [] {});
    CHECK_THROWS_AS(loop.stop(), std::logic_error);
    CHECK_THROWS_AS(loop.reset(), std::logic_error);
    CHECK_THROWS_AS(loop.start(-1s), std::invalid_argument);
    loop.start(1s);
    CHECK_THROWS_AS(loop.start(1s), std::logic_error);
}

TEST_CASE("destroying a running LoopingCall stops it and fires its Deferred") {
    twine::Clock clock;
    int calls = 0;
    Outcome outcome;
    {
        twine::LoopingCall loop(clock, [&] { ++calls; });
        outcome.watch(loop.start(1s));
    }
    CHECK(outcome.stopped);
    clock.advance(5s);
    CHECK(calls == 1);
    CHECK(clock.getDelayedCalls().empty());
}

TEST_CASE("a LoopingCall can be moved while running") {
    twine::Clock clock;
    int calls = 0;
    twine::LoopingCall first(clock, [&] { ++calls; });
    first.start(1s);
    twine::LoopingCall second = std::move(first);
    clock.advance(1s);
    CHECK(calls == 2);
    CHECK(second.running());
}
