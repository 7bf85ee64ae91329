#pragma once

// Shared by the stream transport integration tests (test_tcp*.cpp,
// test_unix*.cpp, test_stream*.cpp): a reactor whose run() is bounded,
// protocols whose events each test scripts, recording client factories, and
// raw loopback sockets for the cases twine itself must not be (a listener
// that never accepts, a port nobody listens on).

#include <twine/core/connector.hpp>
#include <twine/core/error.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/port.hpp>
#include <twine/core/protocol.hpp>
#include <twine/core/reactor.hpp>

#include <doctest/doctest.h>

#include "temp_files.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stream_test {

using namespace std::chrono_literals;
using twine::Failure;
using twine::Protocol;

/// Stops the reactor unless it is already stopping.
inline void stop(twine::Reactor& reactor) {
    if (reactor.running()) reactor.stop();
}

/// Runs the reactor until the test stops it, failing the test if that takes
/// longer than `limit` (then it stops it itself).
inline void run(twine::Reactor& reactor, twine::Duration limit = 10s) {
    bool timedOut = false;
    auto guard = reactor.callLater(limit, [&] {
        timedOut = true;
        stop(reactor);
    });
    reactor.run();
    if (guard.active()) guard.cancel();
    CHECK_MESSAGE(!timedOut, "the test did not finish in time");
}

/// The events of a Scripted protocol. An empty readLost keeps the default
/// (close after flushing).
struct Script {
    std::function<void(Protocol&)> made;
    std::function<void(Protocol&, std::string_view)> data;
    std::function<void(Protocol&)> readLost;
    std::function<void(Protocol&)> writeLost;
    std::function<void(const Failure&)> lost;
};

class Scripted : public Protocol {
public:
    explicit Scripted(Script script) : script_(std::move(script)) {}

    void connectionMade() override {
        if (script_.made) script_.made(*this);
    }
    void dataReceived(std::string_view data) override {
        if (script_.data) script_.data(*this, data);
    }
    void readConnectionLost() override {
        if (script_.readLost) {
            script_.readLost(*this);
        } else {
            Protocol::readConnectionLost();
        }
    }
    void writeConnectionLost() override {
        if (script_.writeLost) script_.writeLost(*this);
    }
    void connectionLost(const Failure& reason) override {
        if (script_.lost) script_.lost(reason);
    }

private:
    Script script_;
};

/// A server factory giving each connection a Scripted protocol.
inline std::shared_ptr<twine::ServerFactory> serverFactory(Script script) {
    return std::make_shared<twine::ServerFactory>(
        [script]() -> std::unique_ptr<Protocol> { return std::make_unique<Scripted>(script); });
}

/// The echo server's script.
inline Script echo() {
    Script script;
    script.data = [](Protocol& p, std::string_view data) { p.transport().write(data); };
    return script;
}

/// A client factory giving each connection a Scripted protocol and keeping
/// what it was told about connecting.
class Client : public twine::ClientFactory {
public:
    explicit Client(Script script)
        : ClientFactory([script]() -> std::unique_ptr<Protocol> {
              return std::make_unique<Scripted>(script);
          }) {}

    void startedConnecting(twine::Connector&) override { ++started; }
    void clientConnectionFailed(twine::Connector& connector, const Failure& reason) override {
        failure = reason;
        if (onFailed) onFailed(connector, reason);
    }
    void clientConnectionLost(twine::Connector& connector, const Failure& reason) override {
        lostReason = reason;
        if (onLost) onLost(connector, reason);
    }

    int started = 0;
    std::optional<Failure> failure;
    std::optional<Failure> lostReason;
    std::function<void(twine::Connector&, const Failure&)> onFailed;
    std::function<void(twine::Connector&, const Failure&)> onLost;
};

inline std::shared_ptr<Client> clientFactory(Script script) {
    return std::make_shared<Client>(std::move(script));
}

/// Sends `payload` to an echo server through the connection `connect` makes,
/// runs the reactor until the client's connection is lost, and returns what
/// came back.
inline std::string echoed(
    twine::Reactor& reactor, const std::string& payload,
    const std::function<std::shared_ptr<twine::Connector>(std::shared_ptr<Client>)>& connect) {
    std::string received;
    Script script;
    script.made = [&](Protocol& p) { p.transport().write(std::string(payload)); };
    script.data = [&](Protocol& p, std::string_view data) {
        received.append(data);
        if (received.size() >= payload.size()) p.transport().loseConnection();
    };
    script.lost = [&](const Failure&) { stop(reactor); };
    auto client = clientFactory(script);
    client->onFailed = [&](twine::Connector&, const Failure& reason) {
        FAIL_CHECK("connecting failed: " << reason.describe());
        stop(reactor);
    };
    auto connector = connect(client);
    run(reactor, 60s);
    return received;
}

/// Deterministic bytes covering every value, so that a lost, repeated or
/// reordered block shows.
inline std::string pattern(std::size_t size) {
    std::string bytes(size, '\0');
    std::uint32_t state = 0x12345678u;
    for (char& byte : bytes) {
        state = state * 1664525u + 1013904223u;
        byte = static_cast<char>(state >> 24);
    }
    return bytes;
}

/// A raw IPv4 TCP socket on 127.0.0.1 and an ephemeral port, closed on
/// destruction. listen(backlog) makes it a listener that never accepts.
class RawSocket {
public:
    RawSocket() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        socklen_t length = sizeof address;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
        port_ = ntohs(address.sin_port);
    }
    ~RawSocket() {
        for (int fd : clients_) ::close(fd);
        ::close(fd_);
    }
    RawSocket(const RawSocket&) = delete;
    RawSocket& operator=(const RawSocket&) = delete;

    std::uint16_t port() const { return port_; }
    void listen(int backlog) { REQUIRE(::listen(fd_, backlog) == 0); }

    /// Starts a non-blocking connection to this socket (to fill its backlog).
    void connectOne() {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        REQUIRE(fd >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(port_);
        ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
        clients_.push_back(fd);
    }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::vector<int> clients_;
};

using twine::testing::TempDir;

/// True if this host can bind ::1 (some containers have no IPv6).
inline bool haveIPv6Loopback() {
    int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_loopback;
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return ok;
}

}  // namespace stream_test
