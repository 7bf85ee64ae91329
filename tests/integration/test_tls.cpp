// TLS between a twine client and a twine server over loopback TCP: echo,
// versions, ALPN and SNI, every bad-certificate case, mutual TLS, bad input
// and the handshake deadline.
#include "test_tls_support.hpp"

using namespace tls_test;
using twine::Reactor;

namespace {

std::uint16_t listen(BoundedReactor& loop, std::vector<Record>& records, const TLSOptions& tls) {
    auto port = loop.reactor.listenSSL(0, echoServer(records), tls, loopbackOnly());
    return port->getHost().port();
}

// Connects a client that expects to be refused; returns the failure its
// factory was given.
Failure refusedWith(const TLSOptions& server, const TLSOptions& client,
                    std::vector<Record>& serverRecords) {
    BoundedReactor loop;
    const std::uint16_t port = listen(loop, serverRecords, server);
    Record record;
    auto factory = sender(loop, record, "hello", 5);
    loop.reactor.connectSSL("127.0.0.1", port, factory, client);
    loop.run();
    CHECK_FALSE(record.made);  // the protocol never sees an unverified connection
    REQUIRE(factory->failed);
    return *factory->failed;
}

}  // namespace

TEST_CASE("a twine TLS client and server echo data and both see a clean close") {
    const auto& certs = Certificates::get();
    BoundedReactor loop;
    std::vector<Record> server;
    const std::uint16_t port = listen(loop, server, certs.server());
    Record client;
    auto factory = sender(loop, client, "hello over TLS", 14);
    loop.reactor.connectSSL("localhost", port, factory, certs.client());
    loop.run();

    CHECK(client.received == "hello over TLS");
    CHECK(client.handshakeCompleted);
    CHECK(client.version == "TLSv1.3");
    REQUIRE(client.lost);
    CHECK(client.lost->check<twine::ConnectionDone>());
    REQUIRE(factory->lost);
    CHECK(factory->lost->check<twine::ConnectionDone>());
    REQUIRE(server.size() == 1);
    CHECK(server[0].made);
}

TEST_CASE("TLS 1.2 can be required and uses an ECDHE AEAD suite") {
    const auto& certs = Certificates::get();
    BoundedReactor loop;
    std::vector<Record> server;
    const std::uint16_t port = listen(loop, server, certs.server());
    Record client;
    auto factory = sender(loop, client, "twelve", 6);
    loop.reactor.connectSSL("127.0.0.1", port, factory,
                            certs.client("127.0.0.1").maximumVersion(twine::TLSVersion::tls1_2));
    loop.run();
    CHECK(client.received == "twelve");
    CHECK(client.version == "TLSv1.2");
    CHECK(client.cipher.rfind("ECDHE-", 0) == 0);
    CHECK(client.cipher.find("GCM") != std::string::npos);
}

TEST_CASE("ALPN agrees on the server's preferred protocol and SNI reaches the server") {
    const auto& certs = Certificates::get();
    BoundedReactor loop;
    std::vector<Record> server;
    const std::uint16_t port = listen(loop, server, certs.server().alpn({"h2", "http/1.1"}));
    Record client;
    auto factory = sender(loop, client, "x", 1);
    loop.reactor.connectSSL("localhost", port, factory,
                            certs.client().alpn({"http/1.1", "h2", "spdy/3"}));
    loop.run();
    CHECK(client.alpn == "h2");
    REQUIRE(server.size() == 1);
    CHECK(server[0].alpn == "h2");
    CHECK(server[0].serverName == "localhost");
}

TEST_CASE("no common ALPN protocol still connects, with none negotiated") {
    const auto& certs = Certificates::get();
    BoundedReactor loop;
    std::vector<Record> server;
    const std::uint16_t port = listen(loop, server, certs.server().alpn({"h2"}));
    Record client;
    auto factory = sender(loop, client, "x", 1);
    loop.reactor.connectSSL("localhost", port, factory, certs.client().alpn({"imap"}));
    loop.run();
    CHECK(client.received == "x");
    CHECK(client.alpn.empty());
}

TEST_CASE("a self-signed server certificate is refused") {
    const auto& certs = Certificates::get();
    std::vector<Record> server;
    Failure failure = refusedWith(certs.server("selfsigned"), certs.client(), server);
    CHECK(failure.check<twine::TLSError>());
    CHECK(failure.what().find("self-signed certificate") != std::string::npos);
    for (const auto& record : server) CHECK_FALSE(record.made);
}

TEST_CASE("an expired server certificate is refused") {
    const auto& certs = Certificates::get();
    std::vector<Record> server;
    Failure failure = refusedWith(certs.server("expired"), certs.client(), server);
    CHECK(failure.check<twine::TLSError>());
    CHECK(failure.what().find("certificate has expired") != std::string::npos);
}

TEST_CASE("a certificate from a CA the client does not trust is refused") {
    const auto& certs = Certificates::get();
    std::vector<Record> server;
    auto client = TLSOptions::client("localhost").trustRoots(certs.path("selfsigned.pem"));
    Failure failure = refusedWith(certs.server(), client, server);
    CHECK(failure.check<twine::TLSError>());
    CHECK(failure.what().find("unable to get local issuer certificate") != std::string::npos);
}

TEST_CASE("a certificate for another host name is refused") {
    const auto& certs = Certificates::get();
    std::vector<Record> server;
    Failure failure = refusedWith(certs.server("wronghost"), certs.client(), server);
    CHECK(failure.check<twine::TLSError>());
    CHECK(failure.what().find("hostname mismatch") != std::string::npos);
}

TEST_CASE("a certificate without the IP address connected to is refused") {
    const auto& certs = Certificates::get();
    std::vector<Record> server;
    Failure failure = refusedWith(certs.server("wronghost"), certs.client("127.0.0.1"), server);
    CHECK(failure.check<twine::TLSError>());
    CHECK(failure.what().find("IP address mismatch") != std::string::npos);
}

TEST_CASE("the system trust store does not trust the test CA") {
    const auto& certs = Certificates::get();
    std::vector<Record> server;
    Failure failure = refusedWith(certs.server(), TLSOptions::client("localhost"), server);
    CHECK(failure.check<twine::TLSError>());
    CHECK(failure.what().find("unable to get local issuer certificate") != std::string::npos);
}

TEST_CASE("mutual TLS accepts a client certificate signed by the trusted CA") {
    const auto& certs = Certificates::get();
    BoundedReactor loop;
    std::vector<Record> server;
    const std::uint16_t port =
        listen(loop, server, certs.server().requireClientCertificate(certs.path("ca.pem")));
    Record client;
    auto factory = sender(loop, client, "mutual", 6);
    loop.reactor.connectSSL(
        "localhost", port, factory,
        certs.client().clientCertificate(certs.path("client.pem"), certs.path("client.key")));
    loop.run();
    CHECK(client.received == "mutual");
    CHECK(client.peerSubject == "CN=localhost");
    REQUIRE(server.size() == 1);
    CHECK(server[0].peerSubject == "CN=twine-client");
}

TEST_CASE("mutual TLS refuses a client without a certificate") {
    const auto& certs = Certificates::get();
    LogCapture logs;
    BoundedReactor loop;
    std::vector<Record> server;
    const std::uint16_t port =
        listen(loop, server, certs.server().requireClientCertificate(certs.path("ca.pem")));
    Record client;
    auto factory = sender(loop, client, "", 1000);
    loop.reactor.connectSSL("localhost", port, factory, certs.client());
    loop.run();
    // With TLS 1.3 the client finishes its handshake before the server
    // checks it: the refusal arrives as a lost connection, never as data.
    std::optional<Failure> failure = factory->failed ? factory->failed : client.lost;
    REQUIRE(failure);
    CHECK(failure->check<twine::TLSError>());
    CHECK(failure->what().find("certificate required") != std::string::npos);
    CHECK(client.received.empty());
    for (const auto& record : server) CHECK_FALSE(record.made);
    CHECK(logs.count("peer did not return a certificate") == 1);
}

TEST_CASE("mutual TLS refuses a client certificate from an untrusted CA") {
    const auto& certs = Certificates::get();
    BoundedReactor loop;
    std::vector<Record> server;
    const std::uint16_t port =
        listen(loop, server, certs.server().requireClientCertificate(certs.path("ca.pem")));
    Record client;
    auto factory = sender(loop, client, "", 1000);
    loop.reactor.connectSSL("localhost", port, factory,
                            certs.client().clientCertificate(certs.path("selfsigned.pem"),
                                                             certs.path("selfsigned.key")));
    loop.run();
    std::optional<Failure> failure = factory->failed ? factory->failed : client.lost;
    REQUIRE(failure);
    CHECK(failure->check<twine::TLSError>());
    CHECK(client.received.empty());
    for (const auto& record : server) CHECK_FALSE(record.made);
}

TEST_CASE("plain text sent to a TLS port closes the connection with one log line") {
    const auto& certs = Certificates::get();
    LogCapture logs;
    BoundedReactor loop;
    std::vector<Record> server;
    const std::uint16_t port = listen(loop, server, certs.server());
    Record client;
    auto factory = sender(loop, client, "GET / HTTP/1.0\r\n\r\n", 1000);
    loop.reactor.connectTCP("127.0.0.1", port, factory);
    loop.run();
    REQUIRE(client.lost);
    CHECK(client.received.find("GET") == std::string::npos);  // never echoed
    for (const auto& record : server) CHECK_FALSE(record.made);
    CHECK(logs.count("does not seem to speak TLS") == 1);
    CHECK(logs.count("TLS") == 1);
}

TEST_CASE("a handshake that never starts is cut at the server's deadline") {
    const auto& certs = Certificates::get();
    LogCapture logs;
    BoundedReactor loop;
    std::vector<Record> server;
    const std::uint16_t port = listen(loop, server, certs.server().handshakeTimeout(200ms));
    Record client;
    auto factory = sender(loop, client, "", 1000);  // a raw TCP client that sends nothing
    loop.reactor.connectTCP("127.0.0.1", port, factory);
    loop.run();
    REQUIRE(client.lost);
    for (const auto& record : server) CHECK_FALSE(record.made);
    CHECK(logs.count("TLS handshake not completed within 0.2 s") == 1);
}

TEST_CASE("a server that never answers the handshake fails the client with TimeoutError") {
    const auto& certs = Certificates::get();
    BoundedReactor loop;
    // A plain TCP server that reads and never replies.
    auto silent = std::make_shared<twine::ServerFactory>(
        []() -> std::unique_ptr<Protocol> { return std::make_unique<Protocol>(); });
    auto port = loop.reactor.listenTCP(0, silent, loopbackOnly());
    Record client;
    auto factory = sender(loop, client, "hello", 5);
    loop.reactor.connectSSL("localhost", port->getHost().port(), factory,
                            certs.client().handshakeTimeout(200ms));
    loop.run();
    REQUIRE(factory->failed);
    CHECK(factory->failed->check<twine::TimeoutError>());
    CHECK_FALSE(client.made);
}

TEST_CASE("garbage after the handshake ends the connection with a TLSError") {
    const auto& certs = Certificates::get();
    LogCapture logs;
    BoundedReactor loop;
    std::vector<Record> server;
    auto serverFactory = std::make_shared<twine::ServerFactory>([&]() -> std::unique_ptr<Protocol> {
        server.emplace_back();
        return std::make_unique<Recorder>(server.back(), Recorder::Hook{}, Recorder::Hook{},
                                          [&loop](Recorder&) { loop.stop(); });
    });
    server.reserve(4);
    const std::uint16_t port =
        loop.reactor.listenSSL(0, serverFactory, certs.server(), loopbackOnly())->getHost().port();
    Record client;
    auto factory = std::make_shared<ClientRecorder>(loop, [&client]() -> std::unique_ptr<Protocol> {
        return std::make_unique<Recorder>(client, [](Recorder& r) {
            // Bytes that are no TLS record, under the TLS layer.
            twine::tlsTransport(r.transport())->underlyingTransport().write(std::string(64, 'Z'));
        });
    });
    factory->stopOnEnd = false;
    loop.reactor.connectSSL("localhost", port, factory, certs.client());
    loop.run();
    REQUIRE(server.size() == 1);
    REQUIRE(server[0].lost);
    CHECK(server[0].lost->check<twine::TLSError>());
    CHECK(logs.count("TLS connection failed") == 0);  // told to the protocol, not logged
}

TEST_CASE("a peer that vanishes without close_notify is ConnectionLost, not ConnectionDone") {
    const auto& certs = Certificates::get();
    BoundedReactor loop;
    std::vector<Record> server;
    auto serverFactory = std::make_shared<twine::ServerFactory>([&]() -> std::unique_ptr<Protocol> {
        server.emplace_back();
        return std::make_unique<Recorder>(server.back(), Recorder::Hook{}, Recorder::Hook{},
                                          [&loop](Recorder&) { loop.stop(); });
    });
    server.reserve(4);
    auto port = loop.reactor.listenSSL(0, serverFactory, certs.server(), loopbackOnly());
    Record client;
    auto factory = std::make_shared<ClientRecorder>(loop, [&client]() -> std::unique_ptr<Protocol> {
        return std::make_unique<Recorder>(client, [](Recorder& r) {
            r.transport().write("partial");
            // Close the TCP connection under TLS: no close_notify.
            twine::tlsTransport(r.transport())->underlyingTransport().loseConnection();
        });
    });
    factory->stopOnEnd = false;
    loop.reactor.connectSSL("localhost", port->getHost().port(), factory, certs.client());
    loop.run();
    REQUIRE(server.size() == 1);
    REQUIRE(server[0].lost);
    CHECK(server[0].lost->check<twine::ConnectionLost>());
    CHECK(server[0].lost->what().find("close_notify") != std::string::npos);
}

TEST_CASE("bad TLS configuration is refused at once with a clear TLSError") {
    const auto& certs = Certificates::get();
    Reactor reactor;
    auto factory = std::make_shared<twine::ServerFactory>(
        []() -> std::unique_ptr<Protocol> { return std::make_unique<Protocol>(); });
    auto missing = TLSOptions::server("/nonexistent/server.pem", certs.path("server.key"));
    CHECK_THROWS_WITH_AS(reactor.listenSSL(0, factory, missing, loopbackOnly()),
                         doctest::Contains("/nonexistent/server.pem"), twine::TLSError);
    auto mismatched = TLSOptions::server(certs.path("server.pem"), certs.path("client.key"));
    CHECK_THROWS_WITH_AS(reactor.listenSSL(0, factory, mismatched, loopbackOnly()),
                         doctest::Contains("does not match"), twine::TLSError);
    CHECK_THROWS_AS(reactor.listenSSL(0, factory, certs.client(), loopbackOnly()), twine::TLSError);
    auto client = std::make_shared<twine::ClientFactory>(
        []() -> std::unique_ptr<Protocol> { return std::make_unique<Protocol>(); });
    CHECK_THROWS_AS(reactor.connectSSL("localhost", 1, client, certs.server()), twine::TLSError);
    CHECK_THROWS_WITH_AS(TLSOptions::client("x").alpn({std::string(300, 'a')}).context(),
                         doctest::Contains("ALPN"), twine::TLSError);
    CHECK_THROWS_WITH_AS(TLSOptions::client("x").trustRoots("/nonexistent/ca.pem").context(),
                         doctest::Contains("/nonexistent/ca.pem"), twine::TLSError);
}
