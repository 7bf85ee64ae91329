#include <twine/core/deferred.hpp>
#include <twine/core/error.hpp>
#include <twine/core/log.hpp>
#include <twine/core/reactor.hpp>

#include <doctest/doctest.h>

#include "time_limit.hpp"

#include <uv.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using twine::testing::failAfter;

namespace {

// Captures log lines for the duration of a test.
class LogCapture {
public:
    LogCapture() {
        twine::log::setObserver([this](const twine::log::Event& event) {
            std::lock_guard lock(mutex_);
            lines_.emplace_back(event.message);
        });
    }
    ~LogCapture() { twine::log::setObserver({}); }
    bool contains(const std::string& text) {
        std::lock_guard lock(mutex_);
        for (const auto& line : lines_) {
            if (line.find(text) != std::string::npos) return true;
        }
        return false;
    }

private:
    std::mutex mutex_;
    std::vector<std::string> lines_;
};

// A resource as a transport would be: shutdown() starts a close that
// completes later (here, on the next iteration), then it untracks itself.
class FakeConnection : public twine::detail::Resource {
public:
    FakeConnection(twine::Reactor& reactor, std::vector<std::string>& events, bool closes = true)
        : reactor_(reactor), events_(events), closes_(closes) {
        reactor_.track(*this);
    }
    ~FakeConnection() override { reactor_.untrack(*this); }
    void shutdown() override {
        events_.push_back("shutdown");
        if (closes_) reactor_.callLater(1ms, [this] { close(); });
    }
    void abort() override {
        events_.push_back("abort");
        close();
    }
    void close() {
        if (closed_) return;
        closed_ = true;
        events_.push_back("closed");
        reactor_.untrack(*this);
    }

private:
    twine::Reactor& reactor_;
    std::vector<std::string>& events_;
    bool closes_;
    bool closed_ = false;
};

}  // namespace

TEST_CASE("stop() from a callback makes run() return") {
    twine::Reactor reactor;
    failAfter(reactor);
    bool stopped = false;
    reactor.callLater(1ms, [&] {
        CHECK(reactor.running());
        reactor.stop();
        stopped = true;
        CHECK_FALSE(reactor.running());
    });
    reactor.run();
    CHECK(stopped);
    CHECK_FALSE(reactor.running());
}

TEST_CASE("stop() when the reactor is not running throws ReactorNotRunning") {
    twine::Reactor reactor;
    CHECK_THROWS_AS(reactor.stop(), twine::ReactorNotRunning);
    bool secondStopThrew = false;
    reactor.callLater(0s, [&] {
        reactor.stop();
        try {
            reactor.stop();
        } catch (const twine::ReactorNotRunning&) {
            secondStopThrew = true;
        }
    });
    reactor.run();
    CHECK(secondStopThrew);
    CHECK_THROWS_AS(reactor.stop(), twine::ReactorNotRunning);
}

TEST_CASE("run() a second time throws ReactorNotRestartable") {
    twine::Reactor reactor;
    reactor.callLater(0s, [&] { reactor.stop(); });
    reactor.run();
    CHECK_THROWS_AS(reactor.run(), twine::ReactorNotRestartable);
}

TEST_CASE("run() from inside run() throws ReactorAlreadyRunning") {
    twine::Reactor reactor;
    failAfter(reactor);
    bool threw = false;
    reactor.callLater(0s, [&] {
        try {
            reactor.run();
        } catch (const twine::ReactorAlreadyRunning&) {
            threw = true;
        }
        reactor.stop();
    });
    reactor.run();
    CHECK(threw);
}

TEST_CASE("startup triggers run in their phases when run() starts") {
    twine::Reactor reactor;
    failAfter(reactor);
    std::vector<std::string> order;
    using twine::EventPhase;
    using twine::SystemEvent;
    reactor.addSystemEventTrigger(EventPhase::after, SystemEvent::startup,
                                  [&] { order.push_back("after"); });
    reactor.addSystemEventTrigger(EventPhase::during, SystemEvent::startup,
                                  [&] { order.push_back("during"); });
    reactor.addSystemEventTrigger(EventPhase::before, SystemEvent::startup, [&] {
        order.push_back("before");
        reactor.callLater(0s, [&] { reactor.stop(); });
    });
    CHECK(order.empty());
    reactor.run();
    CHECK(order == std::vector<std::string>{"before", "during", "after"});
}

TEST_CASE("shutdown waits for the Deferred a before-shutdown trigger returns") {
    twine::Reactor reactor;
    failAfter(reactor);
    std::vector<std::string> order;
    using twine::EventPhase;
    using twine::SystemEvent;
    reactor.addSystemEventTrigger(EventPhase::before, SystemEvent::shutdown,
                                  std::function<twine::Deferred<void>()>([&] {
                                      order.push_back("before");
                                      twine::Deferred<void> flushed;
                                      reactor.callLater(20ms, [&order, flushed]() mutable {
                                          order.push_back("flushed");
                                          flushed.callback();
                                      });
                                      return flushed;
                                  }));
    reactor.addSystemEventTrigger(EventPhase::during, SystemEvent::shutdown,
                                  [&] { order.push_back("during"); });
    reactor.addSystemEventTrigger(EventPhase::after, SystemEvent::shutdown,
                                  [&] { order.push_back("after"); });
    reactor.callLater(0s, [&] { reactor.stop(); });
    reactor.run();
    CHECK(order == std::vector<std::string>{"before", "flushed", "during", "after"});
}

TEST_CASE("a failing or throwing shutdown trigger is logged and shutdown completes") {
    LogCapture log;
    twine::Reactor reactor;
    failAfter(reactor);
    bool afterRan = false;
    using twine::EventPhase;
    using twine::SystemEvent;
    reactor.addSystemEventTrigger(
        EventPhase::before, SystemEvent::shutdown, std::function<twine::Deferred<void>()>([] {
            return twine::fail<void>(twine::Failure(std::runtime_error("flush failed")));
        }));
    reactor.addSystemEventTrigger(EventPhase::during, SystemEvent::shutdown,
                                  [] { throw std::runtime_error("trigger threw"); });
    reactor.addSystemEventTrigger(EventPhase::after, SystemEvent::shutdown,
                                  [&] { afterRan = true; });
    reactor.callLater(0s, [&] { reactor.stop(); });
    reactor.run();
    CHECK(afterRan);
    CHECK(log.contains("flush failed"));
    CHECK(log.contains("trigger threw"));
}

TEST_CASE("a removed trigger does not run, and removing an unknown one is an error") {
    twine::Reactor reactor;
    failAfter(reactor);
    int runs = 0;
    auto id = reactor.addSystemEventTrigger(twine::EventPhase::during, twine::SystemEvent::shutdown,
                                            [&] { ++runs; });
    reactor.removeSystemEventTrigger(id);
    CHECK_THROWS_AS(reactor.removeSystemEventTrigger(id), std::invalid_argument);
    CHECK_THROWS_AS(reactor.removeSystemEventTrigger(12345), std::invalid_argument);
    reactor.callLater(0s, [&] { reactor.stop(); });
    reactor.run();
    CHECK(runs == 0);
}

TEST_CASE("SIGTERM to the process stops run() gracefully") {
    twine::Reactor reactor;
    failAfter(reactor);
    bool shutdownRan = false;
    reactor.addSystemEventTrigger(twine::EventPhase::before, twine::SystemEvent::shutdown,
                                  [&] { shutdownRan = true; });
    reactor.callLater(1ms, [] { std::raise(SIGTERM); });
    reactor.run();
    CHECK(shutdownRan);
}

TEST_CASE("SIGINT to the process stops run() gracefully") {
    twine::Reactor reactor;
    failAfter(reactor);
    bool shutdownRan = false;
    reactor.addSystemEventTrigger(twine::EventPhase::after, twine::SystemEvent::shutdown,
                                  [&] { shutdownRan = true; });
    reactor.callLater(1ms, [] { std::raise(SIGINT); });
    reactor.run();
    CHECK(shutdownRan);
}

TEST_CASE("shutdown closes every tracked resource before during-shutdown triggers run") {
    std::vector<std::string> events;
    twine::Reactor reactor;
    failAfter(reactor);
    FakeConnection first(reactor, events);
    FakeConnection second(reactor, events);
    reactor.addSystemEventTrigger(twine::EventPhase::during, twine::SystemEvent::shutdown,
                                  [&] { events.push_back("during"); });
    reactor.callLater(0s, [&] { reactor.stop(); });
    reactor.run();
    // run() returned only after both resources had closed.
    CHECK(events == std::vector<std::string>{"shutdown", "shutdown", "during", "closed", "closed"});
}

TEST_CASE("a resource untracking another during shutdown is safe") {
    std::vector<std::string> events;
    twine::Reactor reactor;
    failAfter(reactor);
    std::unique_ptr<FakeConnection> victim;
    struct Killer : twine::detail::Resource {
        twine::Reactor& reactor;
        std::unique_ptr<FakeConnection>& victim;
        Killer(twine::Reactor& r, std::unique_ptr<FakeConnection>& v) : reactor(r), victim(v) {
            reactor.track(*this);
        }
        void shutdown() override {
            victim.reset();  // untracks (and frees) a resource not yet shut down
            reactor.untrack(*this);
        }
    } killer(reactor, victim);
    victim = std::make_unique<FakeConnection>(reactor, events);
    reactor.callLater(0s, [&] { reactor.stop(); });
    reactor.run();
    CHECK(events.empty());
}

TEST_CASE("a resource that does not close at shutdown is aborted, and run() still returns") {
    LogCapture log;
    std::vector<std::string> events;
    twine::Reactor reactor;
    failAfter(reactor, 30s);
    FakeConnection stuck(reactor, events, /*closes=*/false);
    reactor.callLater(0s, [&] { reactor.stop(); });
    reactor.run();
    CHECK(events == std::vector<std::string>{"shutdown", "abort", "closed"});
    CHECK(log.contains("did not close"));
}

TEST_CASE("readBuffer is one 256 KiB buffer, the same on every call") {
    twine::Reactor reactor;
    auto first = reactor.readBuffer();
    auto second = reactor.readBuffer();
    CHECK(first.size() == 256 * 1024);
    CHECK(first.data() == second.data());
}

TEST_CASE("uvLoop is a live libuv loop that transports can use") {
    twine::Reactor reactor;
    failAfter(reactor);
    uv_loop_t* loop = reactor.uvLoop();
    REQUIRE(loop != nullptr);
    auto* timer = new uv_timer_t;
    timer->data = &reactor;
    uv_timer_init(loop, timer);
    uv_timer_start(
        timer,
        [](uv_timer_t* handle) {
            static_cast<twine::Reactor*>(handle->data)->stop();
            uv_close(reinterpret_cast<uv_handle_t*>(handle),
                     [](uv_handle_t* closed) { delete reinterpret_cast<uv_timer_t*>(closed); });
        },
        1, 0);
    reactor.run();
    CHECK_FALSE(reactor.running());
}

TEST_CASE("a reactor destroyed without running releases everything it holds") {
    int runs = 0;
    {
        twine::Reactor reactor;
        reactor.callLater(0s, [&] { ++runs; });
        reactor.callFromThread([&] { ++runs; });
        reactor.readBuffer();
    }
    CHECK(runs == 0);
}
