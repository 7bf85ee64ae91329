#include <doctest/doctest.h>

#include <twine/core/clock.hpp>
#include <twine/core/datagram_protocol.hpp>
#include <twine/protocols/datagram_echo.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using twine::Address;

namespace {

/// Records every datagram written, as StringTransport does for streams.
class FakeDatagramTransport : public twine::DatagramTransport {
public:
    struct Sent {
        std::string data;
        Address to;
    };
    std::vector<Sent> sent;

    void write(std::string_view datagram, const Address& to) override {
        sent.push_back({std::string(datagram), to});
    }
    void write(std::string_view) override { throw std::logic_error("not connected"); }
    void connect(const std::string&, std::uint16_t) override {}
    Address getHost() const override { return Address::ipv4("127.0.0.1", 7007); }
    Address getPeer() const override { return Address(); }
    void loseConnection() override {}
};

struct EchoFixture {
    twine::Clock clock;
    FakeDatagramTransport transport;
    twine::DatagramEcho echo;

    explicit EchoFixture(twine::DatagramEchoLimits limits = {}) : echo(clock, limits) {
        echo.makeConnection(transport);
    }
};

const Address client = Address::ipv4("192.0.2.10", 40000);

}  // namespace

TEST_CASE("the datagram echo sends each datagram back to its source, byte for byte") {
    EchoFixture f;
    const std::string binary("a\0b\xff\n", 5);
    f.echo.datagramReceived("hello", client);
    f.echo.datagramReceived(binary, Address::ipv6("2001:db8::1", 50000));
    f.echo.datagramReceived("", client);

    REQUIRE(f.transport.sent.size() == 3);
    CHECK(f.transport.sent[0].data == "hello");
    CHECK(f.transport.sent[0].to == client);
    CHECK(f.transport.sent[1].data == binary);
    CHECK(f.transport.sent[1].to == Address::ipv6("2001:db8::1", 50000));
    CHECK(f.transport.sent[2].data.empty());
    CHECK(f.echo.echoed() == 3);
}

TEST_CASE("the datagram echo never sends more bytes than it received") {
    EchoFixture f({.ratePerSecond = 0});
    std::size_t received = 0;
    for (std::size_t size : {1u, 7u, 512u, 1500u, 9000u, 65507u}) {
        f.echo.datagramReceived(std::string(size, 'x'), client);
        received += size;
    }
    std::size_t sent = 0;
    for (const auto& datagram : f.transport.sent) sent += datagram.data.size();
    CHECK(f.transport.sent.size() == 6);
    CHECK(sent == received);
}

TEST_CASE("the datagram echo ignores sources on privileged ports (CVE-2024-2169)") {
    EchoFixture f;
    for (std::uint16_t port : {0, 7, 19, 53, 123, 1023}) {
        f.echo.datagramReceived("loop?", Address::ipv4("192.0.2.20", port));
    }
    CHECK(f.transport.sent.empty());
    CHECK(f.echo.refusedPrivilegedPort() == 6);

    f.echo.datagramReceived("fine", Address::ipv4("192.0.2.20", 1024));
    REQUIRE(f.transport.sent.size() == 1);
    CHECK(f.transport.sent[0].to.port() == 1024);
}

TEST_CASE("the datagram echo rate-limits a source to its burst, then to its rate") {
    EchoFixture f({.ratePerSecond = 10, .burst = 5});
    for (int i = 0; i < 20; ++i) f.echo.datagramReceived("x", client);
    CHECK(f.transport.sent.size() == 5);
    CHECK(f.echo.refusedRateLimited() == 15);

    f.clock.advance(500ms);  // 10 per second: 5 more tokens
    for (int i = 0; i < 20; ++i) f.echo.datagramReceived("x", client);
    CHECK(f.transport.sent.size() == 10);

    f.clock.advance(1h);  // refills only up to the burst
    for (int i = 0; i < 20; ++i) f.echo.datagramReceived("x", client);
    CHECK(f.transport.sent.size() == 15);
}

TEST_CASE("the datagram echo limits each source IP separately, whatever its port") {
    EchoFixture f({.ratePerSecond = 1, .burst = 2});
    for (int i = 0; i < 5; ++i) {
        f.echo.datagramReceived("a",
                                Address::ipv4("192.0.2.1", static_cast<std::uint16_t>(5000 + i)));
    }
    for (int i = 0; i < 5; ++i) f.echo.datagramReceived("b", Address::ipv4("192.0.2.2", 5000));
    CHECK(f.transport.sent.size() == 4);  // two from each IP, port changes do not help
}

TEST_CASE("the datagram echo remembers a bounded number of sources") {
    EchoFixture f({.ratePerSecond = 1, .burst = 1, .maxSources = 3});
    for (int i = 0; i < 1000; ++i) {
        f.echo.datagramReceived("x", Address::ipv4("198.51.100." + std::to_string(i % 250), 4000));
        CHECK(f.echo.trackedSources() <= 3);
    }
    CHECK(f.echo.trackedSources() == 3);
}

TEST_CASE("the datagram echo with rate limiting off echoes everything") {
    EchoFixture f({.ratePerSecond = 0});
    for (int i = 0; i < 10000; ++i) f.echo.datagramReceived("x", client);
    CHECK(f.transport.sent.size() == 10000);
    CHECK(f.echo.trackedSources() == 0);
}

TEST_CASE("bad datagram echo limits are refused with a clear error") {
    twine::Clock clock;
    CHECK_THROWS_AS(twine::DatagramEcho(clock, {.ratePerSecond = -1}), std::invalid_argument);
    CHECK_THROWS_AS(twine::DatagramEcho(clock, {.burst = 0}), std::invalid_argument);
    CHECK_THROWS_AS(twine::DatagramEcho(clock, {.maxSources = 0}), std::invalid_argument);
}

TEST_CASE("a datagram protocol has its transport from makeConnection until stopProtocol returns") {
    struct Recorder : twine::DatagramProtocol {
        std::vector<std::string> events;
        void startProtocol() override {
            events.push_back(hasTransport() ? "start with transport" : "start without");
        }
        void stopProtocol() override {
            events.push_back(hasTransport() ? "stop with transport" : "stop without");
        }
    };
    Recorder protocol;
    FakeDatagramTransport transport;
    CHECK_THROWS_AS(protocol.transport(), std::logic_error);

    protocol.makeConnection(transport);
    CHECK(&protocol.transport() == &transport);
    CHECK_THROWS_AS(protocol.makeConnection(transport), std::logic_error);

    protocol.doStop();
    CHECK_FALSE(protocol.hasTransport());
    CHECK(protocol.events ==
          std::vector<std::string>{"start with transport", "stop with transport"});
}

TEST_CASE("a fake datagram transport refuses multicast calls with a clear error") {
    FakeDatagramTransport transport;
    CHECK_THROWS_WITH_AS(transport.joinGroup("228.0.0.5"),
                         "joinGroup is not supported by this transport", std::logic_error);
    CHECK_THROWS_AS(transport.setTTL(2), std::logic_error);
}
