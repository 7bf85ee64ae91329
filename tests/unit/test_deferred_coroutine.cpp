// Coroutines returning Deferred<T>: eager start, co_await of fired and pending
// Deferreds, failures rethrown, cancellation passed to the awaited Deferred.

#include "test_deferred_support.hpp"

#include <twine/core/deferred.hpp>
#include <twine/core/error.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using deferred_test::LogCapture;
using deferred_test::watch;
using twine::CancelledError;
using twine::Deferred;
using twine::Failure;

namespace {

Deferred<int> addOne(Deferred<int> input) {
    int value = co_await input;
    co_return value + 1;
}

Deferred<void> record(std::vector<std::string>& log, Deferred<std::string> input) {
    log.push_back("started");
    log.push_back(co_await input);
}

Deferred<int> throwsAfter(Deferred<int> input) {
    co_await input;
    throw twine::ConnectionLost("from the coroutine");
}

/// Counts how many live instances there are: shows a frame was destroyed.
struct Tracked {
    explicit Tracked(int& live) : live_(&live) { ++*live_; }
    Tracked(const Tracked&) = delete;
    Tracked& operator=(const Tracked&) = delete;
    ~Tracked() { --*live_; }
    int* live_;
};

}  // namespace

TEST_CASE("a coroutine starts at once and runs up to its first pending await") {
    std::vector<std::string> log;
    Deferred<std::string> input;
    auto done = watch(record(log, input));
    CHECK(log == std::vector<std::string>{"started"});
    CHECK_FALSE(done->fired());
    input.callback("resumed");
    CHECK(log == std::vector<std::string>{"started", "resumed"});
    CHECK(done->succeeded());
}

TEST_CASE("co_await of a fired Deferred does not suspend") {
    auto outcome = watch(addOne(twine::succeed(41)));
    CHECK(outcome->value == 42);
}

TEST_CASE("co_await of a pending Deferred resumes with its value when it fires") {
    Deferred<int> input;
    auto outcome = watch(addOne(input));
    CHECK_FALSE(outcome->fired());
    input.callback(1);
    CHECK(outcome->value == 2);
}

TEST_CASE("co_await gets the result after the awaited chain's callbacks") {
    Deferred<int> input;
    Deferred<int> doubled = input.addCallback([](int v) { return v * 2; });
    auto outcome = watch(addOne(doubled));
    input.callback(5);
    CHECK(outcome->value == 11);
}

TEST_CASE("a failure is rethrown at the co_await as its original exception") {
    auto coro = [](Deferred<int> input) -> Deferred<std::string> {
        try {
            co_await input;
            co_return "no error";
        } catch (const twine::ConnectionRefusedError& e) {
            co_return std::string("caught: ") + e.what();
        }
    };
    Deferred<int> input;
    auto outcome = watch(coro(input));
    input.errback(twine::ConnectionRefusedError("refused"));
    CHECK(outcome->value == "caught: refused");
}

TEST_CASE("an exception escaping the coroutine fails its Deferred with that exception") {
    Deferred<int> input;
    auto outcome = watch(throwsAfter(input));
    input.callback(0);
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<twine::ConnectionLost>());
    CHECK(outcome->failure->what() == "from the coroutine");
}

TEST_CASE("an exception before any await fails the Deferred, never the caller") {
    auto coro = []() -> Deferred<int> {
        throw std::runtime_error("at once");
        co_return 0;
    };
    Deferred<int> d;
    CHECK_NOTHROW(d = coro());
    auto outcome = watch(d);
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->what() == "at once");
}

TEST_CASE("an awaited failure that the coroutine handles is not logged") {
    LogCapture logs;
    {
        auto coro = [](Deferred<int> input) -> Deferred<void> {
            try {
                co_await input;
            } catch (const std::exception&) {
            }
        };
        watch(coro(twine::fail<int>(std::runtime_error("handled in coroutine"))));
    }
    CHECK(logs.lines.empty());
}

TEST_CASE("a coroutine runs to completion even if every handle is dropped") {
    int finished = 0;
    Deferred<int> input;
    auto coro = [](Deferred<int> in, int& done) -> Deferred<void> {
        co_await in;
        ++done;
    };
    coro(input, finished);
    input.callback(0);
    CHECK(finished == 1);
}

TEST_CASE("a coroutine may await another coroutine") {
    Deferred<int> input;
    auto outer = [](Deferred<int> in) -> Deferred<int> {
        int first = co_await addOne(in);
        int second = co_await addOne(twine::succeed(first));
        co_return second * 10;
    };
    auto outcome = watch(outer(input));
    input.callback(1);
    CHECK(outcome->value == 30);
}

TEST_CASE("a coroutine may await a Deferred<void> and return a move-only value") {
    Deferred<void> ready;
    auto coro = [](Deferred<void> r) -> Deferred<std::unique_ptr<int>> {
        co_await r;
        co_return std::make_unique<int>(7);
    };
    auto result = coro(ready).addCallback([](std::unique_ptr<int> p) { return *p; });
    auto outcome = watch(result);
    ready.callback();
    CHECK(outcome->value == 7);
}

TEST_CASE("100,000 sequential awaits of fired Deferreds run without growing the stack") {
    constexpr std::size_t count = 100000;
    auto coro = [](std::size_t n) -> Deferred<std::size_t> {
        std::size_t sum = 0;
        const void* firstFrame = nullptr;
        for (std::size_t i = 0; i < n; ++i) {
            sum += static_cast<std::size_t>(co_await twine::succeed(1));
            if (firstFrame == nullptr) firstFrame = __builtin_frame_address(0);
            if (__builtin_frame_address(0) != firstFrame) throw std::logic_error("stack moved");
        }
        co_return sum;
    };
    auto outcome = watch(coro(count));
    CHECK(outcome->value == count);
}

TEST_CASE("100,000 awaits of Deferreds fired later resume from the firing call") {
    constexpr std::size_t count = 100000;
    auto next = std::make_shared<Deferred<int>>();
    auto coro = [](std::shared_ptr<Deferred<int>> slot, std::size_t n) -> Deferred<long> {
        long sum = 0;
        for (std::size_t i = 0; i < n; ++i) {
            *slot = Deferred<int>();
            sum += co_await Deferred<int>(*slot);
        }
        co_return sum;
    };
    auto outcome = watch(coro(next, count));
    for (std::size_t i = 0; i < count; ++i) next->callback(1);
    CHECK(outcome->value == static_cast<long>(count));
}

TEST_CASE("cancelling the coroutine's Deferred cancels the one it awaits") {
    int cancels = 0;
    Deferred<int> input([&](Deferred<int>&) { ++cancels; });
    Deferred<int> d = addOne(input);
    auto outcome = watch(d);
    d.cancel();
    CHECK(cancels == 1);
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<CancelledError>());
}

TEST_CASE("a coroutine that catches the cancellation decides its own result") {
    auto coro = [](Deferred<int> input) -> Deferred<int> {
        try {
            co_return co_await input;
        } catch (const CancelledError&) {
            co_return -1;
        }
    };
    Deferred<int> input;
    Deferred<int> d = coro(input);
    auto outcome = watch(d);
    d.cancel();
    CHECK(outcome->value == -1);
}

TEST_CASE("a cancelled coroutine may go on awaiting and finish later") {
    auto coro = [](Deferred<int> first, Deferred<int> fallback) -> Deferred<int> {
        try {
            co_return co_await first;
        } catch (const CancelledError&) {
        }
        co_return co_await fallback;
    };
    Deferred<int> first;
    Deferred<int> fallback;
    Deferred<int> d = coro(first, fallback);
    auto outcome = watch(d);
    d.cancel();
    CHECK_FALSE(outcome->fired());
    fallback.callback(5);
    CHECK(outcome->value == 5);
}

TEST_CASE("cancelling twice a coroutine that goes on awaiting cancels each awaited Deferred") {
    auto coro = [](Deferred<int> first, Deferred<int> second) -> Deferred<int> {
        try {
            co_await first;
        } catch (const CancelledError&) {
        }
        co_return co_await second;
    };
    Deferred<int> first;
    Deferred<int> second;
    Deferred<int> d = coro(first, second);
    auto outcome = watch(d);
    d.cancel();
    d.cancel();
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<CancelledError>());
    CHECK(second.called());
}

TEST_CASE("cancelling a finished coroutine's Deferred is a no-op") {
    Deferred<int> d = addOne(twine::succeed(1));
    auto outcome = watch(d);
    d.cancel();
    CHECK(outcome->value == 2);
}

TEST_CASE("a coroutine awaiting a Deferred nobody can fire is freed with it") {
    int live = 0;
    auto coro = [](int& counter) -> Deferred<void> {
        Tracked tracked(counter);
        co_await Deferred<int>();
    };
    Deferred<void> d = coro(live);
    CHECK(live == 0);  // the awaited Deferred had no other owner: the frame went with it
    CHECK_FALSE(d.called());
}

TEST_CASE("a coroutine awaiting a Deferred that is later dropped unfired is freed") {
    int live = 0;
    auto pending = std::make_unique<Deferred<int>>();
    auto coro = [](int& counter, Deferred<int> awaited) -> Deferred<void> {
        Tracked tracked(counter);
        co_await std::move(awaited);
    };
    coro(live, *pending);
    CHECK(live == 1);
    pending.reset();
    CHECK(live == 0);
}

TEST_CASE("co_await on a re-typed handle fails the coroutine with a clear error") {
    Deferred<int> input;
    input.addCallback([](int v) { return std::to_string(v); });
    auto outcome = watch(addOne(input));
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<std::logic_error>());
    input.callback(1);
}

TEST_CASE("an exception escaping a coroutine nobody watches is logged as unhandled") {
    LogCapture logs;
    throwsAfter(twine::succeed(0));
    CHECK(logs.count("Unhandled error in Deferred") == 1);
    CHECK(logs.count("from the coroutine") == 1);
}
