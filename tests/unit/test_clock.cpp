#include <twine/core/clock.hpp>
#include <twine/core/log.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("a new Clock starts at zero and moves only when advanced") {
    twine::Clock clock;
    CHECK(clock.seconds() == 0.0);
    clock.advance(1.5s);
    CHECK(clock.seconds() == doctest::Approx(1.5));
    clock.advance(500ms);
    CHECK(clock.seconds() == doctest::Approx(2.0));
}

TEST_CASE("callLater runs when the clock reaches the call's time, not before") {
    twine::Clock clock;
    int runs = 0;
    auto call = clock.callLater(2s, [&] { ++runs; });
    CHECK(call.getTime() == doctest::Approx(2.0));
    clock.advance(1999ms);
    CHECK(runs == 0);
    CHECK(call.active());
    clock.advance(1ms);
    CHECK(runs == 1);
    CHECK_FALSE(call.active());
    clock.advance(10s);
    CHECK(runs == 1);
}

TEST_CASE("calls run in time order whatever order they were scheduled in") {
    twine::Clock clock;
    std::vector<int> order;
    clock.callLater(3s, [&] { order.push_back(3); });
    clock.callLater(1s, [&] { order.push_back(1); });
    clock.callLater(2s, [&] { order.push_back(2); });
    clock.advance(5s);
    CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("calls due at the same time run in the order they were scheduled") {
    twine::Clock clock;
    std::vector<int> order;
    for (int i = 0; i < 10; ++i) clock.callLater(1s, [&order, i] { order.push_back(i); });
    clock.advance(1s);
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("a call scheduled by a call runs in the same advance when it falls due") {
    twine::Clock clock;
    std::vector<std::string> order;
    clock.callLater(1s, [&] {
        order.push_back("first");
        // Scheduled from the advanced time (2 s), as in Twisted's Clock.
        clock.callLater(0s, [&] { order.push_back("immediate"); });
        clock.callLater(1s, [&] { order.push_back("one later"); });
    });
    clock.advance(2s);
    CHECK(order == std::vector<std::string>{"first", "immediate"});
    clock.advance(999ms);
    CHECK(order.size() == 2);
    clock.advance(1ms);
    CHECK(order.back() == "one later");
}

TEST_CASE("a cancelled call never runs and is no longer pending") {
    twine::Clock clock;
    int runs = 0;
    auto call = clock.callLater(1s, [&] { ++runs; });
    call.cancel();
    CHECK_FALSE(call.active());
    CHECK(clock.getDelayedCalls().empty());
    clock.advance(2s);
    CHECK(runs == 0);
}

TEST_CASE("a call can cancel a later call due in the same advance") {
    twine::Clock clock;
    int runs = 0;
    twine::DelayedCall second;
    clock.callLater(1s, [&] { second.cancel(); });
    second = clock.callLater(1s, [&] { ++runs; });
    clock.advance(1s);
    CHECK(runs == 0);
}

TEST_CASE("reset moves a call to run the given time after now") {
    twine::Clock clock;
    int runs = 0;
    auto call = clock.callLater(2s, [&] { ++runs; });
    clock.advance(1s);
    call.reset(5s);
    CHECK(call.getTime() == doctest::Approx(6.0));
    clock.advance(4s);
    CHECK(runs == 0);
    clock.advance(1s);
    CHECK(runs == 1);
}

TEST_CASE("reset can move a call earlier, ahead of calls scheduled before it") {
    twine::Clock clock;
    std::vector<int> order;
    clock.callLater(2s, [&] { order.push_back(1); });
    auto moved = clock.callLater(10s, [&] { order.push_back(2); });
    moved.reset(1s);
    clock.advance(3s);
    CHECK(order == std::vector<int>{2, 1});
}

TEST_CASE("delay postpones a call by the amount given, and a negative amount brings it forward") {
    twine::Clock clock;
    int runs = 0;
    auto call = clock.callLater(2s, [&] { ++runs; });
    call.delay(3s);
    CHECK(call.getTime() == doctest::Approx(5.0));
    call.delay(-1s);
    CHECK(call.getTime() == doctest::Approx(4.0));
    clock.advance(3999ms);
    CHECK(runs == 0);
    clock.advance(1ms);
    CHECK(runs == 1);
}

TEST_CASE("getDelayedCalls lists the pending calls, earliest first") {
    twine::Clock clock;
    clock.callLater(3s, [] {});
    auto cancelled = clock.callLater(2s, [] {});
    clock.callLater(1s, [] {});
    cancelled.cancel();
    auto calls = clock.getDelayedCalls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].getTime() == doctest::Approx(1.0));
    CHECK(calls[1].getTime() == doctest::Approx(3.0));
    clock.advance(1s);
    CHECK(clock.getDelayedCalls().size() == 1);
}

TEST_CASE("pump advances by each amount in turn, running calls along the way") {
    twine::Clock clock;
    std::vector<double> seen;
    for (int i = 1; i <= 3; ++i)
        clock.callLater(std::chrono::seconds(i), [&] { seen.push_back(clock.seconds()); });
    clock.pump({1s, 1s, 1s});
    CHECK(seen == std::vector<double>{1.0, 2.0, 3.0});
    CHECK(clock.seconds() == doctest::Approx(3.0));
}

TEST_CASE("an exception from a call is logged and later calls still run") {
    std::vector<std::string> logged;
    twine::log::setObserver([&](const twine::log::Event& e) { logged.emplace_back(e.message); });
    twine::Clock clock;
    int runs = 0;
    clock.callLater(1s, [] { throw std::runtime_error("boom"); });
    clock.callLater(1s, [&] { ++runs; });
    CHECK_NOTHROW(clock.advance(1s));
    twine::log::setObserver({});
    CHECK(runs == 1);
    REQUIRE(logged.size() == 1);
    CHECK(logged[0].find("std::runtime_error") != std::string::npos);
    CHECK(logged[0].find("boom") != std::string::npos);
}

TEST_CASE("a negative or NaN delay, an empty function, or moving the clock backwards is refused") {
    twine::Clock clock;
    CHECK_THROWS_AS(clock.callLater(-1s, [] {}), std::invalid_argument);
    CHECK_THROWS_AS(clock.callLater(twine::Duration(std::nan("")), [] {}), std::invalid_argument);
    CHECK_THROWS_AS(clock.advance(-1s), std::invalid_argument);
    CHECK_THROWS_AS(clock.callLater(1s, std::function<void()>()), std::invalid_argument);
    CHECK(clock.getDelayedCalls().empty());
}

TEST_CASE("a call's captures are released once it has run or been cancelled") {
    twine::Clock clock;
    auto token = std::make_shared<int>(0);
    auto ran = clock.callLater(1s, [token] {});
    auto cancelled = clock.callLater(1s, [token] {});
    CHECK(token.use_count() == 3);
    cancelled.cancel();
    CHECK(token.use_count() == 2);
    clock.advance(1s);
    CHECK(token.use_count() == 1);
}

TEST_CASE("many calls interleaved with cancels still run in time order") {
    twine::Clock clock;
    std::vector<int> order;
    std::vector<twine::DelayedCall> calls;
    // A fixed pseudo-random pattern, so the heap sees inserts and removals everywhere.
    unsigned seed = 12345;
    for (int i = 0; i < 1000; ++i) {
        seed = seed * 1103515245u + 12345u;
        const int at = static_cast<int>((seed >> 8) % 500);
        calls.push_back(
            clock.callLater(std::chrono::milliseconds(at), [&order, at] { order.push_back(at); }));
    }
    for (std::size_t i = 0; i < calls.size(); i += 3) calls[i].cancel();
    clock.advance(1s);
    CHECK(order.size() == 1000 - 334);
    CHECK(std::is_sorted(order.begin(), order.end()));
}
