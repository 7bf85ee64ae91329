// DeferredQueue: put and get in order, the size and backlog limits,
// cancellation (after test_defer.py's OtherPrimitivesTests.testQueue and the
// queue cancel tests).

#include "test_deferred_support.hpp"

#include <twine/core/deferred.hpp>
#include <twine/core/deferred_queue.hpp>
#include <twine/core/error.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

using deferred_test::watch;
using twine::CancelledError;
using twine::Deferred;
using twine::DeferredQueue;
using twine::QueueOverflow;
using twine::QueueUnderflow;

TEST_CASE("a new queue is empty and has no limits unless given") {
    DeferredQueue<int> queue;
    CHECK(queue.pending() == 0);
    CHECK(queue.waiting() == 0);
    CHECK_FALSE(queue.size().has_value());
    CHECK_FALSE(queue.backlog().has_value());
    DeferredQueue<int> bounded(2, 3);
    CHECK(bounded.size() == 2u);
    CHECK(bounded.backlog() == 3u);
}

TEST_CASE("get on a queue holding items fires at once with the oldest") {
    DeferredQueue<std::string> queue;
    queue.put("a");
    queue.put("b");
    CHECK(queue.pending() == 2);
    CHECK(watch(queue.get())->value == "a");
    CHECK(watch(queue.get())->value == "b");
    CHECK(queue.pending() == 0);
}

TEST_CASE("get on an empty queue waits for the next put") {
    DeferredQueue<int> queue;
    auto outcome = watch(queue.get());
    CHECK_FALSE(outcome->fired());
    CHECK(queue.waiting() == 1);
    queue.put(7);
    CHECK(outcome->value == 7);
    CHECK(queue.waiting() == 0);
    CHECK(queue.pending() == 0);
}

TEST_CASE("waiting gets are served in the order they asked") {
    DeferredQueue<int> queue;
    std::vector<int> gotten;
    for (int i = 0; i < 2; ++i) queue.get().addCallback([&](int v) { gotten.push_back(v); });
    queue.put(0);
    CHECK(gotten == std::vector<int>{0});
    queue.put(1);
    CHECK(gotten == std::vector<int>{0, 1});
}

TEST_CASE("put beyond the size limit throws QueueOverflow and keeps what was there") {
    DeferredQueue<int> queue(2);
    queue.put(1);
    queue.put(2);
    CHECK_THROWS_AS(queue.put(3), QueueOverflow);
    CHECK(queue.pending() == 2);
    CHECK(watch(queue.get())->value == 1);
    CHECK(watch(queue.get())->value == 2);
}

TEST_CASE("a queue of size 0 refuses to keep anything") {
    DeferredQueue<int> queue(0);
    CHECK_THROWS_AS(queue.put(1), QueueOverflow);
}

TEST_CASE("put hands the item to a waiting get even when the queue is full") {
    DeferredQueue<int> queue(0);
    auto outcome = watch(queue.get());
    CHECK_NOTHROW(queue.put(4));
    CHECK(outcome->value == 4);
}

TEST_CASE("get beyond the backlog limit throws QueueUnderflow") {
    DeferredQueue<int> queue(std::nullopt, 2);
    std::vector<int> gotten;
    for (int i = 0; i < 2; ++i) queue.get().addCallback([&](int v) { gotten.push_back(v); });
    CHECK_THROWS_AS(queue.get(), QueueUnderflow);
    CHECK(queue.waiting() == 2);
    queue.put(0);
    queue.put(1);
    CHECK(gotten == std::vector<int>{0, 1});
}

TEST_CASE("a queue with backlog 0 refuses to wait but serves kept items") {
    DeferredQueue<int> queue(std::nullopt, 0);
    CHECK_THROWS_AS(queue.get(), QueueUnderflow);
    queue.put(3);
    CHECK(watch(queue.get())->value == 3);
}

TEST_CASE("the size and backlog limits together, as Twisted's testQueue") {
    const int n = 2;
    const int m = 2;
    DeferredQueue<int> queue(n, m);
    std::vector<int> gotten;
    for (int i = 0; i < m; ++i) queue.get().addCallback([&](int v) { gotten.push_back(v); });
    CHECK_THROWS_AS(queue.get(), QueueUnderflow);
    for (int i = 0; i < m; ++i) queue.put(i);
    CHECK(gotten == std::vector<int>{0, 1});
    for (int i = 0; i < n; ++i) queue.put(n + i);
    CHECK(gotten == std::vector<int>{0, 1});
    CHECK_THROWS_AS(queue.put(99), QueueOverflow);
    gotten.clear();
    for (int i = 0; i < n; ++i) queue.get().addCallback([&](int v) { gotten.push_back(v); });
    CHECK(gotten == std::vector<int>{2, 3});
}

TEST_CASE("a queue carries move-only items") {
    DeferredQueue<std::unique_ptr<int>> queue;
    auto waiting = watch(queue.get());
    queue.put(std::make_unique<int>(1));
    queue.put(std::make_unique<int>(2));
    REQUIRE(waiting->succeeded());
    CHECK(**waiting->value == 1);
    auto kept = watch(queue.get());
    REQUIRE(kept->succeeded());
    CHECK(**kept->value == 2);
}

TEST_CASE("a coroutine can co_await get") {
    DeferredQueue<int> queue;
    std::vector<int> seen;
    auto consumer = [&]() -> Deferred<void> {
        for (int i = 0; i < 3; ++i) seen.push_back(co_await queue.get());
    };
    auto done = watch(consumer());
    queue.put(10);
    queue.put(20);
    CHECK_FALSE(done->fired());
    queue.put(30);
    CHECK(seen == std::vector<int>{10, 20, 30});
    CHECK(done->succeeded());
}

// Cancellation.

TEST_CASE("cancelling a waiting get fails it with CancelledError") {
    DeferredQueue<int> queue;
    Deferred<int> d = queue.get();
    auto outcome = watch(d);
    d.cancel();
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<CancelledError>());
    CHECK(queue.waiting() == 0);
}

TEST_CASE("after a get is cancelled, the next item is kept for the next get") {
    DeferredQueue<int> queue;
    Deferred<int> cancelled = queue.get();
    auto outcome = watch(cancelled);
    cancelled.cancel();
    queue.put(1);
    CHECK(queue.pending() == 1);
    CHECK(outcome->calls == 1);
    CHECK(watch(queue.get())->value == 1);
}

TEST_CASE("a cancelled get goes out of the line: the item goes to the get behind it") {
    DeferredQueue<int> queue;
    Deferred<int> cancelled = queue.get();
    watch(cancelled);
    auto behind = watch(queue.get());
    cancelled.cancel();
    queue.put(2);
    CHECK(behind->value == 2);
}

TEST_CASE("cancelling a get that already has its item does nothing") {
    DeferredQueue<int> queue;
    Deferred<int> d = queue.get();
    auto outcome = watch(d);
    queue.put(5);
    d.cancel();
    CHECK(outcome->value == 5);
    CHECK(outcome->calls == 1);
}

TEST_CASE("a get still waiting when the queue is destroyed can be cancelled safely") {
    Deferred<int> waiting;
    {
        DeferredQueue<int> queue;
        waiting = queue.get();
    }
    auto outcome = watch(waiting);
    CHECK_FALSE(outcome->fired());
    waiting.cancel();
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<CancelledError>());
}
