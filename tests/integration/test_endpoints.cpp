#include <twine/core/error.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/port.hpp>
#include <twine/core/reactor.hpp>
#include <twine/core/reconnecting_client_factory.hpp>
#include <twine/protocols/connection_limits.hpp>
#include <twine/protocols/echo.hpp>
#include <twine/transports/endpoints.hpp>

#include <doctest/doctest.h>

#include "temp_files.hpp"

#include <unistd.h>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

using namespace std::chrono_literals;
using twine::Failure;
using twine::Port;
using twine::Protocol;

namespace {

// A reactor whose run() is bounded: after 10 s it stops and the test fails.
struct BoundedReactor {
    twine::Reactor reactor;
    bool timedOut = false;

    void run() {
        auto guard = reactor.callLater(10s, [this] {
            timedOut = true;
            reactor.stop();
        });
        reactor.run();
        CHECK_FALSE(timedOut);
    }
    void stop() {
        if (reactor.running()) reactor.stop();
    }
};

// Sends a greeting, collects the echo, hangs up, and stops the reactor.
class Greeter : public Protocol {
public:
    Greeter(BoundedReactor& loop, std::string& received) : loop_(loop), received_(received) {}

    void connectionMade() override { transport().write("hello"); }
    void dataReceived(std::string_view data) override {
        received_ += data;
        if (received_.size() >= 5) transport().loseConnection();
    }
    void connectionLost(const Failure& reason) override {
        (void)reason;
        loop_.stop();
    }

private:
    BoundedReactor& loop_;
    std::string& received_;
};

// A ClientFactory that records how connecting went.
class RecordingClientFactory : public twine::ClientFactory {
public:
    using ClientFactory::ClientFactory;
    void startedConnecting(twine::Connector&) override { ++started; }
    void clientConnectionFailed(twine::Connector&, const Failure& reason) override {
        failure = reason;
    }
    void clientConnectionLost(twine::Connector&, const Failure&) override { ++lost; }

    int started = 0;
    int lost = 0;
    std::optional<Failure> failure;
};

std::shared_ptr<Port> listenOn(BoundedReactor& loop, const std::string& description) {
    std::shared_ptr<Port> port;
    twine::serverFromString(loop.reactor, description)
        ->listen(twine::ServerFactory::forProtocol<twine::Echo>())
        .addCallback([&](std::shared_ptr<Port> listening) { port = std::move(listening); });
    REQUIRE(port);
    return port;
}

// Connects a Greeter through `clientDescription`, runs the reactor until it
// hangs up, and checks everything a user would.
void echoThrough(BoundedReactor& loop, const std::string& clientDescription) {
    std::string received;
    auto factory = std::make_shared<RecordingClientFactory>(
        [&]() -> std::unique_ptr<Protocol> { return std::make_unique<Greeter>(loop, received); });
    // The protocol lives until its connectionLost: look at it in the callback.
    bool connectedGreeter = false;
    twine::clientFromString(loop.reactor, clientDescription)
        ->connect(factory)
        .addCallback([&](Protocol* protocol) {
            connectedGreeter = dynamic_cast<Greeter*>(protocol) != nullptr && protocol->connected();
        });
    loop.run();
    CHECK(received == "hello");
    CHECK(connectedGreeter);
    CHECK(factory->started == 1);
    CHECK(factory->lost == 1);
    CHECK_FALSE(factory->failure.has_value());
}

using twine::testing::TempDir;

}  // namespace

TEST_CASE("echo over tcp through endpoint descriptions") {
    BoundedReactor loop;
    auto port = listenOn(loop, "tcp:0:interface=127.0.0.1");
    CHECK(port->getHost().port() != 0);
    CHECK(twine::describeAddress(port->getHost()) ==
          "tcp:" + std::to_string(port->getHost().port()) + ":interface=127.0.0.1");
    echoThrough(loop,
                "tcp:host=127.0.0.1:port=" + std::to_string(port->getHost().port()) + ":timeout=5");
}

TEST_CASE("echo over tcp6 on ::1 through endpoint descriptions") {
    BoundedReactor loop;
    auto port = listenOn(loop, R"(tcp6:0:interface=\:\:1)");
    CHECK(port->getHost().family() == twine::Address::Family::ipv6);
    echoThrough(loop, R"(tcp:\:\:1:)" + std::to_string(port->getHost().port()));
}

TEST_CASE("echo over a unix socket through endpoint descriptions") {
    TempDir dir;
    std::string path = (dir.path / "echo.sock").string();
    BoundedReactor loop;
    auto port = listenOn(loop, "unix:" + twine::escapeEndpointValue(path) + ":mode=600");
    CHECK(twine::describeAddress(port->getHost()) == "unix:" + twine::escapeEndpointValue(path));
    CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::all) ==
          (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    echoThrough(loop, "unix:path=" + twine::escapeEndpointValue(path));
}

TEST_CASE("connecting to a closed port fails the Deferred and tells the factory") {
    BoundedReactor loop;
    auto port = listenOn(loop, "tcp:0:interface=127.0.0.1");
    std::uint16_t closed = port->getHost().port();
    port->stopListening();

    auto factory = std::make_shared<RecordingClientFactory>(
        []() -> std::unique_ptr<Protocol> { return std::make_unique<twine::Echo>(); });
    std::optional<Failure> failure;
    twine::clientFromString(loop.reactor, "tcp:127.0.0.1:" + std::to_string(closed))
        ->connect(factory)
        .addErrback([&](const Failure& reason) -> Protocol* {
            failure = reason;
            loop.stop();
            return nullptr;
        });
    loop.run();
    REQUIRE(failure.has_value());
    CHECK(failure->check<twine::ConnectionRefusedError>());
    REQUIRE(factory->failure.has_value());
    CHECK(factory->failure->check<twine::ConnectionRefusedError>());
}

TEST_CASE("connecting to a missing unix socket fails the Deferred") {
    TempDir dir;
    BoundedReactor loop;
    std::optional<Failure> failure;
    twine::clientFromString(loop.reactor, "unix:" + (dir.path / "nobody.sock").string())
        ->connect(twine::ClientFactory::forProtocol<twine::Echo>())
        .addErrback([&](const Failure& reason) -> Protocol* {
            failure = reason;
            loop.stop();
            return nullptr;
        });
    loop.run();
    REQUIRE(failure.has_value());
    CHECK(failure->check<twine::ConnectError>());
}

TEST_CASE("listening on a port in use fails with CannotListenError") {
    BoundedReactor loop;
    auto port = listenOn(loop, "tcp:0:interface=127.0.0.1");
    std::optional<Failure> failure;
    twine::serverFromString(
        loop.reactor, "tcp:" + std::to_string(port->getHost().port()) + ":interface=127.0.0.1")
        ->listen(twine::ServerFactory::forProtocol<twine::Echo>())
        .addErrback([&](const Failure& reason) -> std::shared_ptr<Port> {
            failure = reason;
            return nullptr;
        });
    REQUIRE(failure.has_value());
    CHECK(failure->check<twine::CannotListenError>());
}

TEST_CASE("a connection the factory refuses fails the Deferred") {
    BoundedReactor loop;
    auto port = listenOn(loop, "tcp:0:interface=127.0.0.1");
    auto refusing = std::make_shared<twine::ClientFactory>(
        []() -> std::unique_ptr<Protocol> { return nullptr; });
    std::optional<Failure> failure;
    twine::clientFromString(loop.reactor, "tcp:127.0.0.1:" + std::to_string(port->getHost().port()))
        ->connect(refusing)
        .addErrback([&](const Failure& reason) -> Protocol* {
            failure = reason;
            loop.stop();
            return nullptr;
        });
    loop.run();
    REQUIRE(failure.has_value());
    CHECK(failure->check<twine::ConnectError>());
}

TEST_CASE("cancelling a connect stops the attempt with CancelledError") {
    BoundedReactor loop;
    auto port = listenOn(loop, "tcp:0:interface=127.0.0.1");
    auto factory = std::make_shared<RecordingClientFactory>(
        []() -> std::unique_ptr<Protocol> { return std::make_unique<twine::Echo>(); });
    std::optional<Failure> failure;
    auto connecting = twine::clientFromString(
                          loop.reactor, "tcp:127.0.0.1:" + std::to_string(port->getHost().port()))
                          ->connect(factory);
    connecting.addErrback([&](const Failure& reason) -> Protocol* {
        failure = reason;
        return nullptr;
    });
    connecting.cancel();  // before the loop ever ran: still connecting
    loop.reactor.callLater(0s, [&] { loop.stop(); });
    loop.run();
    REQUIRE(failure.has_value());
    CHECK(failure->check<twine::CancelledError>());
}

namespace {

// Counts failed attempts and stops the reactor once the factory gives up.
class CountingReconnectingFactory : public twine::ReconnectingClientFactory {
public:
    CountingReconnectingFactory(BoundedReactor& loop, twine::ReconnectPolicy policy)
        : ReconnectingClientFactory(loop.reactor, {}, policy), loop_(loop) {}

    void clientConnectionFailed(twine::Connector& connector, const Failure& reason) override {
        ++failures;
        ReconnectingClientFactory::clientConnectionFailed(connector, reason);
        if (!retryPending()) loop_.stop();
    }

    int failures = 0;

private:
    BoundedReactor& loop_;
};

}  // namespace

TEST_CASE("a ReconnectingClientFactory retries a refused connection until maxRetries") {
    BoundedReactor loop;
    auto port = listenOn(loop, "tcp:0:interface=127.0.0.1");
    std::uint16_t closed = port->getHost().port();
    port->stopListening();

    twine::ReconnectPolicy policy;
    policy.initialDelay = 1ms;
    policy.jitter = 0;
    policy.maxRetries = 2;
    auto factory = std::make_shared<CountingReconnectingFactory>(loop, policy);
    // The factory retries through this connector: it is kept while retrying.
    auto connector = loop.reactor.connectTCP("127.0.0.1", closed, factory);
    loop.run();
    CHECK(factory->failures == 3);  // the first attempt and two retries
}

TEST_CASE("a ReconnectingClientFactory behind an endpoint retries until maxRetries") {
    BoundedReactor loop;
    auto port = listenOn(loop, "tcp:0:interface=127.0.0.1");
    std::uint16_t closed = port->getHost().port();
    port->stopListening();

    twine::ReconnectPolicy policy;
    policy.initialDelay = 1ms;
    policy.jitter = 0;
    policy.maxRetries = 2;
    auto factory = std::make_shared<CountingReconnectingFactory>(loop, policy);
    std::optional<Failure> first;
    twine::clientFromString(loop.reactor, "tcp:127.0.0.1:" + std::to_string(closed))
        ->connect(factory)
        .addErrback([&](const Failure& reason) -> Protocol* {
            first = reason;
            return nullptr;
        });
    loop.run();
    CHECK(factory->failures == 3);
    REQUIRE(first.has_value());
    CHECK(first->check<twine::ConnectionRefusedError>());
}

namespace {

// Calls `then` with what it received whenever data arrives or the
// connection ends; `lost` is set once it has ended.
class Watcher : public Protocol {
public:
    Watcher(std::string greeting, std::function<void(Watcher&)> then)
        : greeting_(std::move(greeting)), then_(std::move(then)) {}

    void connectionMade() override { transport().write(greeting_); }
    void dataReceived(std::string_view data) override {
        received += data;
        then_(*this);
    }
    void connectionLost(const Failure&) override {
        lost = true;
        then_(*this);
    }

    std::string received;
    bool lost = false;

private:
    std::string greeting_;
    std::function<void(Watcher&)> then_;
};

}  // namespace

TEST_CASE("a connection-limited server closes connections beyond its limit") {
    BoundedReactor loop;
    std::shared_ptr<Port> port;
    twine::serverFromString(loop.reactor, "tcp:0:interface=127.0.0.1")
        ->listen(twine::limitConnections(twine::ServerFactory::forProtocol<twine::Echo>(),
                                         {.maxConnections = 1, .maxPerHost = 0}))
        .addCallback([&](std::shared_ptr<Port> listening) { port = std::move(listening); });
    REQUIRE(port);
    auto client = twine::clientFromString(
        loop.reactor, "tcp:127.0.0.1:" + std::to_string(port->getHost().port()));

    // The first client, once echoed (so counted by the server), starts the
    // second; the second is refused; then the first hangs up and all stops.
    std::string firstReceived;
    std::string secondReceived;
    bool secondLost = false;
    Watcher* first = nullptr;
    auto secondFactory = std::make_shared<twine::ClientFactory>([&]() -> std::unique_ptr<Protocol> {
        return std::make_unique<Watcher>("b", [&](Watcher& second) {
            secondReceived = second.received;
            secondLost = second.lost;
            if (second.lost && first != nullptr) first->transport().loseConnection();
        });
    });
    auto firstFactory = std::make_shared<twine::ClientFactory>([&]() -> std::unique_ptr<Protocol> {
        auto watcher = std::make_unique<Watcher>("a", [&](Watcher& self) {
            firstReceived = self.received;
            if (self.lost) {
                first = nullptr;
                loop.stop();
            } else if (self.received == "a") {
                client->connect(secondFactory);
            }
        });
        first = watcher.get();
        return watcher;
    });
    client->connect(firstFactory);
    loop.run();
    CHECK(firstReceived == "a");
    CHECK(secondLost);
    CHECK(secondReceived.empty());
}
