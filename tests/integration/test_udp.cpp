#include <doctest/doctest.h>

#include <twine/core/datagram_protocol.hpp>
#include <twine/core/error.hpp>
#include <twine/core/log.hpp>
#include <twine/core/port.hpp>
#include <twine/core/reactor.hpp>
#include <twine/protocols/datagram_echo.hpp>
#include <twine/transports/udp_port.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using twine::Address;
using twine::Reactor;

namespace {

/// A DatagramProtocol whose events are lambdas, for tests.
struct Peer : twine::DatagramProtocol {
    std::function<void(std::string_view, const Address&)> onDatagram;
    std::function<void()> onRefused;
    int started = 0;
    int stopped = 0;

    void startProtocol() override { ++started; }
    void stopProtocol() override { ++stopped; }
    void datagramReceived(std::string_view data, const Address& from) override {
        if (onDatagram) onDatagram(data, from);
    }
    void connectionRefused() override {
        if (onRefused) onRefused();
    }
};

/// Bounds a test's wait: fails it and stops the reactor if `limit` passes.
twine::DelayedCall guard(Reactor& reactor, twine::Duration limit = 10s) {
    return reactor.callLater(limit, [&reactor] {
        FAIL_CHECK("timed out waiting for UDP traffic");
        reactor.stop();
    });
}

/// Ends a test's run once (later calls do nothing, as after the guard fired).
void finish(Reactor& reactor, twine::DelayedCall& timeout) {
    if (!timeout.active()) return;
    timeout.cancel();
    reactor.stop();
}

/// Whether a plain socket can bind 127.0.0.1:port (the port was released).
bool portIsFree(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return bound;
}

Address local(const std::shared_ptr<twine::Port>& port, bool ipv6) {
    return ipv6 ? Address::ipv6("::1", port->getHost().port())
                : Address::ipv4("127.0.0.1", port->getHost().port());
}

// --- 10,000 datagrams through the safe echo ------------------------------------

/// Sends `total` numbered datagrams of sizes from 1 byte to past the UDP
/// maximum through an echo, in bounded windows, and accounts for every one:
/// echoed byte-exact, or refused with MessageLengthError at the sender. UDP
/// may drop: a window with no progress for a while is resent, a bounded
/// number of times, so a slow machine only causes duplicates (recognised).
class EchoExchange {
public:
    static constexpr std::uint32_t total = 10000;
    static constexpr std::size_t windowCount = 64;  // < 256: the first byte names the datagram
    static constexpr std::size_t windowBytes = 96 * 1024;
    static constexpr int maxAttempts = 40;

    EchoExchange(Reactor& reactor, std::shared_ptr<Peer> client, Address server)
        : reactor_(reactor),
          client_(std::move(client)),
          server_(std::move(server)),
          state_(total, State::pending),
          attempts_(total, 0) {
        client_->onDatagram = [this](std::string_view data, const Address&) { echoed(data); };
    }

    static std::size_t sizeOf(std::uint32_t seq) {
        static const std::size_t edges[] = {1,     2,     3,     4,     5,     1472,  1473,
                                            65507, 65508, 65527, 65528, 65535, 65536, 65540};
        if (seq < std::size(edges)) return edges[seq];
        std::uint32_t h = seq * 2654435761u;
        h ^= h >> 15;
        return seq % 5 == 0 ? 1 + h % 65540 : 1 + h % 2048;  // a fifth up to 64 KiB and past
    }

    static std::string payload(std::uint32_t seq) {
        std::string data(sizeOf(seq), '\0');
        for (std::size_t i = 0; i < data.size(); ++i) {
            data[i] = static_cast<char>(i < 4 ? seq >> (8 * i) : seq * 31 + i * 7 + (i >> 8));
        }
        return data;
    }

    void start() { nextWindow(); }

    std::uint64_t echoes = 0, refusals = 0, duplicates = 0, corrupt = 0, resent = 0;
    bool gaveUp = false;

private:
    enum class State : std::uint8_t { pending, echoed, refused };

    void nextWindow() {
        begin_ = end_;
        if (begin_ == total) {
            reactor_.stop();
            return;
        }
        std::size_t bytes = 0;
        while (end_ < total && end_ - begin_ < windowCount &&
               (end_ == begin_ || bytes + sizeOf(end_) <= windowBytes)) {
            bytes += sizeOf(end_++);
        }
        outstanding_ = end_ - begin_;
        for (std::uint32_t seq = begin_; seq < end_; ++seq) send(seq);
        progress_ = true;  // a fresh window gets a full tick before any resend
        if (!timer_.active()) timer_ = reactor_.callLater(200ms, [this] { checkProgress(); });
        if (outstanding_ == 0) nextWindow();
    }

    void send(std::uint32_t seq) {
        ++attempts_[seq];
        try {
            client_->transport().write(payload(seq), server_);
        } catch (const twine::MessageLengthError&) {
            state_[seq] = State::refused;
            ++refusals;
            --outstanding_;
        }
    }

    void echoed(std::string_view data) {
        if (data.empty()) {
            ++corrupt;
            return;
        }
        const auto first = static_cast<std::uint8_t>(data[0]);
        const std::uint32_t seq = begin_ + static_cast<std::uint8_t>(first - begin_);
        if (seq < end_ && state_[seq] == State::pending && data == payload(seq)) {
            state_[seq] = State::echoed;
            ++echoes;
            progress_ = true;
            if (--outstanding_ == 0) nextWindow();
        } else if (wasSent(data)) {
            ++duplicates;
        } else {
            ++corrupt;
        }
    }

    // Rare: an echo of a datagram sent twice. Is it byte-exact some datagram?
    bool wasSent(std::string_view data) const {
        for (std::uint32_t seq = 0; seq < end_; ++seq) {
            if (sizeOf(seq) == data.size() &&
                static_cast<std::uint8_t>(seq) == static_cast<std::uint8_t>(data[0]) &&
                data == payload(seq)) {
                return true;
            }
        }
        return false;
    }

    void checkProgress() {
        if (begin_ == total) return;
        if (!progress_) {
            for (std::uint32_t seq = begin_; seq < end_; ++seq) {
                if (state_[seq] != State::pending) continue;
                if (attempts_[seq] >= maxAttempts) {
                    gaveUp = true;
                    reactor_.stop();
                    return;
                }
                ++resent;
                send(seq);
            }
        }
        progress_ = false;
        timer_ = reactor_.callLater(200ms, [this] { checkProgress(); });
    }

    Reactor& reactor_;
    std::shared_ptr<Peer> client_;
    Address server_;
    std::vector<State> state_;
    std::vector<int> attempts_;
    std::uint32_t begin_ = 0, end_ = 0;
    std::size_t outstanding_ = 0;
    bool progress_ = false;
    twine::DelayedCall timer_;
};

void exchangeThroughEcho(bool ipv6) {
    Reactor reactor;
    const std::string interface = ipv6 ? "::1" : "127.0.0.1";
    auto echo = std::make_shared<twine::DatagramEcho>(
        reactor, twine::DatagramEchoLimits{.ratePerSecond = 0});
    auto serverPort = reactor.listenUDP(0, echo, {.interface = interface});
    auto client = std::make_shared<Peer>();
    reactor.listenUDP(0, client, {.interface = interface});

    EchoExchange exchange(reactor, client, local(serverPort, ipv6));
    auto timeout = guard(reactor, 60s);
    exchange.start();
    reactor.run();

    const std::size_t limit =
        ipv6 ? twine::UDPPort::maxIPv6Datagram : twine::UDPPort::maxIPv4Datagram;
    std::uint64_t tooLong = 0;
    for (std::uint32_t seq = 0; seq < EchoExchange::total; ++seq) {
        if (EchoExchange::sizeOf(seq) > limit) ++tooLong;
    }
    CHECK_FALSE(exchange.gaveUp);
    CHECK(exchange.corrupt == 0);
    CHECK(exchange.refusals == tooLong);
    CHECK(exchange.echoes + exchange.refusals == EchoExchange::total);
    CHECK(echo->echoed() >= exchange.echoes);
    MESSAGE("echoed ", exchange.echoes, ", refused as too long ", exchange.refusals,
            ", resent after loss ", exchange.resent, ", duplicate echoes ", exchange.duplicates);
}

}  // namespace

TEST_CASE("10,000 datagrams of 1 B to 64 KiB go through the UDP echo over IPv4, each accounted") {
    exchangeThroughEcho(false);
}

TEST_CASE("10,000 datagrams of 1 B to 64 KiB go through the UDP echo over IPv6, each accounted") {
    exchangeThroughEcho(true);
}

// --- Ports ----------------------------------------------------------------------

TEST_CASE("listenUDP on port 0 picks a free port that getHost reports, IPv4 and IPv6") {
    Reactor reactor;
    auto v4 = reactor.listenUDP(0, std::make_shared<Peer>(), {.interface = "127.0.0.1"});
    auto v6 = reactor.listenUDP(0, std::make_shared<Peer>(), {.interface = "::1"});
    CHECK(v4->getHost().family() == Address::Family::ipv4);
    CHECK(v4->getHost().host() == "127.0.0.1");
    CHECK(v4->getHost().port() != 0);
    CHECK(v6->getHost().family() == Address::Family::ipv6);
    CHECK(v6->getHost().host() == "::1");
    CHECK(v6->getHost().port() != 0);
    v4->stopListening();
    v6->stopListening();
}

TEST_CASE("a datagram goes from one UDP port to another with its source address") {
    Reactor reactor;
    auto timeout = guard(reactor);
    auto receiver = std::make_shared<Peer>();
    auto sender = std::make_shared<Peer>();
    auto receiverPort = reactor.listenUDP(0, receiver, {.interface = "127.0.0.1"});
    auto senderPort = reactor.listenUDP(0, sender, {.interface = "127.0.0.1"});
    std::string got;
    Address from;
    receiver->onDatagram = [&](std::string_view data, const Address& source) {
        got = data;
        from = source;
        finish(reactor, timeout);
    };
    sender->transport().write("hello", local(receiverPort, false));
    reactor.run();
    CHECK(got == "hello");
    CHECK(from == senderPort->getHost());
}

TEST_CASE("stopListening calls stopProtocol, fires once closed, and frees the port") {
    Reactor reactor;
    auto timeout = guard(reactor);
    auto protocol = std::make_shared<Peer>();
    auto port = reactor.listenUDP(0, protocol, {.interface = "127.0.0.1"});
    const std::uint16_t number = port->getHost().port();
    CHECK(protocol->started == 1);
    bool closed = false;
    port->stopListening().addCallback([&] {
        closed = true;
        finish(reactor, timeout);
    });
    CHECK(protocol->stopped == 1);
    CHECK_FALSE(protocol->hasTransport());
    port->stopListening();  // harmless
    reactor.run();
    CHECK(closed);
    CHECK(protocol->stopped == 1);
    CHECK(port->stopListening().called());
    CHECK(portIsFree(number));
}

TEST_CASE("reactor shutdown closes a UDP port and calls stopProtocol") {
    Reactor reactor;
    auto timeout = guard(reactor);
    auto protocol = std::make_shared<Peer>();
    reactor.listenUDP(0, protocol, {.interface = "127.0.0.1"});  // the handle is dropped
    reactor.callLater(0s, [&] { finish(reactor, timeout); });
    reactor.run();
    CHECK(protocol->stopped == 1);
}

TEST_CASE("a connected UDP port hears of a closed peer port through connectionRefused") {
    for (bool ipv6 : {false, true}) {
        CAPTURE(ipv6);
        Reactor reactor;
        auto timeout = guard(reactor);
        // A port number nobody listens on: bind one, then close it.
        std::uint16_t closedPort = 0;
        {
            auto probe = reactor.listenUDP(0, std::make_shared<Peer>(),
                                           {.interface = ipv6 ? "::1" : "127.0.0.1"});
            closedPort = probe->getHost().port();
            probe->stopListening();
        }
        auto client = std::make_shared<Peer>();
        reactor.listenUDP(0, client, {.interface = ipv6 ? "::1" : "127.0.0.1"});
        client->transport().connect(ipv6 ? "::1" : "127.0.0.1", closedPort);
        CHECK(client->transport().getPeer().port() == closedPort);

        int refusals = 0;
        int sends = 0;
        client->onRefused = [&] {
            ++refusals;
            finish(reactor, timeout);
        };
        std::function<void()> ping = [&] {
            if (refusals > 0 || ++sends > 50) return;
            client->transport().write("anyone?");
            reactor.callLater(100ms, ping);  // ICMP may be lost too: ask again, boundedly
        };
        reactor.callLater(0s, ping);
        reactor.run();
        CHECK(refusals >= 1);
    }
}

TEST_CASE("a datagram too long for UDP is refused with MessageLengthError at the sender") {
    Reactor reactor;
    auto v4 = std::make_shared<Peer>();
    auto v6 = std::make_shared<Peer>();
    reactor.listenUDP(0, v4, {.interface = "127.0.0.1"});
    reactor.listenUDP(0, v6, {.interface = "::1"});
    const Address to4 = Address::ipv4("127.0.0.1", 9);
    const Address to6 = Address::ipv6("::1", 9);
    CHECK_THROWS_WITH_AS(v4->transport().write(std::string(65508, 'x'), to4),
                         doctest::Contains("65508 bytes is too long"), twine::MessageLengthError);
    CHECK_THROWS_AS(v4->transport().write(std::string(1 << 20, 'x'), to4),
                    twine::MessageLengthError);
    CHECK_THROWS_WITH_AS(v6->transport().write(std::string(65528, 'x'), to6),
                         doctest::Contains("65528 bytes is too long"), twine::MessageLengthError);
    CHECK_NOTHROW(v4->transport().write(std::string(65507, 'x'), Address::ipv4("127.0.0.1", 4000)));
    CHECK_NOTHROW(v6->transport().write(std::string(65527, 'x'), Address::ipv6("::1", 4000)));
}

TEST_CASE("bad UDP addresses and misuse are refused with clear errors") {
    Reactor reactor;
    auto v4 = std::make_shared<Peer>();
    reactor.listenUDP(0, v4, {.interface = "127.0.0.1"});
    auto& transport = v4->transport();

    CHECK_THROWS_WITH_AS(transport.write("x", Address::ipv4("localhost", 53)),
                         doctest::Contains("not a numeric IP address"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(transport.write("x", Address::unixPath("/tmp/x")),
                         doctest::Contains("not an IP address"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(transport.write("x", Address()), doctest::Contains("not an IP address"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(transport.write("x", Address::ipv4("127.0.0.1", 0)),
                         doctest::Contains("port 0"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(transport.write("x", Address::ipv6("::1", 4000)),
                         doctest::Contains("cannot send to IPv6"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(transport.write("x"), doctest::Contains("not connected"),
                         std::logic_error);
    CHECK_THROWS_WITH_AS(transport.connect("localhost", 53), doctest::Contains("not an IP address"),
                         std::invalid_argument);
    CHECK_THROWS_AS(transport.setTTL(256), std::invalid_argument);
    CHECK_THROWS_AS(transport.joinGroup("not-a-group"), std::invalid_argument);

    transport.connect("127.0.0.1", 4000);
    CHECK_THROWS_WITH_AS(transport.connect("127.0.0.1", 4001),
                         doctest::Contains("already connected"), std::logic_error);
    CHECK_THROWS_WITH_AS(transport.write("x", Address::ipv4("127.0.0.1", 4001)),
                         doctest::Contains("connected to 127.0.0.1:4000"), std::invalid_argument);

    CHECK_THROWS_WITH_AS(reactor.listenUDP(0, std::make_shared<Peer>(), {.interface = "bogus"}),
                         doctest::Contains("'bogus' is not an IPv4 or IPv6 address"),
                         std::invalid_argument);
    CHECK_THROWS_AS(
        reactor.listenUDP(0, std::make_shared<Peer>(), {.interface = "", .maxPacketSize = 0}),
        std::invalid_argument);
    CHECK_THROWS_AS(reactor.listenUDP(0, nullptr), std::invalid_argument);
    const std::uint16_t taken = transport.getHost().port();
    CHECK_THROWS_WITH_AS(
        reactor.listenUDP(taken, std::make_shared<Peer>(), {.interface = "127.0.0.1"}),
        doctest::Contains(("Couldn't listen on 127.0.0.1:" + std::to_string(taken)).c_str()),
        twine::CannotListenError);
}

TEST_CASE("an exception in datagramReceived is logged and the port keeps serving") {
    Reactor reactor;
    auto timeout = guard(reactor);
    std::vector<std::string> logged;
    twine::log::setObserver([&](const twine::log::Event& event) {
        if (event.level == twine::log::Level::error) logged.emplace_back(event.message);
    });
    auto receiver = std::make_shared<Peer>();
    auto sender = std::make_shared<Peer>();
    auto receiverPort = reactor.listenUDP(0, receiver, {.interface = "127.0.0.1"});
    reactor.listenUDP(0, sender, {.interface = "127.0.0.1"});
    std::vector<std::string> got;
    receiver->onDatagram = [&](std::string_view data, const Address&) {
        got.emplace_back(data);
        if (data == "boom") throw std::runtime_error("user code failed");
        finish(reactor, timeout);
    };
    sender->transport().write("boom", local(receiverPort, false));
    sender->transport().write("still here", local(receiverPort, false));
    reactor.run();
    twine::log::setObserver({});
    CHECK(got == std::vector<std::string>{"boom", "still here"});
    REQUIRE(logged.size() == 1);
    CHECK(logged[0].find("user code failed") != std::string::npos);
}

TEST_CASE("a datagram longer than maxPacketSize is dropped whole, never truncated") {
    Reactor reactor;
    auto timeout = guard(reactor);
    auto receiver = std::make_shared<Peer>();
    auto sender = std::make_shared<Peer>();
    auto receiverPort =
        reactor.listenUDP(0, receiver, {.interface = "127.0.0.1", .maxPacketSize = 100});
    reactor.listenUDP(0, sender, {.interface = "127.0.0.1"});
    std::vector<std::size_t> sizes;
    receiver->onDatagram = [&](std::string_view data, const Address&) {
        sizes.push_back(data.size());
        if (data.size() == 100) finish(reactor, timeout);
    };
    sender->transport().write(std::string(101, 'x'), local(receiverPort, false));
    sender->transport().write(std::string(100, 'y'), local(receiverPort, false));
    reactor.run();
    CHECK(sizes == std::vector<std::size_t>{100});
    auto udp = std::dynamic_pointer_cast<twine::UDPPort>(receiverPort);
    REQUIRE(udp);
    CHECK(udp->droppedDatagrams() == 1);
}

TEST_CASE("an IPv6 UDP port on :: answers IPv4 peers too") {
    Reactor reactor;
    auto timeout = guard(reactor);
    auto echo = std::make_shared<twine::DatagramEcho>(reactor);
    auto serverPort = reactor.listenUDP(0, echo, {.interface = "::"});
    auto client = std::make_shared<Peer>();
    reactor.listenUDP(0, client, {.interface = "127.0.0.1"});
    std::string got;
    client->onDatagram = [&](std::string_view data, const Address&) {
        got = data;
        finish(reactor, timeout);
    };
    client->transport().write("v4 to dual stack", local(serverPort, false));
    reactor.run();
    CHECK(got == "v4 to dual stack");
}

TEST_CASE("the safe echo does not answer a source on a privileged port") {
    Reactor reactor;
    auto echo = std::make_shared<twine::DatagramEcho>(reactor);
    auto serverPort = reactor.listenUDP(0, echo, {.interface = "127.0.0.1"});
    auto fakeService = std::make_shared<Peer>();  // root may bind port 7 here: use 1023 if free
    std::shared_ptr<twine::Port> privileged;
    try {
        privileged = reactor.listenUDP(1023, fakeService, {.interface = "127.0.0.1"});
    } catch (const twine::CannotListenError& e) {
        MESSAGE("skipped: cannot bind a privileged port here: ", e.what());
        return;
    }
    auto timeout = guard(reactor);
    auto client = std::make_shared<Peer>();
    reactor.listenUDP(0, client, {.interface = "127.0.0.1"});
    std::vector<std::string> answers;
    fakeService->onDatagram = [&](std::string_view data, const Address&) {
        answers.emplace_back(data);
    };
    // Loopback keeps order: once the unprivileged client's echo is back, the
    // privileged one (sent first) has been handled, and ignored.
    client->onDatagram = [&](std::string_view, const Address&) { finish(reactor, timeout); };
    fakeService->transport().write("loop me", local(serverPort, false));
    client->transport().write("echo me", local(serverPort, false));
    reactor.run();
    CHECK(answers.empty());
    CHECK(echo->refusedPrivilegedPort() == 1);
    CHECK(echo->echoed() == 1);
}

TEST_CASE("a datagram protocol may stop its own port from datagramReceived") {
    Reactor reactor;
    auto timeout = guard(reactor);
    auto receiver = std::make_shared<Peer>();
    auto sender = std::make_shared<Peer>();
    auto receiverPort = reactor.listenUDP(0, receiver, {.interface = "127.0.0.1"});
    reactor.listenUDP(0, sender, {.interface = "127.0.0.1"});
    int received = 0;
    receiver->onDatagram = [&](std::string_view, const Address&) {
        ++received;
        receiver->transport().loseConnection();
        receiverPort->stopListening().addCallback([&] { finish(reactor, timeout); });
    };
    // Three datagrams, likely read in one batch: none is delivered after the stop.
    for (int i = 0; i < 3; ++i) sender->transport().write("x", local(receiverPort, false));
    reactor.run();
    CHECK(received == 1);
    CHECK(receiver->stopped == 1);
    CHECK_FALSE(receiver->hasTransport());
}
