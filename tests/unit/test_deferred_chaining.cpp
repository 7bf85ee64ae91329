// A callback returning a Deferred: the chain waits for it, synchronously or
// not, nested, with failures, and at any depth without growing the stack
// (after test_defer.py's implicit-chain and stack-depth tests).

#include "test_deferred_support.hpp"

#include <twine/core/deferred.hpp>
#include <twine/core/error.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

using deferred_test::LogCapture;
using deferred_test::watch;
using twine::Deferred;
using twine::Failure;

namespace {

constexpr std::size_t deep = 100000;

}  // namespace

TEST_CASE("a callback returning a fired Deferred goes on with its result at once") {
    Deferred<int> outer;
    auto outcome =
        watch(outer.addCallback([](int v) { return twine::succeed(std::to_string(v)); }));
    outer.callback(7);
    CHECK(outcome->value == "7");
}

TEST_CASE("a callback returning an unfired Deferred waits for it") {
    Deferred<int> outer;
    Deferred<std::string> inner;
    auto outcome = watch(outer.addCallback([&](int) { return inner; }));
    outer.callback(1);
    CHECK_FALSE(outcome->fired());
    CHECK_FALSE(outer.hasResult());
    CHECK(outer.called());
    inner.callback("later");
    CHECK(outcome->value == "later");
}

TEST_CASE("a returned Deferred's own callbacks run before its result moves on") {
    Deferred<int> outer;
    Deferred<int> inner;
    inner.addCallback([](int v) { return v * 10; });
    auto outcome = watch(outer.addCallback([&](int) { return inner; }));
    outer.callback(0);
    inner.callback(4);
    CHECK(outcome->value == 40);
}

TEST_CASE("a returned Deferred that failed sends the outer chain to its errbacks") {
    LogCapture logs;
    {
        Deferred<int> outer;
        outer.addCallback([](int) { return twine::fail<int>(twine::ConnectionLost("gone")); });
        auto outcome = watch(outer);
        outer.callback(1);
        REQUIRE(outcome->failed());
        CHECK(outcome->failure->check<twine::ConnectionLost>());
    }
    CHECK(logs.lines.empty());  // the inner failure was handed on, not left unhandled
}

TEST_CASE("a returned Deferred that fails later sends the outer chain to its errbacks") {
    Deferred<int> outer;
    Deferred<int> inner;
    outer.addCallback([&](int) { return inner; });
    auto outcome = watch(outer);
    outer.callback(1);
    inner.errback(twine::TimeoutError());
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<twine::TimeoutError>());
}

TEST_CASE("an errback may return a Deferred to recover later") {
    Deferred<int> outer;
    Deferred<int> retry;
    outer.addErrback([&](const Failure&) { return retry; });
    auto outcome = watch(outer);
    outer.errback(std::runtime_error("first try"));
    CHECK_FALSE(outcome->fired());
    retry.callback(2);
    CHECK(outcome->value == 2);
}

TEST_CASE("nested chains: a Deferred waiting on one waiting on another") {
    Deferred<int> first;
    Deferred<int> second;
    Deferred<int> third;
    second.addCallback([&](int) { return third; });
    first.addCallback([&](int) { return second; });
    auto outcome = watch(first);
    first.callback(1);
    second.callback(2);
    CHECK_FALSE(outcome->fired());
    third.callback(3);
    CHECK(outcome->value == 3);
}

TEST_CASE("a paused Deferred returned by a callback makes the chain wait until unpaused") {
    Deferred<int> inner;
    inner.pause();
    inner.callback(5);
    Deferred<int> outer;
    auto outcome = watch(outer.addCallback([&](int) { return inner; }));
    outer.callback(0);
    CHECK_FALSE(outcome->fired());
    inner.unpause();
    CHECK(outcome->value == 5);
}

TEST_CASE("pausing a chain that waits on another holds the result until unpaused") {
    Deferred<int> inner;
    Deferred<int> outer;
    auto outcome = watch(outer.addCallback([&](int) { return inner; }));
    outer.callback(0);
    outer.pause();
    inner.callback(6);
    CHECK_FALSE(outcome->fired());
    outer.unpause();
    CHECK(outcome->value == 6);
}

TEST_CASE("after handing on its result, a returned Deferred carries nothing") {
    Deferred<int> inner;
    Deferred<int> outer;
    outer.addCallback([&](int) { return inner; });
    auto outcome = watch(outer);
    outer.callback(0);
    inner.callback(8);
    CHECK(outcome->value == 8);
    CHECK(inner.hasResult());
    CHECK_THROWS_AS(inner.addCallback([](int) {}), std::logic_error);
}

TEST_CASE("a callback returning the Deferred it belongs to fails with a clear error") {
    Deferred<int> d;
    d.addCallback([&](int) { return d; });
    auto outcome = watch(d);
    d.callback(1);
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<std::logic_error>());
}

TEST_CASE("a callback returning a moved-from Deferred fails with a clear error") {
    Deferred<int> d;
    d.addCallback([](int) {
        Deferred<int> gone;
        Deferred<int> taken = std::move(gone);
        return gone;  // NOLINT: deliberately moved from
    });
    auto outcome = watch(d);
    d.callback(1);
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<std::logic_error>());
}

TEST_CASE("callbacks fired from inside a callback keep their order") {
    Deferred<int> a;
    Deferred<int> b;
    std::vector<std::string> order;
    a.addCallback([&](int v) {
        b.callback(v);
        order.push_back("a1");
        return v;
    });
    a.addCallback([&](int v) {
        order.push_back("a2");
        return v;
    });
    b.addCallback([&](int v) {
        order.push_back("b1");
        return v;
    });
    a.callback(0);
    CHECK(order == std::vector<std::string>{"b1", "a1", "a2"});
}

TEST_CASE("100,000 chained Deferreds fired later run without growing the stack") {
    std::vector<Deferred<int>> ds(deep + 1);
    std::vector<void*> frames;
    for (std::size_t i = 0; i < deep; ++i) {
        ds[i].addCallback([next = ds[i + 1]](int) { return next; });
    }
    ds[deep].addCallback([&](int v) {
        frames.push_back(__builtin_frame_address(0));
        return v;
    });
    auto outcome = watch(ds[0]);
    for (std::size_t i = 0; i < deep; ++i) ds[i].callback(static_cast<int>(i));
    CHECK_FALSE(outcome->fired());
    ds[deep].callback(-1);
    CHECK(outcome->value == -1);
}

TEST_CASE("100,000 chained Deferreds fired innermost first are taken at once") {
    std::vector<Deferred<int>> ds(deep + 1);
    for (std::size_t i = 0; i < deep; ++i) {
        ds[i].addCallback([next = ds[i + 1]](int) { return next; });
    }
    for (std::size_t i = deep + 1; i-- > 0;) ds[i].callback(static_cast<int>(i));
    auto outcome = watch(ds[0]);
    CHECK(outcome->value == static_cast<int>(deep));
}

TEST_CASE("100,000 chained Deferreds fired outermost last (all waiting) unwind iteratively") {
    std::vector<Deferred<int>> ds(deep + 1);
    for (std::size_t i = 0; i < deep; ++i) {
        ds[i].addCallback([next = ds[i + 1]](int) { return next; });
    }
    auto outcome = watch(ds[0]);
    for (std::size_t i = deep; i-- > 0;) ds[i].callback(0);
    ds[deep].callback(99);
    CHECK(outcome->value == 99);
}

TEST_CASE("a chain's depth does not change the stack its last callback runs on") {
    auto frameAtDepth = [](std::size_t depth) {
        std::vector<Deferred<int>> ds(depth + 1);
        void* frame = nullptr;
        for (std::size_t i = 0; i < depth; ++i) {
            ds[i].addCallback([next = ds[i + 1]](int) { return next; });
        }
        ds[0].addCallback([&](int v) {
            frame = __builtin_frame_address(0);
            return v;
        });
        for (std::size_t i = 0; i < depth; ++i) ds[i].callback(0);
        ds[depth].callback(1);
        return frame;
    };
    CHECK(frameAtDepth(1) == frameAtDepth(1000));
}

TEST_CASE("dropping 100,000 chained Deferreds that never fire frees them without recursion") {
    std::vector<Deferred<int>> ds(deep + 1);
    for (std::size_t i = 0; i < deep; ++i) {
        ds[i].addCallback([next = ds[i + 1]](int) { return next; });
    }
    for (std::size_t i = 0; i < deep; ++i) ds[i].callback(0);
    ds.clear();  // each waits on the next; dropping them all must not overflow the stack
    CHECK(ds.empty());
}

TEST_CASE("a 100,000-callback chain on one Deferred runs in order") {
    Deferred<int> d;
    for (std::size_t i = 0; i < deep; ++i) d.addCallback([](int v) { return v + 1; });
    auto outcome = watch(d);
    d.callback(0);
    CHECK(outcome->value == static_cast<int>(deep));
}
