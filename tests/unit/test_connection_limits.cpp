#include <twine/core/error.hpp>
#include <twine/core/factory.hpp>
#include <twine/protocols/connection_limits.hpp>
#include <twine/transports/string_transport.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

using twine::Address;
using twine::ConnectionLimits;
using twine::StringTransport;

namespace {

struct Events {
    std::vector<std::string> log;
};

// Records what reaches it, to show the wrapper passes everything on.
class Recorder : public twine::Protocol {
public:
    explicit Recorder(std::shared_ptr<Events> events) : events_(std::move(events)) {}
    void connectionMade() override { events_->log.push_back("made"); }
    void dataReceived(std::string_view data) override {
        events_->log.push_back("data " + std::string(data));
        transport().write(data);
    }
    void connectionLost(const twine::Failure& reason) override {
        events_->log.push_back("lost " + reason.typeName());
    }

private:
    std::shared_ptr<Events> events_;
};

// One server-side connection: the protocol the factory built and its transport.
struct Connection {
    std::unique_ptr<twine::Protocol> protocol;
    std::unique_ptr<StringTransport> transport;

    void lose() {
        protocol->connectionLost(twine::ConnectionDone());
        protocol->setTransport(nullptr);
    }
};

// What a listening port does with an accepted connection from `peer`.
Connection accept(twine::Factory& factory, const Address& peer) {
    Connection connection;
    connection.protocol = factory.buildProtocol(peer);
    if (connection.protocol) {
        connection.transport =
            std::make_unique<StringTransport>(StringTransport::defaultHost(), peer);
        connection.protocol->makeConnection(*connection.transport);
    }
    return connection;
}

Address peer(const std::string& host, std::uint16_t port = 40000) {
    return Address::ipv4(host, port);
}

std::shared_ptr<twine::ConnectionLimitingFactory> limited(ConnectionLimits limits,
                                                          std::shared_ptr<Events> events = {}) {
    if (!events) events = std::make_shared<Events>();
    return twine::limitConnections(twine::ServerFactory::forProtocol<Recorder>(events), limits);
}

}  // namespace

TEST_CASE("the wrapped protocol sees every event and the real transport") {
    auto events = std::make_shared<Events>();
    auto factory = limited({.maxConnections = 1, .maxPerHost = 0}, events);
    Connection connection = accept(*factory, peer("127.0.0.1"));
    REQUIRE(connection.protocol);
    connection.protocol->dataReceived("hello");
    CHECK(connection.transport->value() == "hello");
    connection.lose();
    CHECK(events->log ==
          std::vector<std::string>{"made", "data hello", "lost twine::ConnectionDone"});
}

TEST_CASE("connections beyond the total limit are refused") {
    auto factory = limited({.maxConnections = 2, .maxPerHost = 0});
    Connection first = accept(*factory, peer("127.0.0.1", 1));
    Connection second = accept(*factory, peer("127.0.0.2", 2));
    Connection third = accept(*factory, peer("127.0.0.3", 3));
    CHECK(first.protocol != nullptr);
    CHECK(second.protocol != nullptr);
    CHECK(third.protocol == nullptr);
    CHECK(factory->connectionCount() == 2);
}

TEST_CASE("connections beyond the per-host limit are refused, other hosts still get in") {
    auto factory = limited({.maxConnections = 0, .maxPerHost = 2});
    Connection a1 = accept(*factory, peer("127.0.0.1", 1));
    Connection a2 = accept(*factory, peer("127.0.0.1", 2));
    Connection a3 = accept(*factory, peer("127.0.0.1", 3));
    Connection b1 = accept(*factory, peer("127.0.0.2", 1));
    CHECK(a3.protocol == nullptr);
    CHECK(b1.protocol != nullptr);
    CHECK(factory->connectionCount("127.0.0.1") == 2);
    CHECK(factory->connectionCount("127.0.0.2") == 1);
    CHECK(factory->connectionCount() == 3);
}

TEST_CASE("a lost connection makes room for a new one") {
    auto factory = limited({.maxConnections = 1, .maxPerHost = 1});
    Connection first = accept(*factory, peer("127.0.0.1"));
    CHECK(accept(*factory, peer("127.0.0.1")).protocol == nullptr);
    first.lose();
    CHECK(factory->connectionCount() == 0);
    CHECK(factory->connectionCount("127.0.0.1") == 0);
    CHECK(accept(*factory, peer("127.0.0.1")).protocol != nullptr);
}

TEST_CASE("a protocol destroyed without a connection still gives its place back") {
    auto factory = limited({.maxConnections = 1, .maxPerHost = 0});
    auto unused = factory->buildProtocol(peer("127.0.0.1"));
    CHECK(factory->connectionCount() == 1);
    unused.reset();
    CHECK(factory->connectionCount() == 0);
}

TEST_CASE("a connection counts once however it ends") {
    auto factory = limited({.maxConnections = 0, .maxPerHost = 0});
    {
        Connection connection = accept(*factory, peer("127.0.0.1"));
        CHECK(factory->connectionCount() == 1);
        connection.lose();
        CHECK(factory->connectionCount() == 0);
    }
    CHECK(factory->connectionCount() == 0);
}

TEST_CASE("no limit set lets every connection in") {
    auto factory = limited({});
    std::vector<Connection> connections;
    for (std::uint16_t port = 1; port <= 100; ++port) {
        connections.push_back(accept(*factory, peer("127.0.0.1", port)));
        CHECK(connections.back().protocol != nullptr);
    }
    CHECK(factory->connectionCount() == 100);
}

TEST_CASE("a refusal by the wrapped factory is passed on and not counted") {
    auto refusing = std::make_shared<twine::ServerFactory>(
        []() -> std::unique_ptr<twine::Protocol> { return nullptr; });
    auto factory = twine::limitConnections(refusing, {.maxConnections = 1, .maxPerHost = 0});
    CHECK(accept(*factory, peer("127.0.0.1")).protocol == nullptr);
    CHECK(factory->connectionCount() == 0);
}

TEST_CASE("starting and stopping the limiting factory starts and stops the wrapped one") {
    auto inner = twine::ServerFactory::forProtocol<Recorder>(std::make_shared<Events>());
    auto factory = twine::limitConnections(inner, {});
    factory->doStart();
    CHECK(inner->numPorts() == 1);
    factory->doStop();
    CHECK(inner->numPorts() == 0);
}

TEST_CASE("wrapping no factory is a clear error") {
    CHECK_THROWS_AS(twine::limitConnections(nullptr, {}), std::invalid_argument);
}
