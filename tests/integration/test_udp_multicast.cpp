#include <doctest/doctest.h>

#include <twine/core/datagram_protocol.hpp>
#include <twine/core/port.hpp>
#include <twine/core/reactor.hpp>

#include <sched.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

// Multicast must never leave the machine, and this host routes 224.0.0.0/4 to
// its real network. So the tests move this process into a network namespace
// of its own (unshare: it has no name to delete; the kernel frees it when the
// process exits, even after a crash) holding a loopback interface and a veth
// pair with 198.18.0.1/24 (IPv6 uses the pair's link-local addresses). The
// sender's multicast loopback delivers each datagram to the local member.
// Without the privilege to do so (or without ip(8)) the tests skip.

using namespace std::chrono_literals;
using twine::Address;
using twine::Reactor;

namespace {

constexpr const char* interfaceV4 = "198.18.0.1";
constexpr const char* interfaceV6 = "::%twmc0";  // libuv reads the scope as the interface

/// Enters the private namespace once; returns why not if it cannot.
const std::string& privateNetwork() {
    static const std::string problem = []() -> std::string {
        if (::unshare(CLONE_NEWNET) != 0) {
            return std::string("unshare(CLONE_NEWNET) failed: ") + std::strerror(errno);
        }
        const char* setup =
            "sysctl -qw net.ipv6.conf.default.accept_dad=0 && "  // link-local usable at once
            "ip link set lo up && "
            "ip link add twmc0 type veth peer name twmc1 && "
            "ip link set twmc1 up && ip link set twmc0 up && "
            "ip addr add 198.18.0.1/24 dev twmc0 && "
            "ip route add 224.0.0.0/4 dev twmc0";
        if (std::system(setup) != 0) return "could not configure the namespace with ip(8)";
        return "";
    }();
    return problem;
}

bool skipWithoutNamespace() {
    if (privateNetwork().empty()) return false;
    MESSAGE("skipped: no private network namespace (", privateNetwork(), ")");
    return true;
}

struct Peer : twine::DatagramProtocol {
    std::function<void(std::string_view, const Address&)> onDatagram;
    void datagramReceived(std::string_view data, const Address& from) override {
        if (onDatagram) onDatagram(data, from);
    }
};

/// Joins `group` on a receiving port, sends to it from another port, and
/// returns what arrived (resending boundedly: UDP may drop).
std::string sendToGroup(bool ipv6, const std::string& group) {
    Reactor reactor;
    std::string got;
    auto timeout = reactor.callLater(10s, [&] {
        FAIL_CHECK("timed out waiting for the multicast datagram");
        reactor.stop();
    });
    auto receiver = std::make_shared<Peer>();
    auto sender = std::make_shared<Peer>();
    auto receiverPort = reactor.listenUDP(0, receiver, {.interface = ipv6 ? "::" : "0.0.0.0"});
    reactor.listenUDP(0, sender, {.interface = ipv6 ? "::" : "0.0.0.0"});
    const std::string interface = ipv6 ? interfaceV6 : interfaceV4;

    receiver->transport().joinGroup(group, interface);
    sender->transport().setOutgoingInterface(interface);
    sender->transport().setTTL(1);
    sender->transport().setLoopbackMode(true);
    CHECK(sender->transport().getTTL() == 1);
    CHECK(sender->transport().getLoopbackMode());

    receiver->onDatagram = [&](std::string_view data, const Address&) {
        if (!got.empty()) return;  // a resent copy
        got = data;
        timeout.cancel();
        reactor.stop();
    };
    const Address to = ipv6 ? Address::ipv6(group, receiverPort->getHost().port())
                            : Address::ipv4(group, receiverPort->getHost().port());
    int sends = 0;
    std::function<void()> send = [&] {
        if (!got.empty() || ++sends > 50) return;
        sender->transport().write("to the group", to);
        reactor.callLater(100ms, send);
    };
    reactor.callLater(0s, send);
    reactor.run();
    return got;
}

}  // namespace

TEST_CASE("a UDP port that joins an IPv4 multicast group receives datagrams sent to it") {
    if (skipWithoutNamespace()) return;
    CHECK(sendToGroup(false, "228.0.0.5") == "to the group");
}

TEST_CASE("a UDP port that joins an IPv6 multicast group receives datagrams sent to it") {
    if (skipWithoutNamespace()) return;
    CHECK(sendToGroup(true, "ff02::1:7777") == "to the group");
}

TEST_CASE("joining and leaving multicast groups reports bad groups clearly") {
    if (skipWithoutNamespace()) return;
    Reactor reactor;
    auto peer = std::make_shared<Peer>();
    auto port = reactor.listenUDP(0, peer, {.interface = "0.0.0.0"});
    auto& transport = peer->transport();

    CHECK_NOTHROW(transport.joinGroup("228.0.0.6", interfaceV4));
    CHECK_THROWS_AS(transport.joinGroup("228.0.0.6", interfaceV4), twine::MulticastJoinError);
    CHECK_NOTHROW(transport.leaveGroup("228.0.0.6", interfaceV4));
    CHECK_THROWS_AS(transport.leaveGroup("228.0.0.6", interfaceV4), twine::MulticastJoinError);
    CHECK_THROWS_AS(transport.joinGroup("127.0.0.1"), std::invalid_argument);  // not multicast
    CHECK_THROWS_AS(transport.joinGroup("no-such-group"), std::invalid_argument);

    transport.setLoopbackMode(false);
    CHECK_FALSE(transport.getLoopbackMode());
    transport.setTTL(5);
    CHECK(transport.getTTL() == 5);
    transport.setBroadcastAllowed(true);
    CHECK(transport.getBroadcastAllowed());
    port->stopListening();
}

TEST_CASE("a multicast join that fails in startProtocol fails listenUDP and closes the port") {
    struct Joiner : Peer {
        int stops = 0;
        void startProtocol() override { transport().joinGroup("10.0.0.1"); }  // not a group
        void stopProtocol() override { ++stops; }
    };
    Reactor reactor;
    auto joiner = std::make_shared<Joiner>();
    CHECK_THROWS_AS(reactor.listenUDP(0, joiner, {.interface = "0.0.0.0"}), std::invalid_argument);
    CHECK_FALSE(joiner->hasTransport());
    CHECK(joiner->stops == 1);
}
