// DeferredLock: acquire, release in order, run, cancellation (after
// test_defer.py's OtherPrimitivesTests.testLock and the cancel tests).

#include "test_deferred_support.hpp"

#include <twine/core/deferred.hpp>
#include <twine/core/deferred_lock.hpp>
#include <twine/core/error.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using deferred_test::watch;
using twine::CancelledError;
using twine::Deferred;
using twine::DeferredLock;

TEST_CASE("a new lock is not locked") {
    DeferredLock lock;
    CHECK_FALSE(lock.locked());
}

TEST_CASE("acquiring a free lock fires at once and locks it") {
    DeferredLock lock;
    auto outcome = watch(lock.acquire());
    CHECK(outcome->succeeded());
    CHECK(lock.locked());
}

TEST_CASE("acquiring a held lock waits until it is released") {
    DeferredLock lock;
    lock.acquire();
    auto second = watch(lock.acquire());
    CHECK_FALSE(second->fired());
    lock.release();
    CHECK(second->succeeded());
    CHECK(lock.locked());
}

TEST_CASE("release hands the lock to the waiters in the order they asked") {
    DeferredLock lock;
    std::vector<int> order;
    lock.acquire();
    for (int i = 1; i <= 3; ++i) lock.acquire().addCallback([&order, i] { order.push_back(i); });
    CHECK(order.empty());
    lock.release();
    CHECK(order == std::vector<int>{1});
    lock.release();
    lock.release();
    CHECK(order == std::vector<int>{1, 2, 3});
    CHECK(lock.locked());
}

TEST_CASE("release with nobody waiting unlocks the lock") {
    DeferredLock lock;
    lock.acquire();
    lock.release();
    CHECK_FALSE(lock.locked());
    CHECK(watch(lock.acquire())->succeeded());
}

TEST_CASE("releasing an unlocked lock throws std::logic_error") {
    DeferredLock lock;
    CHECK_THROWS_AS(lock.release(), std::logic_error);
    lock.acquire();
    lock.release();
    CHECK_THROWS_AS(lock.release(), std::logic_error);
}

TEST_CASE("a waiter that re-acquires from its callback queues behind the others") {
    DeferredLock lock;
    std::vector<std::string> order;
    lock.acquire();
    lock.acquire().addCallback([&] {
        order.push_back("first");
        lock.acquire().addCallback([&] { order.push_back("first again"); });
    });
    lock.acquire().addCallback([&] { order.push_back("second"); });
    lock.release();
    lock.release();
    lock.release();
    CHECK(order == std::vector<std::string>{"first", "second", "first again"});
}

TEST_CASE("a coroutine can co_await the lock") {
    DeferredLock lock;
    std::vector<std::string> order;
    auto task = [&](std::string name) -> Deferred<void> {
        co_await lock.acquire();
        order.push_back(name);
    };
    lock.acquire();
    task("a");
    task("b");
    CHECK(order.empty());
    lock.release();
    CHECK(order == std::vector<std::string>{"a"});
    lock.release();
    CHECK(order == std::vector<std::string>{"a", "b"});
}

// run().

TEST_CASE("run calls the function at once on a free lock and releases after its value") {
    DeferredLock lock;
    auto outcome = watch(lock.run([&] {
        CHECK(lock.locked());
        return 42;
    }));
    CHECK(outcome->value == 42);
    CHECK_FALSE(lock.locked());
}

TEST_CASE("run waits for the lock before calling the function") {
    DeferredLock lock;
    lock.acquire();
    int calls = 0;
    auto outcome = watch(lock.run([&] { return ++calls; }));
    CHECK(calls == 0);
    lock.release();
    CHECK(calls == 1);
    CHECK(outcome->value == 1);
    CHECK_FALSE(lock.locked());
}

TEST_CASE("run holds the lock until the function's Deferred fires, and passes its result on") {
    DeferredLock lock;
    Deferred<std::string> control;
    auto outcome = watch(lock.run([&] { return control; }));
    auto next = watch(lock.acquire());
    CHECK(lock.locked());
    CHECK_FALSE(outcome->fired());
    CHECK_FALSE(next->fired());
    control.callback("done");
    CHECK(outcome->value == "done");
    CHECK(next->succeeded());  // the lock went to the next waiter
}

TEST_CASE("run of a function returning nothing gives a Deferred<void>") {
    DeferredLock lock;
    bool ran = false;
    Deferred<void> d = lock.run([&] { ran = true; });
    auto outcome = watch(d);
    CHECK(ran);
    CHECK(outcome->succeeded());
    CHECK_FALSE(lock.locked());
}

TEST_CASE("run releases the lock when the function throws, and fails with its exception") {
    DeferredLock lock;
    auto outcome = watch(lock.run([]() -> int { throw std::runtime_error("boom"); }));
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->what() == "boom");
    CHECK_FALSE(lock.locked());
}

TEST_CASE("run releases the lock when the function's Deferred fails") {
    DeferredLock lock;
    Deferred<int> control;
    auto outcome = watch(lock.run([&] { return control; }));
    control.errback(twine::ConnectionLost());
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<twine::ConnectionLost>());
    CHECK_FALSE(lock.locked());
}

TEST_CASE("run fails with std::logic_error if the function released the lock itself") {
    DeferredLock lock;
    auto outcome = watch(lock.run([&] {
        lock.release();
        return 1;
    }));
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<std::logic_error>());
    CHECK_FALSE(lock.locked());
}

TEST_CASE(
    "cancelling run while it waits for the lock gives up its place; the function never runs") {
    DeferredLock lock;
    lock.acquire();
    bool ran = false;
    auto d = lock.run([&] { ran = true; });
    auto outcome = watch(d);
    d.cancel();
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<CancelledError>());
    lock.release();
    CHECK_FALSE(ran);
    CHECK_FALSE(lock.locked());
}

TEST_CASE("cancelling run while the function's Deferred is pending cancels it and releases") {
    DeferredLock lock;
    int cancels = 0;
    Deferred<int> control([&](Deferred<int>&) { ++cancels; });
    auto d = lock.run([&] { return control; });
    auto outcome = watch(d);
    d.cancel();
    CHECK(cancels == 1);
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<CancelledError>());
    CHECK_FALSE(lock.locked());
}

TEST_CASE("a run may finish after the lock is gone") {
    Deferred<int> control;
    std::shared_ptr<deferred_test::Outcome<int>> outcome;
    {
        DeferredLock lock;
        outcome = watch(lock.run([&] { return control; }));
    }
    control.callback(5);
    CHECK(outcome->value == 5);
}

// Cancellation of acquire().

TEST_CASE("cancelling a waiting acquire fails it with CancelledError") {
    DeferredLock lock;
    lock.acquire();
    Deferred<void> d = lock.acquire();
    auto outcome = watch(d);
    d.cancel();
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<CancelledError>());
}

TEST_CASE("a cancelled acquire is out of the line: release skips it") {
    DeferredLock lock;
    lock.acquire();
    Deferred<void> cancelled = lock.acquire();
    auto second = watch(cancelled);
    auto third = watch(lock.acquire());
    cancelled.cancel();
    lock.release();
    CHECK(second->calls == 1);  // only its CancelledError, not the lock as well
    CHECK(third->succeeded());
    lock.release();
    CHECK_FALSE(lock.locked());
}

TEST_CASE("cancelling an acquire that already has the lock does nothing") {
    DeferredLock lock;
    Deferred<void> d = lock.acquire();
    auto outcome = watch(d);
    d.cancel();
    CHECK(outcome->succeeded());
    CHECK(lock.locked());
}

TEST_CASE("an acquire still waiting when the lock is destroyed can be cancelled safely") {
    Deferred<void> waiting;
    {
        DeferredLock lock;
        lock.acquire();
        waiting = lock.acquire();
    }
    auto outcome = watch(waiting);
    CHECK_FALSE(outcome->fired());
    waiting.cancel();
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<CancelledError>());
}
