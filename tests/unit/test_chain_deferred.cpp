// Deferred::chainDeferred: one Deferred's result fires another, as Twisted's
// d1.chainDeferred(d2) == d1.addCallbacks(d2.callback, d2.errback).

#include "test_deferred_support.hpp"

#include <twine/core/deferred.hpp>
#include <twine/core/error.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <stdexcept>
#include <string>

using deferred_test::LogCapture;
using deferred_test::watch;
using twine::Deferred;

TEST_CASE("chainDeferred fires the other Deferred with this one's value") {
    Deferred<std::string> first;
    Deferred<std::string> second;
    auto outcome = watch(second);
    first.chainDeferred(second);
    CHECK_FALSE(outcome->fired());
    first.callback("hello");
    CHECK(outcome->value == "hello");
}

TEST_CASE("chainDeferred fires the other Deferred's errbacks with this one's failure") {
    Deferred<int> first;
    Deferred<int> second;
    auto outcome = watch(second);
    first.chainDeferred(second);
    first.errback(twine::ConnectionRefusedError());
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<twine::ConnectionRefusedError>());
}

TEST_CASE("after chainDeferred, this chain goes on with nothing, on success") {
    Deferred<int> first;
    Deferred<int> second;
    Deferred<void> rest = first.chainDeferred(second);
    auto outcome = watch(rest);
    first.callback(1);
    CHECK(outcome->succeeded());
}

TEST_CASE("after chainDeferred, a failure handed on is not this chain's any more") {
    LogCapture logs;
    {
        Deferred<int> first;
        Deferred<int> second;
        auto other = watch(second);
        auto rest = watch(first.chainDeferred(second));
        first.errback(std::runtime_error("handed on"));
        CHECK(other->failed());
        CHECK(rest->succeeded());
    }
    CHECK(logs.lines.empty());
}

TEST_CASE("chainDeferred hands on the result as the steps before it left it") {
    Deferred<int> first;
    Deferred<std::string> second;
    auto outcome = watch(second);
    first.addCallback([](int v) { return std::to_string(v * 2); }).chainDeferred(second);
    first.callback(21);
    CHECK(outcome->value == "42");
}

TEST_CASE("chainDeferred on a fired Deferred fires the other at once") {
    auto first = twine::succeed(3);
    Deferred<int> second;
    auto outcome = watch(second);
    first.chainDeferred(second);
    CHECK(outcome->value == 3);
}

TEST_CASE("chainDeferred of a Deferred<void> fires the other with nothing") {
    Deferred<void> first;
    Deferred<void> second;
    auto outcome = watch(second);
    first.chainDeferred(second);
    first.callback();
    CHECK(outcome->succeeded());
}

TEST_CASE("firing the other Deferred does not affect this one") {
    Deferred<int> first;
    Deferred<int> second;
    auto rest = watch(first.chainDeferred(second));
    auto other = watch(second);
    second.callback(9);
    CHECK(other->value == 9);
    CHECK_FALSE(first.called());
    CHECK_FALSE(rest->fired());
}

TEST_CASE("if the other Deferred already fired, this chain fails with AlreadyCalledError") {
    Deferred<int> first;
    Deferred<int> second;
    second.callback(1);
    auto rest = watch(first.chainDeferred(second));
    first.callback(2);
    REQUIRE(rest->failed());
    CHECK(rest->failure->check<twine::AlreadyCalledError>());
}

TEST_CASE("if the other Deferred was cancelled, its result is silently dropped") {
    Deferred<int> first;
    Deferred<int> second;
    auto other = watch(second);
    auto rest = watch(first.chainDeferred(second));
    second.cancel();
    first.callback(2);
    CHECK(other->calls == 1);
    CHECK(other->failure->check<twine::CancelledError>());
    CHECK(rest->succeeded());
}

TEST_CASE("chainDeferred to itself throws std::logic_error") {
    Deferred<int> d;
    CHECK_THROWS_AS(d.chainDeferred(d), std::logic_error);
}

TEST_CASE("chainDeferred to a handle whose chain starts with another type throws") {
    Deferred<std::string> source;
    Deferred<int> midway =
        source.addCallback([](std::string s) { return static_cast<int>(s.size()); });
    Deferred<int> first;
    CHECK_THROWS_AS(first.chainDeferred(midway), std::logic_error);
}

TEST_CASE("a series of chainDeferred carries the result to the end") {
    Deferred<int> a;
    Deferred<int> b;
    Deferred<int> c;
    auto outcome = watch(c);
    a.chainDeferred(b);
    b.chainDeferred(c);
    a.callback(11);
    CHECK(outcome->value == 11);
}
