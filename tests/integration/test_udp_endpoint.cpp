#include <doctest/doctest.h>

#include <twine/core/datagram_protocol.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/failure.hpp>
#include <twine/core/reactor.hpp>
#include <twine/protocols/datagram_echo.hpp>
#include <twine/transports/udp_endpoint.hpp>

#include <memory>
#include <stdexcept>
#include <string>

using twine::EndpointParameters;

namespace {

std::unique_ptr<twine::ServerEndpoint> udpEndpoint(twine::Reactor& reactor,
                                                   const std::string& description) {
    EndpointParameters parameters = EndpointParameters::parse(description);
    return twine::detail::parseUDPServer(reactor, parameters,
                                         parameters.type() == "udp6" ? "::" : "");
}

/// The failure a Deferred fired with, or an empty string if it succeeded.
template <class T>
std::string failureOf(twine::Deferred<T> deferred) {
    std::string what;
    deferred.addErrback([&](const twine::Failure& failure) -> T {
        what = failure.typeName() + ": " + failure.what();
        return T();
    });
    return what;
}

}  // namespace

TEST_CASE("a udp: endpoint listens with a DatagramProtocol and describes itself") {
    twine::Reactor reactor;
    auto endpoint = udpEndpoint(reactor, "udp:0:interface=127.0.0.1:maxPacketSize=1500");
    CHECK(endpoint->describe() == "udp:0:interface=127.0.0.1:maxPacketSize=1500");
    std::shared_ptr<twine::Port> port;
    twine::listenDatagram(*endpoint, std::make_shared<twine::DatagramEcho>(reactor))
        .addCallback([&](const std::shared_ptr<twine::Port>& bound) { port = bound; });
    REQUIRE(port);
    CHECK(port->getHost().host() == "127.0.0.1");
    CHECK(port->getHost().port() != 0);
    CHECK(twine::describeUDPAddress(port->getHost()) ==
          "udp:" + std::to_string(port->getHost().port()) + ":interface=127.0.0.1");
    port->stopListening();
}

TEST_CASE("a udp6: endpoint binds IPv6") {
    twine::Reactor reactor;
    auto endpoint = udpEndpoint(reactor, "udp6:0:interface=\\:\\:1");
    std::shared_ptr<twine::Port> port;
    twine::listenDatagram(*endpoint, std::make_shared<twine::DatagramEcho>(reactor))
        .addCallback([&](const std::shared_ptr<twine::Port>& bound) { port = bound; });
    REQUIRE(port);
    CHECK(port->getHost().family() == twine::Address::Family::ipv6);
    port->stopListening();
}

TEST_CASE("a udp: endpoint refuses a stream factory, and bad descriptions, clearly") {
    twine::Reactor reactor;
    auto endpoint = udpEndpoint(reactor, "udp:9000");
    auto factory = std::make_shared<twine::ServerFactory>();
    CHECK(failureOf(endpoint->listen(factory)).find("is a datagram endpoint") != std::string::npos);
    CHECK(failureOf(twine::listenDatagram(*endpoint, nullptr)).find("null") != std::string::npos);

    CHECK_THROWS_AS(udpEndpoint(reactor, "udp:"), std::invalid_argument);
    CHECK_THROWS_AS(udpEndpoint(reactor, "udp:70000"), std::invalid_argument);
    CHECK_THROWS_AS(udpEndpoint(reactor, "udp:9000:maxPacketSize=0"), std::invalid_argument);
    CHECK_THROWS_AS(udpEndpoint(reactor, "udp:9000:backlog=5"), std::invalid_argument);

    auto bogus = udpEndpoint(reactor, "udp:0:interface=bogus");
    CHECK(failureOf(twine::listenDatagram(*bogus, std::make_shared<twine::DatagramEcho>(reactor)))
              .find("'bogus' is not an IPv4 or IPv6 address") != std::string::npos);
}

TEST_CASE("serverFromString reads udp: and udp6: descriptions") {
    twine::Reactor reactor;
    auto endpoint = twine::serverFromString(reactor, "udp:0:interface=127.0.0.1");
    CHECK(endpoint->describe() == "udp:0:interface=127.0.0.1");
    CHECK(twine::serverFromString(reactor, "udp6:9000")->describe() == "udp6:9000");
    CHECK_THROWS_AS(twine::serverFromString(reactor, "udp:9000:bogus=1"), std::invalid_argument);
}
