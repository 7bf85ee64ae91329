// cancel() with and without a canceller, addTimeout and deferLater on a Clock
// (after test_defer.py's DeferredCancellerTests and DeferredAddTimeoutTests).

#include "test_deferred_support.hpp"

#include <twine/core/clock.hpp>
#include <twine/core/deferred.hpp>
#include <twine/core/deferred_time.hpp>
#include <twine/core/error.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;
using deferred_test::LogCapture;
using deferred_test::watch;
using twine::AlreadyCalledError;
using twine::CancelledError;
using twine::Clock;
using twine::Deferred;
using twine::Failure;

// Cancellation without a canceller.

TEST_CASE("cancel without a canceller fails the chain with CancelledError") {
    Deferred<int> d;
    auto outcome = watch(d);
    d.cancel();
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<CancelledError>());
}

TEST_CASE("after cancel without a canceller, the first fire is silently ignored") {
    Deferred<int> d;
    auto outcome = watch(d);
    d.cancel();
    CHECK_NOTHROW(d.callback(1));
    CHECK(outcome->calls == 1);
    CHECK(outcome->failed());
}

TEST_CASE("after cancel and an ignored callback, a second callback throws AlreadyCalledError") {
    Deferred<int> d;
    watch(d);
    d.cancel();
    d.callback(1);
    CHECK_THROWS_AS(d.callback(2), AlreadyCalledError);
    CHECK_THROWS_AS(d.errback(std::runtime_error("x")), AlreadyCalledError);
}

TEST_CASE("after cancel and an ignored errback, a second errback throws AlreadyCalledError") {
    Deferred<int> d;
    watch(d);
    d.cancel();
    d.errback(std::runtime_error("ignored"));
    CHECK_THROWS_AS(d.errback(std::runtime_error("x")), AlreadyCalledError);
    CHECK_THROWS_AS(d.callback(1), AlreadyCalledError);
}

TEST_CASE("cancelling twice is harmless") {
    Deferred<int> d;
    auto outcome = watch(d);
    d.cancel();
    d.cancel();
    d.callback(1);
    d.cancel();
    CHECK(outcome->calls == 1);
}

// Cancellation with a canceller.

TEST_CASE("cancel calls the canceller with the Deferred itself, once") {
    int calls = 0;
    Deferred<int> d([&](Deferred<int>& self) {
        ++calls;
        CHECK_FALSE(self.called());
    });
    auto outcome = watch(d);
    d.cancel();
    d.cancel();
    CHECK(calls == 1);
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<CancelledError>());
}

TEST_CASE("with a canceller, a fire after cancel throws AlreadyCalledError") {
    Deferred<int> d([](Deferred<int>&) {});
    watch(d);
    d.cancel();
    CHECK_THROWS_AS(d.callback(1), AlreadyCalledError);
}

TEST_CASE("a canceller that fires with a value gives that value, not CancelledError") {
    Deferred<int> d([](Deferred<int>& self) { self.callback(99); });
    auto outcome = watch(d);
    d.cancel();
    CHECK(outcome->value == 99);
}

TEST_CASE("a canceller that fails with its own error gives that error") {
    Deferred<int> d([](Deferred<int>& self) { self.errback(twine::ConnectionAborted()); });
    auto outcome = watch(d);
    d.cancel();
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<twine::ConnectionAborted>());
}

TEST_CASE("cancel on a fired Deferred is a no-op and does not call the canceller") {
    int calls = 0;
    Deferred<int> d([&](Deferred<int>&) { ++calls; });
    auto outcome = watch(d);
    d.callback(1);
    d.cancel();
    CHECK(calls == 0);
    CHECK(outcome->value == 1);
}

TEST_CASE("cancel on a failed Deferred is a no-op") {
    Deferred<int> d;
    auto outcome = watch(d);
    d.errback(twine::TimeoutError());
    d.cancel();
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<twine::TimeoutError>());
}

TEST_CASE("cancel on a chain waiting on a returned Deferred cancels that one") {
    int innerCancels = 0;
    Deferred<int> inner([&](Deferred<int>&) { ++innerCancels; });
    Deferred<int> outer;
    outer.addCallback([&](int) { return inner; });
    auto outcome = watch(outer);
    outer.callback(1);
    outer.cancel();
    CHECK(innerCancels == 1);
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<CancelledError>());
}

TEST_CASE("a canceller whose handle outlives the chain does not keep it alive") {
    // The canceller is dropped once the Deferred fires, so what it captured
    // (here a handle to the Deferred itself) does not form a cycle.
    LogCapture logs;
    {
        auto holder = std::make_shared<Deferred<int>>();
        Deferred<int> d([holder](Deferred<int>&) {});
        *holder = d;
        d.errback(std::runtime_error("dropped with its canceller"));
    }
    CHECK(logs.count("dropped with its canceller") == 1);
}

// addTimeout.

TEST_CASE("addTimeout: a result before the timeout passes through and the timer is gone") {
    Clock clock;
    Deferred<int> d;
    auto outcome = watch(d.addTimeout(10s, clock));
    clock.advance(5s);
    d.callback(3);
    CHECK(outcome->value == 3);
    CHECK(clock.getDelayedCalls().empty());
}

TEST_CASE("addTimeout: a failure before the timeout passes through untouched") {
    Clock clock;
    Deferred<int> d;
    auto outcome = watch(d.addTimeout(10s, clock));
    d.errback(twine::ConnectionRefusedError());
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<twine::ConnectionRefusedError>());
    CHECK(clock.getDelayedCalls().empty());
}

TEST_CASE("addTimeout: the timeout passing fails the chain with TimeoutError") {
    Clock clock;
    Deferred<int> d;
    auto outcome = watch(d.addTimeout(10s, clock));
    clock.advance(9s);
    CHECK_FALSE(outcome->fired());
    clock.advance(1s);
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<twine::TimeoutError>());
    CHECK(outcome->failure->what().find("10") != std::string::npos);
}

TEST_CASE("addTimeout: a canceller that does not fire still gives TimeoutError") {
    Clock clock;
    int cancels = 0;
    Deferred<int> d([&](Deferred<int>&) { ++cancels; });
    auto outcome = watch(d.addTimeout(1s, clock));
    clock.advance(1s);
    CHECK(cancels == 1);
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<twine::TimeoutError>());
}

TEST_CASE("addTimeout: a canceller that fires with a value gives that value") {
    Clock clock;
    Deferred<int> d([](Deferred<int>& self) { self.callback(5); });
    auto outcome = watch(d.addTimeout(1s, clock));
    clock.advance(1s);
    CHECK(outcome->value == 5);
}

TEST_CASE("addTimeout: a canceller that fails with its own error gives that error") {
    Clock clock;
    Deferred<int> d([](Deferred<int>& self) { self.errback(twine::ConnectionAborted()); });
    auto outcome = watch(d.addTimeout(1s, clock));
    clock.advance(1s);
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<twine::ConnectionAborted>());
}

TEST_CASE("addTimeout: cancelling by hand before the timeout stays CancelledError") {
    Clock clock;
    Deferred<int> d;
    auto outcome = watch(d.addTimeout(10s, clock));
    d.cancel();
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<CancelledError>());
    CHECK(clock.getDelayedCalls().empty());
}

TEST_CASE("addTimeout: an errback added before it sees CancelledError and may recover") {
    Clock clock;
    Deferred<int> d;
    d.addErrback([](const Failure& f) {
        f.trap<CancelledError>();
        return -1;
    });
    auto outcome = watch(d.addTimeout(1s, clock));
    clock.advance(1s);
    CHECK(outcome->value == -1);
}

TEST_CASE("addTimeout: the timer is the only thing keeping a dropped Deferred, and it fires") {
    Clock clock;
    auto outcome = [&] {
        Deferred<int> d;
        return watch(d.addTimeout(1s, clock));
    }();
    clock.advance(1s);
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<twine::TimeoutError>());
}

// deferLater.

TEST_CASE("deferLater fires with the function's result after the delay") {
    Clock clock;
    int calls = 0;
    auto outcome = watch(twine::deferLater(clock, 2s, [&] {
        ++calls;
        return std::string("done");
    }));
    clock.advance(1s);
    CHECK(calls == 0);
    CHECK_FALSE(outcome->fired());
    clock.advance(1s);
    CHECK(calls == 1);
    CHECK(outcome->value == "done");
}

TEST_CASE("deferLater with a function returning nothing gives a Deferred<void>") {
    Clock clock;
    Deferred<void> d = twine::deferLater(clock, 1s, [] {});
    auto outcome = watch(d);
    clock.advance(1s);
    CHECK(outcome->succeeded());
}

TEST_CASE("deferLater fails with what the function throws") {
    Clock clock;
    auto outcome =
        watch(twine::deferLater(clock, 1s, []() -> int { throw std::runtime_error("late"); }));
    clock.advance(1s);
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->what() == "late");
}

TEST_CASE("deferLater cancelled before the delay never calls the function") {
    Clock clock;
    int calls = 0;
    auto d = twine::deferLater(clock, 1s, [&] { ++calls; });
    auto outcome = watch(d);
    d.cancel();
    CHECK(clock.getDelayedCalls().empty());
    clock.advance(2s);
    CHECK(calls == 0);
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<CancelledError>());
}

TEST_CASE("deferLater with a function returning a Deferred waits for it") {
    Clock clock;
    Deferred<int> inner;
    auto outcome = watch(twine::deferLater(clock, 1s, [&] { return inner; }));
    clock.advance(1s);
    CHECK_FALSE(outcome->fired());
    inner.callback(12);
    CHECK(outcome->value == 12);
}

TEST_CASE("a Clock destroyed with a deferLater pending frees everything") {
    int calls = 0;
    {
        Clock clock;
        twine::deferLater(clock, 1s, [&] { ++calls; });
    }
    CHECK(calls == 0);  // and nothing leaks (checked under ASan)
}
