// DeferredSemaphore: tokens, waiting in order, run() as a concurrency limit,
// cancellation (after test_defer.py's OtherPrimitivesTests.testSemaphore and
// the semaphore cancel tests).

#include "test_deferred_support.hpp"

#include <twine/core/deferred.hpp>
#include <twine/core/deferred_semaphore.hpp>
#include <twine/core/error.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using deferred_test::watch;
using twine::CancelledError;
using twine::Deferred;
using twine::DeferredSemaphore;

TEST_CASE("a semaphore needs at least one token") {
    CHECK_THROWS_AS(DeferredSemaphore(0), std::invalid_argument);
    CHECK_THROWS_AS(DeferredSemaphore(-1), std::invalid_argument);
}

TEST_CASE("a new semaphore has all its tokens free") {
    DeferredSemaphore sem(3);
    CHECK(sem.tokens() == 3);
    CHECK(sem.limit() == 3);
}

TEST_CASE("each acquire takes a token at once while there are some") {
    const int n = 13;
    DeferredSemaphore sem(n);
    int acquired = 0;
    for (int i = 1; i <= n; ++i) {
        sem.acquire().addCallback([&] { ++acquired; });
        CHECK(acquired == i);
        CHECK(sem.tokens() == n - i);
    }
    CHECK(sem.limit() == n);
}

TEST_CASE("an acquire with no token free waits for a release") {
    DeferredSemaphore sem(2);
    sem.acquire();
    sem.acquire();
    auto third = watch(sem.acquire());
    CHECK_FALSE(third->fired());
    sem.release();
    CHECK(third->succeeded());
    CHECK(sem.tokens() == 0);
}

TEST_CASE("released tokens go to the waiters in the order they asked") {
    DeferredSemaphore sem(1);
    std::vector<int> order;
    sem.acquire();
    for (int i = 1; i <= 3; ++i) sem.acquire().addCallback([&order, i] { order.push_back(i); });
    sem.release();
    sem.release();
    CHECK(order == std::vector<int>{1, 2});
    sem.release();
    CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("a release with nobody waiting frees a token") {
    DeferredSemaphore sem(2);
    sem.acquire();
    sem.acquire();
    sem.release();
    CHECK(sem.tokens() == 1);
    sem.release();
    CHECK(sem.tokens() == 2);
}

TEST_CASE("releasing more than was acquired throws std::logic_error") {
    DeferredSemaphore sem(2);
    CHECK_THROWS_AS(sem.release(), std::logic_error);
    sem.acquire();
    sem.release();
    CHECK_THROWS_AS(sem.release(), std::logic_error);
    CHECK(sem.tokens() == 2);
}

TEST_CASE("an acquire from a waiter's callback does not jump the line") {
    DeferredSemaphore sem(1);
    std::vector<std::string> order;
    sem.acquire();
    sem.acquire().addCallback([&] {
        order.push_back("first");
        sem.acquire().addCallback([&] { order.push_back("first again"); });
    });
    sem.acquire().addCallback([&] { order.push_back("second"); });
    sem.release();
    sem.release();
    sem.release();
    CHECK(order == std::vector<std::string>{"first", "second", "first again"});
}

// Cancellation.

TEST_CASE("cancelling a waiting acquire fails it with CancelledError") {
    DeferredSemaphore sem(1);
    sem.acquire();
    Deferred<void> d = sem.acquire();
    auto outcome = watch(d);
    d.cancel();
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<CancelledError>());
}

TEST_CASE("a cancelled acquire does not take the next token") {
    DeferredSemaphore sem(1);
    sem.acquire();
    Deferred<void> cancelled = sem.acquire();
    auto outcome = watch(cancelled);
    cancelled.cancel();
    sem.release();
    CHECK(sem.tokens() == 1);
    CHECK(outcome->calls == 1);
}

TEST_CASE("cancelling an acquire that has its token does nothing") {
    DeferredSemaphore sem(1);
    Deferred<void> d = sem.acquire();
    auto outcome = watch(d);
    d.cancel();
    CHECK(outcome->succeeded());
    CHECK(sem.tokens() == 0);
}

// run().

TEST_CASE("run calls the function with a token and passes on its Deferred's result") {
    DeferredSemaphore sem(13);
    Deferred<std::string> control;
    bool called = false;
    auto outcome = watch(sem.run([&] {
        called = true;
        return control;
    }));
    CHECK(called);
    CHECK(sem.tokens() == 12);
    CHECK_FALSE(outcome->fired());
    control.callback("result");
    CHECK(outcome->value == "result");
    CHECK(sem.tokens() == 13);
}

TEST_CASE("run keeps at most `tokens` functions running at once") {
    DeferredSemaphore sem(2);
    std::vector<Deferred<int>> running;
    std::vector<std::shared_ptr<deferred_test::Outcome<int>>> outcomes;
    for (int i = 0; i < 5; ++i) {
        outcomes.push_back(watch(sem.run([&running] {
            running.emplace_back();
            return running.back();
        })));
    }
    CHECK(running.size() == 2);
    running[0].callback(0);
    CHECK(running.size() == 3);
    running[2].callback(2);
    running[1].callback(1);
    CHECK(running.size() == 5);
    running[3].callback(3);
    running[4].callback(4);
    for (int i = 0; i < 5; ++i) CHECK(outcomes[i]->value == i);
    CHECK(sem.tokens() == 2);
}

TEST_CASE("run gives the token back when the function fails") {
    DeferredSemaphore sem(1);
    auto outcome = watch(sem.run([]() -> Deferred<int> { throw twine::TimeoutError(); }));
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<twine::TimeoutError>());
    CHECK(sem.tokens() == 1);
}
