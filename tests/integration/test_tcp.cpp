// TCP over loopback: listenTCP, connectTCP and the Connector's outcomes.

#include "test_stream_support.hpp"

#include <twine/core/address.hpp>
#include <twine/core/deferred.hpp>

#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <filesystem>
#include <map>
#include <string>

using namespace stream_test;
using twine::Address;
using twine::Connector;
using twine::Reactor;

namespace {

std::shared_ptr<twine::Port> listenEcho(Reactor& reactor, const std::string& interface) {
    return reactor.listenTCP(0, serverFactory(echo()), {.interface = interface});
}

sockaddr_in loopback(const std::shared_ptr<twine::Port>& port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port->getHost().port());
    return address;
}

/// A factory counting startFactory / stopFactory.
class CountingFactory : public twine::ServerFactory {
public:
    using ServerFactory::ServerFactory;
    void startFactory() override { ++starts; }
    void stopFactory() override { ++stops; }
    int starts = 0;
    int stops = 0;
};

}  // namespace

TEST_CASE("10 MB sent over TCP on IPv4 comes back byte for byte") {
    Reactor reactor;
    auto port = listenEcho(reactor, "127.0.0.1");
    const std::string payload = pattern(10 * 1024 * 1024);
    std::string received = echoed(reactor, payload, [&](std::shared_ptr<Client> client) {
        return reactor.connectTCP("127.0.0.1", port->getHost().port(), client);
    });
    CHECK(received.size() == payload.size());
    CHECK(received == payload);
}

TEST_CASE("10 MB sent over TCP on IPv6 comes back byte for byte") {
    if (!haveIPv6Loopback()) {
        MESSAGE("skipped: no IPv6 loopback here");
        return;
    }
    Reactor reactor;
    auto port = listenEcho(reactor, "::1");
    CHECK(port->getHost().family() == Address::Family::ipv6);
    const std::string payload = pattern(10 * 1024 * 1024);
    std::string received = echoed(reactor, payload, [&](std::shared_ptr<Client> client) {
        return reactor.connectTCP("::1", port->getHost().port(), client);
    });
    CHECK(received == payload);
}

TEST_CASE("listening on port 0 picks a free port that clients can reach") {
    Reactor reactor;
    auto port = listenEcho(reactor, "127.0.0.1");
    CHECK(port->getHost().port() != 0);
    CHECK(port->getHost().host() == "127.0.0.1");
    std::string received = echoed(reactor, "hello", [&](std::shared_ptr<Client> client) {
        return reactor.connectTCP("127.0.0.1", port->getHost().port(), client);
    });
    CHECK(received == "hello");
}

TEST_CASE("100 concurrent clients each get their own data back") {
    Reactor reactor;
    auto port = listenEcho(reactor, "127.0.0.1");
    constexpr int clients = 100;
    std::map<int, std::string> sent;
    std::map<int, std::string> received;
    int finished = 0;
    std::vector<std::shared_ptr<Connector>> connectors;
    for (int i = 0; i < clients; ++i) {
        sent[i] = "client " + std::to_string(i) + ":" + pattern(20000 + i).substr(i);
        Script script;
        script.made = [&, i](Protocol& p) { p.transport().write(sent[i]); };
        script.data = [&, i](Protocol& p, std::string_view data) {
            received[i].append(data);
            if (received[i].size() >= sent[i].size()) p.transport().loseConnection();
        };
        script.lost = [&](const Failure&) {
            if (++finished == clients) stop(reactor);
        };
        auto client = clientFactory(script);
        client->onFailed = [&](Connector&, const Failure& reason) {
            FAIL_CHECK(reason.describe());
            if (++finished == clients) stop(reactor);
        };
        connectors.push_back(reactor.connectTCP("127.0.0.1", port->getHost().port(), client));
    }
    run(reactor, 30s);
    CHECK(finished == clients);
    for (int i = 0; i < clients; ++i) CHECK(received[i] == sent[i]);
}

TEST_CASE("connecting to a port nobody listens on fails with ConnectionRefusedError") {
    Reactor reactor;
    RawSocket closed;  // bound, not listening: connections are refused
    auto client = clientFactory({});
    client->onFailed = [&](Connector& connector, const Failure&) {
        CHECK(connector.state() == Connector::State::disconnected);
        stop(reactor);
    };
    auto connector = reactor.connectTCP("127.0.0.1", closed.port(), client);
    CHECK(connector->state() == Connector::State::connecting);
    CHECK(client->started == 1);
    run(reactor);
    REQUIRE(client->failure.has_value());
    CHECK(client->failure->check<twine::ConnectionRefusedError>());
    CHECK(client->failure->what().find("refused") != std::string::npos);
}

TEST_CASE("connecting to a listener whose backlog is full times out with TimeoutError") {
    Reactor reactor;
    RawSocket full;
    full.listen(0);
    // Never accepted: these fill the queue, and later SYNs are dropped.
    for (int i = 0; i < 3; ++i) full.connectOne();
    auto client = clientFactory({});
    client->onFailed = [&](Connector&, const Failure&) { stop(reactor); };
    auto connector =
        reactor.connectTCP("127.0.0.1", full.port(), client, {.timeout = 300ms, .bindAddress = {}});
    run(reactor);
    REQUIRE(client->failure.has_value());
    CHECK(client->failure->check<twine::TimeoutError>());
    CHECK(connector->state() == Connector::State::disconnected);
}

TEST_CASE("a host name under .invalid fails with DNSLookupError") {
    Reactor reactor;
    auto client = clientFactory({});
    client->onFailed = [&](Connector&, const Failure&) { stop(reactor); };
    auto connector = reactor.connectTCP("no-such-host.invalid", 80, client);
    run(reactor);
    REQUIRE(client->failure.has_value());
    CHECK(client->failure->check<twine::DNSLookupError>());
    CHECK(client->failure->what().find("no-such-host.invalid") != std::string::npos);
}

TEST_CASE("a host name is resolved and each address tried in turn") {
    Reactor reactor;
    // Only IPv4 listens: if "localhost" resolves to ::1 first, that attempt
    // is refused and 127.0.0.1 is tried next.
    auto port = listenEcho(reactor, "127.0.0.1");
    std::string received = echoed(reactor, "by name", [&](std::shared_ptr<Client> client) {
        return reactor.connectTCP("localhost", port->getHost().port(), client);
    });
    CHECK(received == "by name");
}

TEST_CASE("stopListening fires its Deferred and later connections are refused") {
    Reactor reactor;
    auto factory = std::make_shared<CountingFactory>(
        []() -> std::unique_ptr<Protocol> { return std::make_unique<Protocol>(); });
    auto port = reactor.listenTCP(0, factory, {.interface = "127.0.0.1"});
    const std::uint16_t number = port->getHost().port();
    CHECK(factory->starts == 1);
    bool stopped = false;
    auto client = clientFactory({});
    port->stopListening().addCallback([&] {
        stopped = true;
        reactor.connectTCP("127.0.0.1", number, client);
    });
    port->stopListening();  // a second call is harmless
    client->onFailed = [&](Connector&, const Failure&) { stop(reactor); };
    run(reactor);
    CHECK(stopped);
    CHECK(factory->stops == 1);
    REQUIRE(client->failure.has_value());
    CHECK(client->failure->check<twine::ConnectionRefusedError>());
}

TEST_CASE("listening on a port already in use raises CannotListenError with the reason") {
    Reactor reactor;
    auto first = listenEcho(reactor, "127.0.0.1");
    try {
        reactor.listenTCP(first->getHost().port(), serverFactory({}), {.interface = "127.0.0.1"});
        FAIL("the second listen should have failed");
    } catch (const twine::CannotListenError& error) {
        CHECK(std::string(error.what()).find("address already in use") != std::string::npos);
    }
}

TEST_CASE("listening on an interface that is not an IP address raises CannotListenError") {
    Reactor reactor;
    CHECK_THROWS_AS(reactor.listenTCP(0, serverFactory({}), {.interface = "not-an-ip"}),
                    twine::CannotListenError);
}

TEST_CASE("stopConnecting reports clientConnectionFailed with UserError") {
    Reactor reactor;
    RawSocket full;
    full.listen(0);
    for (int i = 0; i < 3; ++i) full.connectOne();
    auto client = clientFactory({});
    auto connector = reactor.connectTCP("127.0.0.1", full.port(), client);
    reactor.callLater(0s, [&] {
        connector->stopConnecting();
        CHECK_THROWS_AS(connector->stopConnecting(), std::logic_error);
        stop(reactor);
    });
    run(reactor);
    REQUIRE(client->failure.has_value());
    CHECK(client->failure->check<twine::UserError>());
}

TEST_CASE("a connector connects again after its connection is lost") {
    Reactor reactor;
    auto port = listenEcho(reactor, "127.0.0.1");
    int connections = 0;
    Script script;
    script.made = [&](Protocol& p) {
        ++connections;
        p.transport().loseConnection();
    };
    auto client = clientFactory(script);
    client->onLost = [&](Connector& connector, const Failure& reason) {
        CHECK(reason.check<twine::ConnectionDone>());
        CHECK(connector.state() == Connector::State::disconnected);
        if (connections < 3) {
            connector.connect();
        } else {
            stop(reactor);
        }
    };
    auto connector = reactor.connectTCP("127.0.0.1", port->getHost().port(), client);
    run(reactor);
    CHECK(connections == 3);
    CHECK(client->started == 3);
    CHECK(client->numPorts() == 0);
}

TEST_CASE("a TCP connection reports its addresses and takes TCP options") {
    Reactor reactor;
    auto port = listenEcho(reactor, "127.0.0.1");
    std::optional<Address> peer, host;
    bool noDelay = false, keepAlive = false;
    Script script;
    script.made = [&](Protocol& p) {
        peer = p.transport().getPeer();
        host = p.transport().getHost();
        noDelay = p.transport().setTcpNoDelay(false) && p.transport().setTcpNoDelay(true);
        keepAlive = p.transport().setTcpKeepAlive(true, 30s);
        p.transport().loseConnection();
    };
    script.lost = [&](const Failure&) { stop(reactor); };
    auto connector = reactor.connectTCP("127.0.0.1", port->getHost().port(), clientFactory(script));
    run(reactor);
    REQUIRE(peer.has_value());
    CHECK(*peer == port->getHost());
    CHECK(host->host() == "127.0.0.1");
    CHECK(host->port() != port->getHost().port());
    CHECK(noDelay);
    CHECK(keepAlive);
    CHECK(connector->getDestination() == Address::ipv4("127.0.0.1", port->getHost().port()));
}

TEST_CASE("a client bound to a chosen local address connects from it") {
    Reactor reactor;
    std::optional<Address> serverSawPeer;
    Script server;
    server.made = [&](Protocol& p) {
        serverSawPeer = p.transport().getPeer();
        p.transport().loseConnection();
    };
    auto port = reactor.listenTCP(0, serverFactory(server), {.interface = "127.0.0.1"});
    Script client;
    client.lost = [&](const Failure&) { stop(reactor); };
    auto connector =
        reactor.connectTCP("127.0.0.1", port->getHost().port(), clientFactory(client),
                           {.timeout = 10s, .bindAddress = Address::ipv4("127.0.0.2", 0)});
    run(reactor);
    REQUIRE(serverSawPeer.has_value());
    CHECK(serverSawPeer->host() == "127.0.0.2");
}

TEST_CASE("a server out of file descriptors drops new connections and recovers") {
    Reactor reactor;
    int accepted = 0;
    Script server = echo();
    server.made = [&](Protocol&) { ++accepted; };
    auto port = reactor.listenTCP(0, serverFactory(server), {.interface = "127.0.0.1"});
    // Waiting in the accept queue before the descriptors run out.
    constexpr int waiting = 8;
    const sockaddr_in address = loopback(port);
    std::vector<int> clients;
    for (int i = 0; i < waiting; ++i) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
        clients.push_back(fd);
    }
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    const auto open =
        static_cast<rlim_t>(std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                                          std::filesystem::directory_iterator{}));
    rlimit tight = saved;
    tight.rlim_cur = open + 2;  // room for two accepted connections
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);

    std::string reply;
    Script probe;
    probe.made = [](Protocol& p) { p.transport().write("recovered"); };
    probe.data = [&](Protocol& p, std::string_view data) {
        reply.append(data);
        if (reply.size() == 9) p.transport().loseConnection();
    };
    probe.lost = [&](const Failure&) { stop(reactor); };
    std::shared_ptr<Connector> connector;
    // Polls the raw clients (no sleeping): each is either accepted or was
    // dropped, which its peer sees as the end of the stream.
    std::function<void()> check = [&] {
        int dropped = 0;
        for (int fd : clients) {
            char byte;
            ssize_t n = ::recv(fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK);
            if (n == 0 || (n < 0 && errno != EAGAIN)) ++dropped;
        }
        if (accepted + dropped < waiting) {
            reactor.callLater(10ms, check);
            return;
        }
        ::setrlimit(RLIMIT_NOFILE, &saved);
        connector = reactor.connectTCP("127.0.0.1", port->getHost().port(), clientFactory(probe));
    };
    reactor.callLater(0s, check);
    run(reactor);
    ::setrlimit(RLIMIT_NOFILE, &saved);
    for (int fd : clients) ::close(fd);
    CHECK(accepted >= 1);
    CHECK(accepted < waiting);
    CHECK(reply == "recovered");
}
