#include <twine/core/deferred.hpp>
#include <twine/core/error.hpp>
#include <twine/core/reactor.hpp>

#include <doctest/doctest.h>

#include "time_limit.hpp"

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using twine::testing::failAfter;

TEST_CASE("callFromThread from four threads delivers every call, each thread's in order") {
    constexpr int threads = 4;
    constexpr int callsPerThread = 10000;
    twine::Reactor reactor;
    failAfter(reactor, 60s);
    const auto loopThread = std::this_thread::get_id();
    std::array<std::vector<int>, threads> received;
    int total = 0;
    bool allOnLoopThread = true;
    std::vector<std::thread> senders;
    for (int t = 0; t < threads; ++t) {
        senders.emplace_back([&, t] {
            for (int i = 0; i < callsPerThread; ++i) {
                reactor.callFromThread([&, t, i] {
                    allOnLoopThread = allOnLoopThread && std::this_thread::get_id() == loopThread;
                    received[static_cast<std::size_t>(t)].push_back(i);
                    if (++total == threads * callsPerThread) reactor.stop();
                });
            }
        });
    }
    reactor.run();
    for (auto& sender : senders) sender.join();
    CHECK(total == threads * callsPerThread);
    CHECK(allOnLoopThread);
    for (const auto& calls : received) {
        REQUIRE(calls.size() == callsPerThread);
        bool inOrder = true;
        for (int i = 0; i < callsPerThread; ++i) {
            inOrder = inOrder && calls[static_cast<std::size_t>(i)] == i;
        }
        CHECK(inOrder);
    }
}

TEST_CASE("callFromThread before run() takes effect once the reactor runs") {
    twine::Reactor reactor;
    failAfter(reactor);
    bool ran = false;
    std::thread([&] {
        reactor.callFromThread([&] {
            ran = true;
            reactor.stop();
        });
    }).join();
    CHECK_FALSE(ran);
    reactor.run();
    CHECK(ran);
}

TEST_CASE("callFromThread after the reactor has shut down is dropped safely") {
    twine::Reactor reactor;
    reactor.callLater(0s, [&] { reactor.stop(); });
    reactor.run();
    bool ran = false;
    std::thread([&] { reactor.callFromThread([&] { ran = true; }); }).join();
    CHECK_FALSE(ran);
}

TEST_CASE("deferToThread runs off the reactor thread and delivers the value on it") {
    twine::Reactor reactor;
    failAfter(reactor);
    const auto loopThread = std::this_thread::get_id();
    std::thread::id workThread;
    std::thread::id deliveryThread;
    std::optional<int> result;
    reactor
        .deferToThread([&] {
            workThread = std::this_thread::get_id();
            return 6 * 7;
        })
        .addCallback([&](int value) {
            deliveryThread = std::this_thread::get_id();
            result = value;
            reactor.stop();
        });
    reactor.run();
    CHECK(result == 42);
    CHECK(workThread != loopThread);
    CHECK(deliveryThread == loopThread);
}

TEST_CASE("deferToThread delivers the function's exception as the original type") {
    twine::Reactor reactor;
    failAfter(reactor);
    std::optional<std::string> failure;
    bool wasTimeout = false;
    reactor.deferToThread([]() -> int { throw twine::TimeoutError("too slow in the pool"); })
        .addCallbacks([](int) {},
                      [&](const twine::Failure& f) {
                          failure = f.what();
                          wasTimeout = f.check<twine::TimeoutError>();
                          reactor.stop();
                      });
    reactor.run();
    CHECK(failure == "too slow in the pool");
    CHECK(wasTimeout);
}

TEST_CASE("deferToThread works for void and move-only functions") {
    twine::Reactor reactor;
    failAfter(reactor);
    auto owned = std::make_unique<std::string>("moved in");
    std::string seen;
    bool voidDone = false;
    reactor.deferToThread([&] { seen = "side effect"; }).addCallback([&] { voidDone = true; });
    reactor.deferToThread([owned = std::move(owned)] { return *owned; })
        .addCallback([&](std::string value) {
            seen += " + " + value;
            reactor.stop();
        });
    reactor.run();
    CHECK(voidDone);
    CHECK(seen == "side effect + moved in");
}

TEST_CASE("many deferToThread calls all complete") {
    twine::Reactor reactor;
    failAfter(reactor, 60s);
    constexpr int jobs = 200;
    int done = 0;
    long sum = 0;
    for (int i = 0; i < jobs; ++i) {
        reactor.deferToThread([i] { return i; }).addCallback([&](int value) {
            sum += value;
            if (++done == jobs) reactor.stop();
        });
    }
    reactor.run();
    CHECK(done == jobs);
    CHECK(sum == jobs * (jobs - 1) / 2);
}

TEST_CASE("several reactors run at once on several threads") {
    constexpr int count = 3;
    std::array<int, count> ticks{};
    std::vector<std::thread> threads;
    for (int r = 0; r < count; ++r) {
        threads.emplace_back([&ticks, r] {
            twine::Reactor reactor;
            for (int i = 0; i < 10; ++i) {
                reactor.callLater(std::chrono::milliseconds(i), [&ticks, r] { ++ticks[r]; });
            }
            reactor.callLater(20ms, [&] { reactor.stop(); });
            reactor.run();
        });
    }
    for (auto& thread : threads) thread.join();
    for (int tick : ticks) CHECK(tick == 10);
}
