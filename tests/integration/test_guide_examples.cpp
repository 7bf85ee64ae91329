// The code the guide pages (examples/guide/*.md) show, compiled and run: every
// C++ block there is a \snippet of this file, the lines between two
// `//! [name]` markers, so the reference only shows code that builds and passes.
// Servers listen on loopback only, on port 0; every wait is bounded.
#include <doctest/doctest.h>

#include "temp_files.hpp"
#include "test_tls_support.hpp"
#include "time_limit.hpp"

#include <twine/protocols/datagram_echo.hpp>
#include <twine/protocols/filetransfer/session_key.hpp>
#include <twine/transports/udp_endpoint.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

//! [index_echo]
#include <twine/twine.hpp>

//! [echo_protocol]
class Echo : public twine::Protocol {
public:
    void dataReceived(std::string_view data) override { transport().write(data); }
};
//! [echo_protocol]
//! [index_echo]

namespace {

using namespace std::chrono_literals;
using twine::testing::failAfter;

// Test plumbing the guide does not show.

/// Takes over std::cout until release(): the guide's clients print what they hear.
class CoutCapture {
public:
    CoutCapture() : saved_(std::cout.rdbuf(text_.rdbuf())) {}
    ~CoutCapture() { restore(); }
    CoutCapture(const CoutCapture&) = delete;
    CoutCapture& operator=(const CoutCapture&) = delete;
    /// Gives std::cout back and returns what was printed.
    std::string release() {
        restore();
        return text_.str();
    }

private:
    void restore() {
        if (saved_ != nullptr) std::cout.rdbuf(saved_);
        saved_ = nullptr;
    }
    std::ostringstream text_;
    std::streambuf* saved_;
};

/// Sends `message`, keeps what comes back in *received, and once all of it
/// is back hangs up and calls `done`.
class Probe : public twine::Protocol {
public:
    Probe(std::string message, std::string* received, std::function<void()> done)
        : message_(std::move(message)), received_(received), done_(std::move(done)) {}
    void connectionMade() override { transport().write(message_); }
    void dataReceived(std::string_view data) override {
        *received_ += data;
        if (*received_ != message_) return;
        transport().loseConnection();
        done_();
    }

private:
    std::string message_;
    std::string* received_;
    std::function<void()> done_;
};

std::shared_ptr<twine::ClientFactory> probe(std::string message, std::string* received,
                                            std::function<void()> done) {
    return twine::ClientFactory::forProtocol<Probe>(std::move(message), received, std::move(done));
}

void stopIfRunning(twine::Reactor& reactor) {
    if (reactor.running()) reactor.stop();
}

/// The echo, telling `closed` when the client hangs up.
class ClosingEcho : public Echo {
public:
    explicit ClosingEcho(std::function<void()> closed) : closed_(std::move(closed)) {}
    void connectionLost(const twine::Failure&) override { closed_(); }

private:
    std::function<void()> closed_;
};

/// Keeps every line it receives.
class LineRecorder : public twine::LineReceiver {
public:
    void lineReceived(std::string_view line) override { lines.emplace_back(line); }
    std::vector<std::string> lines;
};

}  // namespace

// ---- index.md ----

TEST_CASE("the guide's ten-line echo server echoes over loopback") {
    //! [index_main]
    twine::Reactor reactor;
    auto factory = twine::ServerFactory::forProtocol<Echo>();
    auto port = reactor.listenTCP(0, factory, {.interface = "127.0.0.1"});
    //! [index_main]
    std::string echoed;
    reactor.connectTCP("127.0.0.1", port->getHost().port(),
                       probe("hello", &echoed, [&] { reactor.stop(); }));
    failAfter(reactor);
    reactor.run();
    CHECK(echoed == "hello");
}

// ---- servers.md ----

namespace {

//! [servers_counter]
class Counter : public twine::LineReceiver {
public:
    explicit Counter(int& connections) : connections_(connections) {}
    void connectionMade() override {
        ++connections_;
        sendLine("There are " + std::to_string(connections_) + " connections.");
    }
    void lineReceived(std::string_view line) override { sendLine(line); }
    void connectionLost(const twine::Failure&) override { --connections_; }

private:
    int& connections_;
};

class CounterFactory : public twine::ServerFactory {
public:
    std::unique_ptr<twine::Protocol> buildProtocol(const twine::Address&) override {
        return std::make_unique<Counter>(connections_);
    }

private:
    int connections_ = 0;
};
//! [servers_counter]

}  // namespace

TEST_CASE("the guide's CounterFactory counts the connections open now") {
    CounterFactory factory;
    LineRecorder first;
    LineRecorder second;
    LineRecorder third;
    auto one = std::make_unique<twine::LoopbackPump>(first, factory);
    one->pump();
    twine::LoopbackPump two(second, factory);
    two.pump();
    CHECK(first.lines == std::vector<std::string>{"There are 1 connections."});
    CHECK(second.lines == std::vector<std::string>{"There are 2 connections."});

    second.sendLine("ping");
    two.pump();
    CHECK(second.lines.back() == "ping");

    first.transport().loseConnection();
    one->pump();
    CHECK(one->closed());
    twine::LoopbackPump three(third, factory);
    three.pump();
    CHECK(third.lines == std::vector<std::string>{"There are 2 connections."});
}

TEST_CASE("the guide's endpoint serves the echo on a Unix socket") {
    twine::testing::TempDir dir{"twine-guide"};
    const std::string socketPath = dir.file("echo.sock");
    twine::Reactor reactor;
    auto factory = twine::ServerFactory::forProtocol<Echo>();
    //! [servers_endpoint]
    auto endpoint = twine::serverFromString(reactor, "unix:" + socketPath);
    endpoint->listen(factory).addErrback(
        [](const twine::Failure& f) { twine::log::error("cannot listen: " + f.what()); });
    //! [servers_endpoint]
    std::string echoed;
    reactor.connectUNIX(socketPath, probe("hello", &echoed, [&] { reactor.stop(); }));
    failAfter(reactor);
    reactor.run();
    CHECK(echoed == "hello");
}

TEST_CASE("the guide's ReactorPool serves the echo from its workers") {
    //! [servers_pool]
    twine::ReactorPool pool(0);  // one worker per CPU this process may use
    auto listening = pool.listen("tcp:0:interface=127.0.0.1",
                                 [] { return twine::ServerFactory::forProtocol<Echo>(); });
    //! [servers_pool]
    std::string echoed;
    std::unique_ptr<twine::ClientEndpoint> client;
    listening.addCallback([&](std::shared_ptr<twine::Port> port) {
        client =
            twine::clientFromString(pool.mainReactor(), "tcp:host=127.0.0.1:port=" +
                                                            std::to_string(port->getHost().port()));
        client->connect(probe("hello", &echoed, [&] { pool.stop(); }));
    });
    auto guard = pool.mainReactor().callLater(10s, [&] {
        FAIL_CHECK("the pool was still running after the test's time limit");
        pool.stop();
    });
    pool.run();
    CHECK(echoed == "hello");
}

// ---- clients.md ----

namespace {

//! [clients_protocol]
class EchoClient : public twine::Protocol {
public:
    explicit EchoClient(std::string message) : message_(std::move(message)) {}
    void connectionMade() override { transport().write(message_); }
    void dataReceived(std::string_view data) override {
        std::cout << "Server said: " << data << std::endl;
        transport().loseConnection();
    }

private:
    std::string message_;
};

class EchoClientFactory : public twine::ClientFactory {
public:
    EchoClientFactory(twine::Reactor& reactor, std::string message)
        : ClientFactory(builderFor<EchoClient>(std::move(message))), reactor_(reactor) {}

    void clientConnectionFailed(twine::Connector&, const twine::Failure& reason) override {
        std::cout << "Connection failed: " << reason.what() << std::endl;
        reactor_.stop();
    }
    void clientConnectionLost(twine::Connector&, const twine::Failure&) override {
        std::cout << "Connection lost - goodbye!" << std::endl;
        reactor_.stop();
    }

private:
    twine::Reactor& reactor_;
};
//! [clients_protocol]

}  // namespace

TEST_CASE("the guide's echo client prints the echo, then stops the reactor") {
    CoutCapture out;
    twine::Reactor reactor;
    auto server =
        reactor.listenTCP(0, twine::ServerFactory::forProtocol<Echo>(), {.interface = "127.0.0.1"});
    const std::uint16_t port = server->getHost().port();
    failAfter(reactor);
    //! [clients_main]
    auto factory = std::make_shared<EchoClientFactory>(reactor, "hello alex!");
    reactor.connectTCP("127.0.0.1", port, factory);
    reactor.run();
    //! [clients_main]
    CHECK(out.release() == "Server said: hello alex!\nConnection lost - goodbye!\n");
}

TEST_CASE("the guide's echo client says so when nobody listens") {
    CoutCapture out;
    twine::Reactor reactor;
    // A port nobody listens on: bind one, then close it.
    std::uint16_t port = 0;
    {
        auto closed = reactor.listenTCP(0, twine::ServerFactory::forProtocol<Echo>(),
                                        {.interface = "127.0.0.1"});
        port = closed->getHost().port();
        closed->stopListening();
    }
    failAfter(reactor);
    reactor.connectTCP("127.0.0.1", port, std::make_shared<EchoClientFactory>(reactor, "hi"));
    reactor.run();
    CHECK(out.release().starts_with("Connection failed: "));
}

TEST_CASE("the guide's client endpoint fires with the connected protocol") {
    CoutCapture out;
    twine::Reactor reactor;
    auto server = reactor.listenTCP(
        0, twine::ServerFactory::forProtocol<ClosingEcho>([&] { stopIfRunning(reactor); }),
        {.interface = "127.0.0.1"});
    const std::uint16_t port = server->getHost().port();
    failAfter(reactor);
    //! [clients_endpoint]
    bool connected = false;
    auto endpoint = twine::clientFromString(
        reactor, "tcp:host=127.0.0.1:port=" + std::to_string(port) + ":timeout=10");
    endpoint->connect(twine::ClientFactory::forProtocol<EchoClient>("hi"))
        .addCallback([&](twine::Protocol* protocol) { connected = protocol != nullptr; })
        .addErrback([](const twine::Failure& f) { twine::log::error("failed: " + f.what()); });
    //! [clients_endpoint]
    reactor.run();
    CHECK(connected);
    CHECK(out.release() == "Server said: hi\n");
}

TEST_CASE("the guide's ReconnectingClientFactory connects again after a lost connection") {
    CoutCapture out;
    twine::Reactor reactor;
    int accepted = 0;
    std::function<void()> reconnected;
    auto server = reactor.listenTCP(
        0, std::make_shared<twine::ServerFactory>([&]() -> std::unique_ptr<twine::Protocol> {
            if (++accepted == 2) reconnected();
            return std::make_unique<Echo>();
        }),
        {.interface = "127.0.0.1"});
    const std::uint16_t port = server->getHost().port();
    failAfter(reactor);
    //! [clients_reconnect]
    auto factory = twine::ReconnectingClientFactory::forProtocol<EchoClient>(reactor, "ping");
    factory->policy().maxRetries = 5;  // unlimited by default
    auto connector = reactor.connectTCP("127.0.0.1", port, factory);
    // ... later: factory->stopTrying();
    //! [clients_reconnect]
    factory->policy().initialDelay = 0s;  // no second's wait before reconnecting, in a test
    reconnected = [&] {
        factory->stopTrying();
        reactor.stop();
    };
    reactor.run();
    CHECK(accepted == 2);
    CHECK_FALSE(factory->continueTrying());
    CHECK(out.release().starts_with("Server said: ping\n"));
}

// ---- deferreds.md ----

TEST_CASE("the guide's Deferred chain turns 42 into text") {
    //! [deferreds_chain]
    std::string result;
    twine::Deferred<int> d;
    d.addCallback([](int n) { return std::to_string(n); })  // now a Deferred<std::string>
        .addCallback([&](std::string text) { result = "got " + text; });
    d.callback(42);
    //! [deferreds_chain]
    CHECK(result == "got 42");
}

TEST_CASE("the guide's deferToThread result arrives before its timeout") {
    twine::Reactor reactor;
    //! [deferreds_timeout]
    twine::Deferred<int> answer = reactor.deferToThread([] { return 42; });
    answer.addTimeout(std::chrono::seconds(5), reactor)
        .addErrback([](const twine::Failure& f) -> int {
            f.trap<twine::TimeoutError>();
            return -1;  // timed out: recover with a default
        });
    //! [deferreds_timeout]
    int value = 0;
    answer.addCallback([&](int n) {
        value = n;
        reactor.stop();
    });
    failAfter(reactor);
    reactor.run();
    CHECK(value == 42);
}

namespace {

int expensiveCount() {
    return 42;
}

//! [deferreds_coroutine]
twine::Deferred<std::string> fetchGreeting(twine::Reactor& reactor) {
    int n = co_await reactor.deferToThread([] { return expensiveCount(); });
    co_await twine::deferLater(reactor, std::chrono::milliseconds(50), [] {});
    co_return "counted " + std::to_string(n);
}
//! [deferreds_coroutine]

}  // namespace

TEST_CASE("the guide's coroutine awaits a thread and a timer") {
    twine::Reactor reactor;
    std::string greeting;
    fetchGreeting(reactor).addCallback([&](std::string text) {
        greeting = std::move(text);
        reactor.stop();
    });
    failAfter(reactor);
    reactor.run();
    CHECK(greeting == "counted 42");
}

TEST_CASE("the guide's gatherResults adds up two threads' results") {
    twine::Reactor reactor;
    //! [deferreds_gather]
    int sum = 0;
    std::vector<twine::Deferred<int>> jobs{reactor.deferToThread([] { return 1; }),
                                           reactor.deferToThread([] { return 2; })};
    twine::gatherResults(std::move(jobs)).addCallback([&](std::vector<int> values) {
        sum = values[0] + values[1];
        reactor.stop();
    });
    //! [deferreds_gather]
    failAfter(reactor);
    reactor.run();
    CHECK(sum == 3);
}

// ---- tls.md ----

namespace {

/// The test certificates' files (tests/support/make_test_certs.sh): a chain
/// for localhost and 127.0.0.1, its key, and the CA that signed it.
struct CertificateFiles {
    const tls_test::Certificates& certs = tls_test::Certificates::get();
    std::string chainPem = certs.path("server.pem");
    std::string keyPem = certs.path("server.key");
    std::string caPem = certs.path("ca.pem");
};

//! [tls_hello]
class Hello : public twine::Protocol, public twine::TLSHandshakeListener {
public:
    void handshakeCompleted() override {
        auto* tls = twine::tlsTransport(transport());
        transport().write("hello over " + tls->protocolVersion() + " " + tls->negotiatedProtocol());
    }
};
//! [tls_hello]

//! [tls_starttls]
class StartTLSEcho : public twine::LineReceiver {
public:
    explicit StartTLSEcho(twine::TLSOptions options) : options_(std::move(options)) {}
    void lineReceived(std::string_view line) override {
        if (line == "STARTTLS") {
            sendLine("OK");
            transport().startTLS(options_);  // server options
        } else {
            sendLine(line);  // once upgraded, encrypted
        }
    }

private:
    twine::TLSOptions options_;
};
//! [tls_starttls]

/// What the STARTTLS client saw.
struct Upgrade {
    std::string echoed;
    bool encrypted = false;
};

/// Asks for STARTTLS, upgrades on "OK", sends a line and hangs up at its echo.
class StartTLSClient : public twine::LineReceiver {
public:
    StartTLSClient(twine::TLSOptions options, Upgrade* upgrade, twine::Reactor* reactor)
        : options_(std::move(options)), upgrade_(upgrade), reactor_(reactor) {}
    void connectionMade() override { sendLine("STARTTLS"); }
    void lineReceived(std::string_view line) override {
        if (line == "OK") {
            transport().startTLS(options_);
            sendLine("secret");  // leaves once the handshake is done, encrypted
            return;
        }
        upgrade_->echoed = line;
        upgrade_->encrypted = twine::tlsTransport(transport()) != nullptr;
        transport().loseConnection();
    }
    void connectionLost(const twine::Failure&) override { stopIfRunning(*reactor_); }

private:
    twine::TLSOptions options_;
    Upgrade* upgrade_;
    twine::Reactor* reactor_;
};

}  // namespace

TEST_CASE("the guide's listenSSL and connectSSL echo over loopback") {
    const CertificateFiles files;
    const std::string &chainPem = files.chainPem, &keyPem = files.keyPem, &caPem = files.caPem;
    CoutCapture out;
    twine::Reactor reactor;
    failAfter(reactor);
    //! [tls_listen_connect]
    auto server = twine::TLSOptions::server(chainPem, keyPem);
    auto port = reactor.listenSSL(0, twine::ServerFactory::forProtocol<Echo>(), server,
                                  {.interface = "127.0.0.1"});

    auto client = twine::TLSOptions::client().trustRoots(caPem);
    reactor.connectSSL("127.0.0.1", port->getHost().port(),
                       std::make_shared<EchoClientFactory>(reactor, "hi"), client);
    //! [tls_listen_connect]
    reactor.run();
    CHECK(out.release() == "Server said: hi\nConnection lost - goodbye!\n");
}

TEST_CASE("the guide's ssl: and tls: endpoints echo over loopback") {
    const CertificateFiles files;
    const std::string &chainPem = files.chainPem, &keyPem = files.keyPem, &caPem = files.caPem;
    CoutCapture out;
    twine::Reactor reactor;
    failAfter(reactor);
    auto factory = twine::ServerFactory::forProtocol<Echo>();
    auto clientFactory = std::make_shared<EchoClientFactory>(reactor, "hi");
    //! [tls_endpoints]
    twine::serverFromString(
        reactor, "ssl:0:interface=127.0.0.1:certKey=" + chainPem + ":privateKey=" + keyPem)
        ->listen(factory)
        .addCallback([&](std::shared_ptr<twine::Port> port) {
            auto where = "host=127.0.0.1:port=" + std::to_string(port->getHost().port());
            twine::clientFromString(reactor, "tls:" + where + ":trustRoots=" + caPem)
                ->connect(clientFactory);
        });
    //! [tls_endpoints]
    reactor.run();
    CHECK(out.release() == "Server said: hi\nConnection lost - goodbye!\n");
}

TEST_CASE("the guide's handshake listener sees the TLS version and the ALPN protocol") {
    const CertificateFiles files;
    CoutCapture out;
    twine::Reactor reactor;
    failAfter(reactor);
    auto server = twine::TLSOptions::server(files.chainPem, files.keyPem).alpn({"h2", "http/1.1"});
    auto port = reactor.listenSSL(0, twine::ServerFactory::forProtocol<Hello>(), server,
                                  {.interface = "127.0.0.1"});
    auto client = twine::TLSOptions::client().trustRoots(files.caPem).alpn({"http/1.1"});
    reactor.connectSSL("127.0.0.1", port->getHost().port(),
                       std::make_shared<EchoClientFactory>(reactor, "hi"), client);
    reactor.run();
    CHECK(out.release() ==
          "Server said: hello over TLSv1.3 http/1.1\nConnection lost - goodbye!\n");
}

TEST_CASE("the guide's STARTTLS server upgrades a plain connection") {
    const auto& certs = tls_test::Certificates::get();
    twine::Reactor reactor;
    failAfter(reactor);
    auto port =
        reactor.listenTCP(0, twine::ServerFactory::forProtocol<StartTLSEcho>(certs.server()),
                          {.interface = "127.0.0.1"});
    Upgrade upgrade;
    reactor.connectTCP(
        "127.0.0.1", port->getHost().port(),
        twine::ClientFactory::forProtocol<StartTLSClient>(certs.client(), &upgrade, &reactor));
    reactor.run();
    CHECK(upgrade.echoed == "secret");
    CHECK(upgrade.encrypted);
}

// ---- udp.md ----

namespace {
namespace udp {

//! [udp_echo]
class Echo : public twine::DatagramProtocol {
public:
    void datagramReceived(std::string_view data, const twine::Address& from) override {
        transport().write(data, from);
    }
};
//! [udp_echo]

//! [udp_ping]
class Ping : public twine::DatagramProtocol {
public:
    explicit Ping(std::uint16_t port) : port_(port) {}
    void startProtocol() override {
        transport().connect("127.0.0.1", port_);
        transport().write("ping");
    }
    void datagramReceived(std::string_view data, const twine::Address&) override {
        twine::log::info("got " + std::string(data));
    }
    void connectionRefused() override { twine::log::warn("nobody listens there"); }

private:
    std::uint16_t port_;
};
//! [udp_ping]

/// Ping, stopping the reactor once it heard back.
class PingOnce : public Ping {
public:
    PingOnce(std::uint16_t port, twine::Reactor& reactor) : Ping(port), reactor_(reactor) {}
    void datagramReceived(std::string_view data, const twine::Address& from) override {
        Ping::datagramReceived(data, from);
        heard = data;
        stopIfRunning(reactor_);
    }
    std::string heard;

private:
    twine::Reactor& reactor_;
};

/// Pings `port` on loopback, runs the reactor until the answer, and returns it.
std::string pingAndRun(twine::Reactor& reactor, std::uint16_t port) {
    tls_test::LogCapture logs;
    auto ping = std::make_shared<PingOnce>(port, reactor);
    reactor.listenUDP(0, ping, {.interface = "127.0.0.1"});
    failAfter(reactor);
    reactor.run();
    CHECK(logs.count("got ping") == 1);
    return ping->heard;
}

}  // namespace udp
}  // namespace

TEST_CASE("the guide's UDP echo answers a ping") {
    twine::Reactor reactor;
    using udp::Echo;
    //! [udp_listen]
    auto port = reactor.listenUDP(0, std::make_shared<Echo>(), {.interface = "127.0.0.1"});
    //! [udp_listen]
    CHECK(udp::pingAndRun(reactor, port->getHost().port()) == "ping");
}

TEST_CASE("the guide's DatagramEcho answers a ping") {
    twine::Reactor reactor;
    //! [udp_datagram_echo]
    auto port = reactor.listenUDP(0, std::make_shared<twine::DatagramEcho>(reactor),
                                  {.interface = "127.0.0.1"});
    //! [udp_datagram_echo]
    CHECK(udp::pingAndRun(reactor, port->getHost().port()) == "ping");
}

TEST_CASE("the guide's udp: endpoint serves a DatagramEcho") {
    twine::Reactor reactor;
    //! [udp_endpoint]
    auto endpoint = twine::serverFromString(reactor, "udp:0:interface=127.0.0.1");
    auto listening =
        twine::listenDatagram(*endpoint, std::make_shared<twine::DatagramEcho>(reactor));
    //! [udp_endpoint]
    std::shared_ptr<twine::Port> port;
    listening.addCallback([&](std::shared_ptr<twine::Port> p) { port = std::move(p); });
    REQUIRE(port);
    CHECK(udp::pingAndRun(reactor, port->getHost().port()) == "ping");
}

// ---- testing.md ----

//! [testing_string_transport]
TEST_CASE("Echo writes back what it receives") {
    twine::Echo protocol;
    twine::StringTransport transport;
    protocol.makeConnection(transport);
    protocol.dataReceived("hi");
    CHECK(transport.value() == "hi");
}
//! [testing_string_transport]

namespace {

//! [testing_framing]
class Strings : public twine::Int32StringReceiver {
public:
    void stringReceived(std::string_view s) override { received.emplace_back(s); }
    std::vector<std::string> received;
};

TEST_CASE("a string split at every byte arrives whole") {
    Strings receiver;
    twine::StringTransport t;
    receiver.makeConnection(t);
    receiver.sendString("abc");
    CHECK(t.value() == std::string("\0\0\0\3abc", 7));
    for (char byte : t.value()) receiver.dataReceived(std::string_view(&byte, 1));
    CHECK(receiver.received == std::vector<std::string>{"abc"});
}
//! [testing_framing]

//! [testing_loopback]
class Greeter : public twine::Protocol {
public:
    void connectionMade() override { transport().write("hi"); }
    void dataReceived(std::string_view data) override { received += data; }
    std::string received;
};

TEST_CASE("the echo answers a greeter, end to end in memory") {
    Greeter client;
    twine::Echo server;
    twine::LoopbackPump pump(client, server);
    pump.pump();
    CHECK(client.received == "hi");
}
//! [testing_loopback]

//! [testing_clock]
class Session : public twine::LineReceiver, public twine::IdleTimeout {
public:
    explicit Session(twine::ReactorTime& time) : IdleTimeout(time) {}
    void connectionMade() override { setTimeout(std::chrono::seconds(30)); }
    void lineReceived(std::string_view) override { resetTimeout(); }
    void connectionLost(const twine::Failure&) override { cancelTimeouts(); }
};

TEST_CASE("an idle session is closed after 30 seconds") {
    twine::Clock clock;
    Session session(clock);
    twine::StringTransport transport;
    session.makeConnection(transport);
    clock.advance(std::chrono::seconds(29));
    CHECK_FALSE(transport.disconnecting());
    clock.advance(std::chrono::seconds(1));
    CHECK(transport.disconnecting());
}
//! [testing_clock]

}  // namespace

// ---- filetransfer.md ----

namespace {

//! [ft_observer]
/// Hears how a client's session went, and stops the reactor at its end.
class SessionOutcome : public twine::filetransfer::TransferObserver {
public:
    explicit SessionOutcome(twine::Reactor& reactor) : reactor_(reactor) {}
    void fileFinished(const twine::filetransfer::FileInfo& info, std::uint64_t) override {
        finished.push_back(info.name);
    }
    void sessionEnded(const std::string& why) override {
        error = why;
        reactor_.stop();
    }
    std::vector<std::string> finished;
    std::string error = "still running";

private:
    twine::Reactor& reactor_;
};
//! [ft_observer]

}  // namespace

TEST_CASE("the guide's twine-ft server receives a file pushed with the token") {
    twine::testing::TempDir inboxDir{"twine-guide-inbox"};
    twine::testing::TempDir outboxDir{"twine-guide-outbox"};
    const std::string inbox = inboxDir.path.string();
    const std::string file = outboxDir.file("report.txt");
    twine::testing::writeFile(file, "twine-ft moved this\n");
    const std::string token = twine::filetransfer::auth::generateToken();

    //! [ft_serve]
    namespace ft = twine::filetransfer;

    twine::Reactor reactor;
    ft::ReceiveRoot::Options policy;
    policy.allowOverwrite = true;
    auto root = std::make_shared<ft::ReceiveRoot>(inbox, policy);
    auto observer = std::make_shared<ft::TransferObserver>();  // subclass it for logs
    auto factory = std::make_shared<ft::TransferServerFactory>(root, token, reactor, observer);

    auto psk = twine::TLSOptions::pskServer(std::string(ft::SessionKey::identity),
                                            ft::SessionKey::derive(token));
    auto endpoint = twine::serverFromString(reactor, "tcp:0:interface=127.0.0.1");
    auto listening = twine::wrapServerTLS(reactor, std::move(endpoint), psk)->listen(factory);
    //! [ft_serve]
    std::shared_ptr<twine::Port> port;
    listening.addCallback([&](std::shared_ptr<twine::Port> p) { port = std::move(p); });
    REQUIRE(port);
    const std::string server = "tcp:host=127.0.0.1:port=" + std::to_string(port->getHost().port());
    failAfter(reactor);

    //! [ft_push]
    SessionOutcome outcome(reactor);
    ft::TransferClient::Push job{{file}};
    auto client = std::make_shared<twine::ClientFactory>([&]() -> std::unique_ptr<twine::Protocol> {
        return std::make_unique<ft::TransferClient>(job, token, reactor, outcome);
    });
    auto tls = twine::TLSOptions::pskClient(std::string(ft::SessionKey::identity),
                                            ft::SessionKey::derive(token));
    twine::wrapClientTLS(twine::clientFromString(reactor, server), tls)
        ->connect(client)
        .addErrback([&](const twine::Failure& f) {
            twine::log::error("cannot connect: " + f.what());
            reactor.stop();
        });
    reactor.run();
    //! [ft_push]
    CHECK(outcome.error == "");
    CHECK(outcome.finished == std::vector<std::string>{"report.txt"});
    CHECK(twine::testing::readFile(inboxDir.path / "report.txt") == "twine-ft moved this\n");
}
