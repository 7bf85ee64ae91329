#include <twine/core/clock.hpp>
#include <twine/core/error.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>

using namespace std::chrono_literals;

TEST_CASE("cancelling a call that already ran throws AlreadyCalled") {
    twine::Clock clock;
    auto call = clock.callLater(1s, [] {});
    clock.advance(1s);
    CHECK_THROWS_AS(call.cancel(), twine::AlreadyCalled);
}

TEST_CASE("cancelling a call twice throws AlreadyCancelled") {
    twine::Clock clock;
    auto call = clock.callLater(1s, [] {});
    call.cancel();
    CHECK_THROWS_AS(call.cancel(), twine::AlreadyCancelled);
}

TEST_CASE("reset and delay of a call that is no longer pending say how it ended") {
    twine::Clock clock;
    auto ran = clock.callLater(1s, [] {});
    auto cancelled = clock.callLater(1s, [] {});
    cancelled.cancel();
    clock.advance(1s);
    CHECK_THROWS_AS(ran.reset(1s), twine::AlreadyCalled);
    CHECK_THROWS_AS(ran.delay(1s), twine::AlreadyCalled);
    CHECK_THROWS_AS(cancelled.reset(1s), twine::AlreadyCancelled);
    CHECK_THROWS_AS(cancelled.delay(1s), twine::AlreadyCancelled);
}

TEST_CASE("a call is not active while it runs, so it cannot cancel itself") {
    twine::Clock clock;
    twine::DelayedCall self;
    bool activeInside = true;
    bool threw = false;
    self = clock.callLater(1s, [&] {
        activeInside = self.active();
        try {
            self.cancel();
        } catch (const twine::AlreadyCalled&) {
            threw = true;
        }
    });
    clock.advance(1s);
    CHECK_FALSE(activeInside);
    CHECK(threw);
}

TEST_CASE("copies of a DelayedCall refer to the same call") {
    twine::Clock clock;
    int runs = 0;
    auto call = clock.callLater(1s, [&] { ++runs; });
    twine::DelayedCall copy = call;
    copy.cancel();
    CHECK_FALSE(call.active());
    CHECK_THROWS_AS(call.cancel(), twine::AlreadyCancelled);
    clock.advance(1s);
    CHECK(runs == 0);
}

TEST_CASE("dropping every DelayedCall handle does not cancel the call") {
    twine::Clock clock;
    int runs = 0;
    clock.callLater(1s, [&] { ++runs; });
    clock.advance(1s);
    CHECK(runs == 1);
}

TEST_CASE("an empty DelayedCall is inactive and refuses cancel with a clear error") {
    twine::DelayedCall empty;
    CHECK_FALSE(empty.active());
    CHECK(empty.getTime() == 0.0);
    CHECK_THROWS_AS(empty.cancel(), std::logic_error);
    CHECK_THROWS_AS(empty.reset(1s), std::logic_error);
}

TEST_CASE("a call outliving its Clock reads as cancelled") {
    twine::DelayedCall call;
    {
        twine::Clock clock;
        call = clock.callLater(1s, [] {});
    }
    CHECK_FALSE(call.active());
    CHECK_THROWS_AS(call.cancel(), twine::AlreadyCancelled);
}

TEST_CASE("getTime reflects reset and delay") {
    twine::Clock clock;
    clock.advance(10s);
    auto call = clock.callLater(1s, [] {});
    CHECK(call.getTime() == doctest::Approx(11.0));
    call.reset(3s);
    CHECK(call.getTime() == doctest::Approx(13.0));
    call.delay(2s);
    CHECK(call.getTime() == doctest::Approx(15.0));
}
