// The basic chain: order, typing, error switching, firing twice, pause, the
// helpers, and unhandled-error logging (after twisted/test/test_defer.py).

#include "test_deferred_support.hpp"

#include <twine/core/deferred.hpp>
#include <twine/core/error.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using deferred_test::LogCapture;
using deferred_test::watch;
using twine::AlreadyCalledError;
using twine::Deferred;
using twine::Failure;

TEST_CASE("callbacks run in the order they were added, each on the previous result") {
    Deferred<int> d;
    std::vector<std::string> seen;
    d.addCallback([&](int v) {
         seen.push_back("first " + std::to_string(v));
         return v * 2;
     }).addCallback([&](int v) { seen.push_back("second " + std::to_string(v)); });
    CHECK(seen.empty());
    d.callback(21);
    CHECK(seen == std::vector<std::string>{"first 21", "second 42"});
}

TEST_CASE("a callback added to a fired Deferred runs at once") {
    auto d = twine::succeed(std::string("ready"));
    std::string got;
    d.addCallback([&](const std::string& s) { got = s; });
    CHECK(got == "ready");
}

TEST_CASE("addCallback returns a handle typed for the callback's result") {
    Deferred<int> d;
    Deferred<std::string> s = d.addCallback([](int v) { return std::to_string(v); });
    Deferred<std::size_t> n = s.addCallback([](const std::string& text) { return text.size(); });
    auto outcome = watch(n);
    d.callback(12345);
    CHECK(outcome->value == 5u);
}

TEST_CASE("a callback returning the same type keeps the original handle usable") {
    Deferred<int> d;
    d.addCallback([](int v) { return v + 1; });
    d.addCallback([](int v) { return v * 10; });
    auto outcome = watch(d);
    d.callback(1);
    CHECK(outcome->value == 20);
}

TEST_CASE("a handle whose chain changed type refuses new steps with a clear error") {
    Deferred<int> d;
    d.addCallback([](int v) { return std::to_string(v); });
    CHECK_THROWS_AS(d.addCallback([](int) {}), std::logic_error);
    Deferred<int> moved = std::move(d);
    CHECK_THROWS_AS(d.addCallback([](int) {}), std::logic_error);  // NOLINT: moved from
}

TEST_CASE("a Deferred<void> carries no value and its callbacks take no argument") {
    Deferred<void> d;
    int calls = 0;
    d.addCallback([&] { ++calls; });
    d.callback();
    CHECK(calls == 1);
    CHECK(d.hasResult());
}

TEST_CASE("a move-only value travels down the chain") {
    Deferred<std::unique_ptr<int>> d;
    auto outcome = watch(d.addCallback([](std::unique_ptr<int> p) { return *p + 1; }));
    d.callback(std::make_unique<int>(41));
    CHECK(outcome->value == 42);
}

TEST_CASE("a large value is carried intact") {
    struct Big {
        char bytes[512];
    };
    Deferred<Big> d;
    Big big{};
    big.bytes[511] = 'x';
    auto outcome = watch(d);
    d.callback(big);
    REQUIRE(outcome->succeeded());
    CHECK(outcome->value->bytes[511] == 'x');
}

TEST_CASE("errback skips callbacks until an errback") {
    Deferred<int> d;
    bool callbackRan = false;
    std::string error;
    d.addCallback([&](int v) {
        callbackRan = true;
        return v;
    });
    d.addErrback([&](const Failure& f) {
        error = f.what();
        return 0;
    });
    d.errback(std::runtime_error("boom"));
    CHECK_FALSE(callbackRan);
    CHECK(error == "boom");
}

TEST_CASE("an errback that returns a value moves the chain back to callbacks") {
    Deferred<int> d;
    d.addErrback([](const Failure&) { return 7; });
    auto outcome = watch(d);
    d.errback(std::runtime_error("boom"));
    CHECK(outcome->value == 7);
}

TEST_CASE("a callback that throws moves the chain to the NEXT stage's errback") {
    Deferred<int> d;
    bool ownErrbackRan = false;
    d.addCallbacks([](int) -> int { throw std::runtime_error("in callback"); },
                   [&](const Failure&) {
                       ownErrbackRan = true;
                       return 0;
                   });
    auto outcome = watch(d);
    d.callback(1);
    CHECK_FALSE(ownErrbackRan);
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->what() == "in callback");
    CHECK(outcome->failure->check<std::runtime_error>());
}

TEST_CASE("a callback returning a Failure fails the chain") {
    Deferred<int> d;
    d.addCallback([](int) { return Failure(twine::ConnectionLost()); });
    auto outcome = watch(d);
    d.callback(1);
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<twine::ConnectionLost>());
}

TEST_CASE("an errback that traps another type leaves the chain failed") {
    Deferred<int> d;
    d.addErrback([](const Failure& f) {
        f.trap<twine::TimeoutError>();
        return 1;
    });
    auto outcome = watch(d);
    d.errback(twine::ConnectionRefusedError());
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<twine::ConnectionRefusedError>());
}

TEST_CASE("an errback that traps its type recovers") {
    Deferred<int> d;
    d.addErrback([](const Failure& f) {
        f.trap<twine::ConnectError>();
        return 1;
    });
    auto outcome = watch(d);
    d.errback(twine::ConnectionRefusedError());
    CHECK(outcome->value == 1);
}

TEST_CASE("an errback returning void on a Deferred<void> recovers") {
    Deferred<void> d;
    d.addErrback([](const Failure&) {});
    auto outcome = watch(d);
    d.errback(std::runtime_error("x"));
    CHECK(outcome->succeeded());
}

TEST_CASE("an errback returning void on a Deferred<int> ends the value on both paths") {
    Deferred<int> ok;
    Deferred<void> a = ok.addErrback([](const Failure&) {});
    auto okOutcome = watch(a);
    ok.callback(3);
    CHECK(okOutcome->succeeded());

    Deferred<int> bad;
    auto badOutcome = watch(bad.addErrback([](const Failure&) {}));
    bad.errback(std::runtime_error("x"));
    CHECK(badOutcome->succeeded());
}

TEST_CASE("errback() inside a catch block captures the exception being handled") {
    Deferred<int> d;
    auto outcome = watch(d);
    try {
        throw twine::DNSLookupError("no such host");
    } catch (...) {
        d.errback();
    }
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<twine::DNSLookupError>());
    CHECK(outcome->failure->what() == "no such host");
}

TEST_CASE("addBoth sees the value or the failure") {
    struct Both {
        std::string* seen;
        int operator()(int v) const {
            *seen += "value ";
            return v;
        }
        int operator()(const Failure&) const {
            *seen += "failure ";
            return -1;
        }
    };
    std::string seen;
    Deferred<int> good;
    auto goodOutcome = watch(good.addBoth(Both{&seen}));
    good.callback(5);
    Deferred<int> bad;
    auto badOutcome = watch(bad.addBoth(Both{&seen}));
    bad.errback(std::runtime_error("x"));
    CHECK(seen == "value failure ");
    CHECK(goodOutcome->value == 5);
    CHECK(badOutcome->value == -1);
}

TEST_CASE("addBoth with a function of no argument runs on either path, as cleanup") {
    int cleanups = 0;
    Deferred<int> d;
    auto outcome = watch(d.addBoth([&] { ++cleanups; }));
    d.errback(std::runtime_error("x"));
    CHECK(cleanups == 1);
    CHECK(outcome->succeeded());
}

TEST_CASE("a callback added while the chain runs runs after the current one returns") {
    Deferred<int> d;
    std::vector<std::string> order;
    d.addCallback([&](int v) {
        d.addCallback([&](int w) {
            order.push_back("added");
            return w;
        });
        order.push_back("first");
        return v;
    });
    d.addCallback([&](int v) {
        order.push_back("second");
        return v;
    });
    d.callback(0);
    CHECK(order == std::vector<std::string>{"first", "second", "added"});
}

TEST_CASE("callback twice throws AlreadyCalledError") {
    Deferred<int> d;
    d.callback(1);
    CHECK_THROWS_AS(d.callback(2), AlreadyCalledError);
}

TEST_CASE("errback after callback throws AlreadyCalledError") {
    Deferred<int> d;
    d.callback(1);
    CHECK_THROWS_AS(d.errback(std::runtime_error("x")), AlreadyCalledError);
}

TEST_CASE("callback after errback throws AlreadyCalledError") {
    Deferred<int> d;
    d.addErrback([](const Failure&) { return 0; });
    d.errback(std::runtime_error("x"));
    CHECK_THROWS_AS(d.callback(1), AlreadyCalledError);
}

TEST_CASE("errback twice throws AlreadyCalledError") {
    Deferred<int> d;
    d.addErrback([](const Failure&) { return 0; });
    d.errback(std::runtime_error("x"));
    CHECK_THROWS_AS(d.errback(std::runtime_error("y")), AlreadyCalledError);
}

TEST_CASE("callback on a handle of another type than the chain's start is refused") {
    Deferred<int> d;
    Deferred<std::string> s = d.addCallback([](int v) { return std::to_string(v); });
    CHECK_THROWS_AS(s.callback("no"), std::logic_error);
    d.callback(1);
}

TEST_CASE("a paused Deferred holds its result until unpaused") {
    Deferred<int> d;
    auto outcome = watch(d);
    d.pause();
    d.callback(3);
    CHECK_FALSE(outcome->fired());
    CHECK_FALSE(d.hasResult());
    d.unpause();
    CHECK(outcome->value == 3);
}

TEST_CASE("pausing twice needs two unpauses") {
    Deferred<int> d;
    d.pause();
    d.pause();
    auto outcome = watch(d);
    d.callback(1);
    d.unpause();
    CHECK_FALSE(outcome->fired());
    d.unpause();
    CHECK(outcome->fired());
}

TEST_CASE("unpause without pause is a clear error") {
    Deferred<int> d;
    CHECK_THROWS_AS(d.unpause(), std::logic_error);
}

TEST_CASE("unpausing before the result arrives runs callbacks when it does") {
    Deferred<int> d;
    d.pause();
    d.unpause();
    auto outcome = watch(d);
    d.callback(4);
    CHECK(outcome->value == 4);
}

TEST_CASE("called and hasResult report the chain's state") {
    Deferred<int> d;
    CHECK_FALSE(d.called());
    CHECK_FALSE(d.hasResult());
    d.callback(1);
    CHECK(d.called());
    CHECK(d.hasResult());
    CHECK_FALSE(d.failed());
}

TEST_CASE("copies of a Deferred share one chain") {
    Deferred<int> d;
    Deferred<int> copy = d;
    CHECK(copy == d);
    auto outcome = watch(copy);
    d.callback(9);
    CHECK(outcome->value == 9);
    CHECK(copy.called());
}

TEST_CASE("dropping every handle neither cancels nor stops a pending chain") {
    int ran = 0;
    Deferred<int> keep;
    {
        Deferred<int> d = keep;
        d.addCallback([&](int v) {
            ++ran;
            return v;
        });
    }
    keep.callback(1);
    CHECK(ran == 1);
}

TEST_CASE("succeed and fail make fired Deferreds") {
    auto good = watch(twine::succeed(5));
    CHECK(good->value == 5);
    auto none = watch(twine::succeed());
    CHECK(none->succeeded());
    auto bad = watch(twine::fail<int>(twine::TimeoutError()));
    REQUIRE(bad->failed());
    CHECK(bad->failure->check<twine::TimeoutError>());
}

TEST_CASE("maybeDeferred turns a value, an exception, or a Deferred into a Deferred") {
    auto value = watch(twine::maybeDeferred([] { return 10; }));
    CHECK(value->value == 10);

    auto thrown = watch(twine::maybeDeferred([]() -> int { throw std::runtime_error("no"); }));
    REQUIRE(thrown->failed());
    CHECK(thrown->failure->what() == "no");

    Deferred<std::string> later;
    auto deferred = watch(twine::maybeDeferred([&] { return later; }));
    CHECK_FALSE(deferred->fired());
    later.callback("done");
    CHECK(deferred->value == "done");

    int calls = 0;
    auto nothing = watch(twine::maybeDeferred([&] { ++calls; }));
    CHECK(nothing->succeeded());
    CHECK(calls == 1);
}

TEST_CASE("a chain that ends in failure is logged when the last handle goes") {
    LogCapture logs;
    {
        Deferred<int> d;
        d.errback(twine::ConnectionLost("peer vanished"));
        CHECK(logs.count("Unhandled error in Deferred") == 0);
    }
    REQUIRE(logs.count("Unhandled error in Deferred") == 1);
    CHECK(logs.count("peer vanished") == 1);
}

TEST_CASE("a handled failure is not logged") {
    LogCapture logs;
    {
        Deferred<int> d;
        d.addErrback([](const Failure&) { return 0; });
        d.errback(std::runtime_error("handled"));
    }
    CHECK(logs.lines.empty());
}

TEST_CASE("an unfired Deferred is not logged") {
    LogCapture logs;
    { Deferred<int> d; }
    CHECK(logs.lines.empty());
}

TEST_CASE("a failure left by a callback is logged once the chain is gone") {
    LogCapture logs;
    {
        Deferred<void> d;
        d.addCallback([] { throw std::runtime_error("late failure"); });
        d.callback();
    }
    CHECK(logs.count("late failure") == 1);
}
