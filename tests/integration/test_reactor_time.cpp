#include <twine/core/error.hpp>
#include <twine/core/log.hpp>
#include <twine/core/looping_call.hpp>
#include <twine/core/reactor.hpp>

#include <doctest/doctest.h>

#include "time_limit.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using twine::testing::failAfter;

TEST_CASE("callLater runs calls in deadline order, and a cancelled call never runs") {
    twine::Reactor reactor;
    failAfter(reactor);
    std::vector<int> order;
    reactor.callLater(30ms, [&] { order.push_back(30); });
    reactor.callLater(10ms, [&] { order.push_back(10); });
    auto cancelled = reactor.callLater(20ms, [&] { order.push_back(20); });
    reactor.callLater(0ms, [&] { order.push_back(0); });
    reactor.callLater(50ms, [&] { reactor.stop(); });
    cancelled.cancel();
    reactor.run();
    CHECK(order == std::vector<int>{0, 10, 30});
    CHECK_FALSE(cancelled.active());
}

TEST_CASE("callLater(0) never runs synchronously, only on a later loop iteration") {
    twine::Reactor reactor;
    failAfter(reactor);
    bool ran = false;
    bool ranInsideScheduler = false;
    reactor.callLater(0s, [&] {
        reactor.callLater(0s, [&] {
            ran = true;
            reactor.stop();
        });
        ranInsideScheduler = ran;
    });
    CHECK_FALSE(ran);
    reactor.run();
    CHECK(ran);
    CHECK_FALSE(ranInsideScheduler);
}

TEST_CASE("calls due at the same time run in the order they were scheduled") {
    twine::Reactor reactor;
    failAfter(reactor);
    std::vector<int> order;
    for (int i = 0; i < 100; ++i) reactor.callLater(5ms, [&order, i] { order.push_back(i); });
    reactor.callLater(5ms, [&] { reactor.stop(); });
    reactor.run();
    REQUIRE(order.size() == 100);
    for (int i = 0; i < 100; ++i) CHECK(order[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("a call never runs before its time, as seconds() tells it") {
    twine::Reactor reactor;
    failAfter(reactor);
    std::vector<double> lateness;
    for (int i = 1; i <= 20; ++i) {
        auto call = std::make_shared<twine::DelayedCall>();
        *call = reactor.callLater(std::chrono::milliseconds(i), [&reactor, &lateness, call] {
            lateness.push_back(reactor.seconds() - call->getTime());
        });
    }
    reactor.callLater(30ms, [&] { reactor.stop(); });
    reactor.run();
    REQUIRE(lateness.size() == 20);
    for (double late : lateness) CHECK(late >= 0.0);
}

TEST_CASE("seconds() is monotonic and counts in seconds") {
    twine::Reactor reactor;
    const double before = reactor.seconds();
    std::this_thread::sleep_for(20ms);
    const double after = reactor.seconds();
    CHECK(after - before >= 0.019);
    CHECK(after - before < 5.0);
}

TEST_CASE("reset and delay move a pending call on the real reactor") {
    twine::Reactor reactor;
    failAfter(reactor);
    std::vector<std::string> order;
    auto postponed = reactor.callLater(1ms, [&] { order.push_back("postponed"); });
    auto advanced = reactor.callLater(60s, [&] { order.push_back("advanced"); });
    reactor.callLater(5ms, [&] { order.push_back("middle"); });
    postponed.delay(10ms);
    advanced.reset(2ms);
    reactor.callLater(30ms, [&] { reactor.stop(); });
    reactor.run();
    CHECK(order == std::vector<std::string>{"advanced", "middle", "postponed"});
}

TEST_CASE("an exception thrown by a timed call is logged and the loop keeps running") {
    std::mutex mutex;
    std::vector<std::string> logged;
    twine::log::setObserver([&](const twine::log::Event& event) {
        std::lock_guard lock(mutex);
        logged.emplace_back(event.message);
    });
    twine::Reactor reactor;
    failAfter(reactor);
    bool laterRan = false;
    reactor.callLater(1ms, [] { throw std::runtime_error("timed call exploded"); });
    reactor.callLater(5ms, [&] {
        laterRan = true;
        reactor.stop();
    });
    reactor.run();
    twine::log::setObserver({});
    CHECK(laterRan);
    bool found = false;
    for (const auto& message : logged) {
        if (message.find("std::runtime_error") != std::string::npos &&
            message.find("timed call exploded") != std::string::npos) {
            found = true;
        }
    }
    CHECK(found);
}

TEST_CASE("a call that reschedules itself with no delay does not starve other work") {
    twine::Reactor reactor;
    failAfter(reactor);
    std::atomic<bool> flag{false};
    long spins = 0;
    std::function<void()> spin = [&] {
        ++spins;
        if (flag.load()) {
            reactor.stop();
            return;
        }
        reactor.callLater(0s, spin);
    };
    reactor.callLater(0s, spin);
    // callFromThread goes through the loop's I/O poll: it must get a turn.
    std::thread other([&] { reactor.callFromThread([&] { flag = true; }); });
    reactor.run();
    other.join();
    CHECK(flag.load());
    CHECK(spins > 0);
}

TEST_CASE("ten thousand timers with mixed delays all fire, in time order") {
    twine::Reactor reactor;
    failAfter(reactor);
    std::vector<double> fired;
    std::vector<twine::DelayedCall> calls;
    unsigned seed = 7;
    for (int i = 0; i < 10000; ++i) {
        seed = seed * 1103515245u + 12345u;
        auto call = std::make_shared<twine::DelayedCall>();
        *call = reactor.callLater(std::chrono::microseconds((seed >> 8) % 20000),
                                  [&fired, call] { fired.push_back(call->getTime()); });
        calls.push_back(*call);
    }
    reactor.callLater(30ms, [&] { reactor.stop(); });
    reactor.run();
    CHECK(fired.size() == 10000);
    CHECK(std::is_sorted(fired.begin(), fired.end()));
}

TEST_CASE("a LoopingCall runs on the real reactor until stopped") {
    twine::Reactor reactor;
    failAfter(reactor);
    int ticks = 0;
    std::optional<twine::LoopingCall> loop;
    loop.emplace(reactor, [&] {
        if (++ticks == 5) loop->stop();
    });
    loop->start(1ms).addCallback([&] { reactor.stop(); });
    reactor.run();
    CHECK(ticks == 5);
}

TEST_CASE("a negative delay or an empty function is refused with a clear error") {
    twine::Reactor reactor;
    CHECK_THROWS_AS(reactor.callLater(-1s, [] {}), std::invalid_argument);
    CHECK_THROWS_AS(reactor.callLater(1s, std::function<void()>()), std::invalid_argument);
    CHECK_THROWS_AS(reactor.callFromThread(std::function<void()>()), std::invalid_argument);
}
