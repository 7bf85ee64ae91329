// haproxy: endpoints on real loopback sockets: a blocking client plays the
// balancer, sending a PROXY header (or not) before its data.

#include <twine/core/factory.hpp>
#include <twine/core/port.hpp>
#include <twine/core/reactor.hpp>
#include <twine/transports/endpoints.hpp>
#include <twine/transports/proxy_header.hpp>
#include <twine/transports/reactor_pool.hpp>

#include <doctest/doctest.h>

#include "temp_files.hpp"
#include "test_pool_support.hpp"
#include "test_tls_support.hpp"
#include "time_limit.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using pool_test::Outcome;
using twine::Address;
using twine::ProxyHeader;
using twine::testing::failAfter;

namespace {

// Says who it thinks the peer is, then echoes.
class WhoAmI final : public twine::Protocol {
public:
    explicit WhoAmI(std::atomic<int>& built) { ++built; }
    void connectionMade() override {
        transport().write(transport().getPeer().toString() + " " +
                          transport().getHost().toString() + "\n");
    }
    void dataReceived(std::string_view data) override { transport().write(data); }
};

ProxyHeader header(const char* sourceHost, std::uint16_t sourcePort, const char* destinationHost,
                   std::uint16_t destinationPort) {
    ProxyHeader header;
    header.source = Address::fromIp(sourceHost, sourcePort);
    header.destination = Address::fromIp(destinationHost, destinationPort);
    return header;
}

// Sends `request` on a fresh connection and reads the "peer host\n" line and
// the echo of everything after the header.
std::string askTCP(std::uint16_t port, const std::string& request, std::size_t echoed) {
    int fd = pool_test::connectTCP(port, 10);
    if (fd < 0) return "connect failed";
    std::string line;
    std::string reply;
    if (pool_test::sendAll(fd, request)) {
        char c = 0;
        while (::recv(fd, &c, 1, 0) == 1 && c != '\n') line += c;
        pool_test::readExactly(fd, echoed, reply);
    }
    ::close(fd);
    return line + "|" + reply;
}

// A connection without a header: the server closes it without a byte.
Outcome sendWithoutHeader(std::uint16_t port) {
    int fd = pool_test::connectTCP(port, 10);
    if (fd < 0) return Outcome::failed;
    std::string reply;
    Outcome outcome = pool_test::sendAll(fd, "hello world\r\n")
                          ? pool_test::readExactly(fd, 1, reply)
                          : Outcome::failed;
    ::close(fd);
    return outcome;
}

// Serves `description` on one reactor and runs `client` on a thread while the
// reactor runs; the client's end stops the reactor.
void serveWhile(const std::string& description, std::atomic<int>& built,
                const std::function<void(const twine::Address&)>& client) {
    twine::Reactor reactor;
    failAfter(reactor, 30s);
    std::thread thread;
    twine::serverFromString(reactor, description)
        ->listen(twine::ServerFactory::forProtocol<WhoAmI>(std::ref(built)))
        .addCallbacks(
            [&](const std::shared_ptr<twine::Port>& port) {
                thread = std::thread([&, bound = port->getHost()] {
                    client(bound);
                    reactor.callFromThread([&] { reactor.stop(); });
                });
            },
            [&](const twine::Failure& failure) {
                FAIL_CHECK(failure.what());
                reactor.stop();
            });
    reactor.run();
    if (thread.joinable()) thread.join();
}

}  // namespace

TEST_CASE("haproxy:tcp: the protocol sees the client the header names; no header, no protocol") {
    std::atomic<int> built{0};
    serveWhile("haproxy:tcp:0:interface=127.0.0.1", built, [](const Address& bound) {
        const std::uint16_t port = bound.port();
        CHECK(askTCP(port,
                     twine::formatProxyHeaderV1(header("192.0.2.10", 56324, "198.51.100.1", 443)) +
                         "ping",
                     4) == "192.0.2.10:56324 198.51.100.1:443|ping");
        CHECK(
            askTCP(port,
                   twine::formatProxyHeaderV2(header("2001:db8::10", 40000, "2001:db8::1", 8443)) +
                       "pong",
                   4) == "[2001:db8::10]:40000 [2001:db8::1]:8443|pong");
        ProxyHeader local;
        local.local = true;  // a health check: the socket's own addresses
        const std::string reply = askTCP(port, twine::formatProxyHeaderV2(local) + "hc", 2);
        CHECK(reply.rfind("127.0.0.1:", 0) == 0);
        CHECK(reply.find(" 127.0.0.1:" + std::to_string(port) + "|hc") != std::string::npos);
        CHECK(sendWithoutHeader(port) == Outcome::cleanClose);
    });
    CHECK(built == 3);
}

TEST_CASE("haproxy:unix: a Unix socket behind a balancer") {
    twine::testing::TempDir dir("twine-haproxy");
    const std::string path = dir.file("s.sock");
    std::atomic<int> built{0};
    serveWhile("haproxy:unix:" + path, built, [&](const Address&) {
        int fd = pool_test::connectUNIX(path, 10);
        REQUIRE(fd >= 0);
        const std::string line = "192.0.2.7:1000 198.51.100.1:80\n";
        CHECK(pool_test::sendAll(
            fd, twine::formatProxyHeaderV1(header("192.0.2.7", 1000, "198.51.100.1", 80)) + "x"));
        std::string reply;
        CHECK(pool_test::readExactly(fd, line.size() + 1, reply) == Outcome::reply);
        CHECK(reply == line + "x");
        ::close(fd);
    });
    CHECK(built == 1);
}

TEST_CASE("haproxy:ssl: the header comes before the ClientHello, and TLS works after it") {
    const auto& certificates = tls_test::Certificates::get();
    std::atomic<int> built{0};
    const std::string description =
        "haproxy:ssl:0:interface=127.0.0.1:certKey=" + certificates.path("server.pem") +
        ":privateKey=" + certificates.path("server.key");
    serveWhile(description, built, [&](const Address& bound) {
        int fd = pool_test::connectTCP(bound.port(), 10);
        REQUIRE(fd >= 0);
        REQUIRE(pool_test::sendAll(
            fd, twine::formatProxyHeaderV2(header("192.0.2.99", 4242, "198.51.100.1", 443))));
        SSL_CTX* context = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
        SSL_CTX_load_verify_locations(context, certificates.path("ca.pem").c_str(), nullptr);
        SSL* ssl = SSL_new(context);
        SSL_set_fd(ssl, fd);
        SSL_set1_host(ssl, "localhost");
        REQUIRE(SSL_connect(ssl) == 1);
        const std::string expected = "192.0.2.99:4242 198.51.100.1:443\nsecret";
        CHECK(SSL_write(ssl, "secret", 6) == 6);
        std::string reply;
        char buffer[256];
        while (reply.size() < expected.size()) {
            const int n = SSL_read(ssl, buffer, sizeof buffer);
            if (n <= 0) break;
            reply.append(buffer, static_cast<std::size_t>(n));
        }
        CHECK(reply == expected);
        SSL_shutdown(ssl);
        SSL_free(ssl);
        SSL_CTX_free(context);
        ERR_clear_error();
        ::close(fd);
    });
    CHECK(built == 1);
}

TEST_CASE("a ReactorPool serves haproxy:tcp:, every worker reading its connections' headers") {
    constexpr int connections = 8;
    std::atomic<int> built{0};
    std::atomic<int> right{0};
    std::thread client;
    {
        twine::ReactorPool pool(2);
        failAfter(pool.mainReactor(), 30s);
        pool.listen("haproxy:tcp:0:interface=127.0.0.1",
                    [&] { return twine::ServerFactory::forProtocol<WhoAmI>(std::ref(built)); })
            .addCallbacks(
                [&](const std::shared_ptr<twine::Port>& port) {
                    client = std::thread([&, number = port->getHost().port()] {
                        for (int i = 0; i < connections; ++i) {
                            const auto sourcePort = static_cast<std::uint16_t>(5000 + i);
                            const std::string request =
                                twine::formatProxyHeaderV1(
                                    header("192.0.2.1", sourcePort, "198.51.100.1", 80)) +
                                "hi";
                            if (askTCP(number, request, 2) ==
                                "192.0.2.1:" + std::to_string(sourcePort) + " 198.51.100.1:80|hi") {
                                ++right;
                            }
                        }
                        if (sendWithoutHeader(number) == Outcome::cleanClose) ++right;
                        pool.stop();
                    });
                },
                [&](const twine::Failure& failure) {
                    FAIL_CHECK(failure.what());
                    pool.stop();
                });
        pool.run();
        if (client.joinable()) client.join();
    }
    CHECK(right == connections + 1);
    CHECK(built == connections);
}

TEST_CASE("haproxy: wraps stream endpoints only, and describes itself") {
    twine::Reactor reactor;
    CHECK_THROWS_AS(twine::serverFromString(reactor, "haproxy:udp:9000"), std::invalid_argument);
    CHECK_THROWS_AS(twine::serverFromString(reactor, "haproxy:"), std::invalid_argument);
    // Found by tests/fuzz/fuzz_endpoint_parser: "haproxy" alone recursed
    // into itself until the stack overflowed.
    CHECK_THROWS_AS(twine::serverFromString(reactor, "haproxy"), std::invalid_argument);
    CHECK_THROWS_AS(twine::serverFromString(reactor, "haproxy:haproxy:tcp:1"),
                    std::invalid_argument);
    CHECK(twine::serverFromString(reactor, "haproxy:tcp:8080:interface=127.0.0.1")->describe() ==
          "haproxy:tcp:8080:interface=127.0.0.1");
}
