// TLS started on a live connection (a line-based STARTTLS exchange), and
// half-close over TLS.
#include "test_tls_support.hpp"

#include <twine/protocols/line_receiver.hpp>

using namespace tls_test;

namespace {

struct Transcript {
    std::vector<std::string> lines;
    bool serverEncrypted = false;
    bool clientEncrypted = false;
    bool clientHandshakeHook = false;
    std::optional<Failure> clientLost;
};

// Speaks plain text until "STARTTLS", answers "OK" in clear, then upgrades
// and echoes every line with a prefix.
class StartTLSServer : public twine::LineReceiver {
public:
    StartTLSServer(Transcript& transcript, TLSOptions options)
        : transcript_(transcript), options_(std::move(options)) {}

    void lineReceived(std::string_view line) override {
        transcript_.lines.emplace_back("server got " + std::string(line));
        if (line == "STARTTLS") {
            sendLine("OK");
            transport().startTLS(options_);
            return;
        }
        auto* tls = twine::tlsTransport(transport());
        transcript_.serverEncrypted = tls != nullptr && tls->handshakeDone();
        sendLine("echo: " + std::string(line));
    }

private:
    Transcript& transcript_;
    TLSOptions options_;
};

class StartTLSClient : public twine::LineReceiver, public twine::TLSHandshakeListener {
public:
    StartTLSClient(Transcript& transcript, TLSOptions options, BoundedReactor& loop)
        : transcript_(transcript), options_(std::move(options)), loop_(loop) {}

    void connectionMade() override { sendLine("STARTTLS"); }
    void lineReceived(std::string_view line) override {
        transcript_.lines.emplace_back("client got " + std::string(line));
        if (line == "OK") {
            transport().startTLS(options_);
            // Written before the handshake completes: sent after it.
            sendLine("secret");
        } else {
            transport().loseConnection();
        }
    }
    void handshakeCompleted() override {
        transcript_.clientHandshakeHook = true;
        transcript_.clientEncrypted = twine::tlsTransport(transport()) != nullptr;
    }
    void connectionLost(const Failure& reason) override {
        transcript_.clientLost = reason;
        loop_.stop();
    }

private:
    Transcript& transcript_;
    TLSOptions options_;
    BoundedReactor& loop_;
};

}  // namespace

TEST_CASE("STARTTLS upgrades a plain connection and sends early writes after the handshake") {
    const auto& certs = Certificates::get();
    BoundedReactor loop;
    Transcript transcript;
    auto server = std::make_shared<twine::ServerFactory>([&]() -> std::unique_ptr<Protocol> {
        return std::make_unique<StartTLSServer>(transcript, certs.server());
    });
    auto port = loop.reactor.listenTCP(0, server, loopbackOnly());
    auto client = std::make_shared<twine::ClientFactory>([&]() -> std::unique_ptr<Protocol> {
        // No host name given: startTLS verifies the peer's IP address.
        return std::make_unique<StartTLSClient>(
            transcript, TLSOptions::client().trustRoots(certs.path("ca.pem")), loop);
    });
    loop.reactor.connectTCP("127.0.0.1", port->getHost().port(), client);
    loop.run();

    CHECK(transcript.lines == std::vector<std::string>{"server got STARTTLS", "client got OK",
                                                       "server got secret",
                                                       "client got echo: secret"});
    CHECK(transcript.serverEncrypted);
    CHECK(transcript.clientEncrypted);
    CHECK(transcript.clientHandshakeHook);
    REQUIRE(transcript.clientLost);
    CHECK(transcript.clientLost->check<twine::ConnectionDone>());
}

TEST_CASE("STARTTLS with a certificate the client does not trust loses the connection") {
    const auto& certs = Certificates::get();
    LogCapture logs;
    BoundedReactor loop;
    Transcript transcript;
    auto server = std::make_shared<twine::ServerFactory>([&]() -> std::unique_ptr<Protocol> {
        return std::make_unique<StartTLSServer>(transcript, certs.server("selfsigned"));
    });
    auto port = loop.reactor.listenTCP(0, server, loopbackOnly());
    auto client = std::make_shared<twine::ClientFactory>([&]() -> std::unique_ptr<Protocol> {
        return std::make_unique<StartTLSClient>(transcript, certs.client(), loop);
    });
    loop.reactor.connectTCP("127.0.0.1", port->getHost().port(), client);
    loop.run();

    REQUIRE(transcript.clientLost);
    CHECK(transcript.clientLost->check<twine::TLSError>());
    CHECK(transcript.clientLost->what().find("self-signed certificate") != std::string::npos);
    CHECK_FALSE(transcript.clientHandshakeHook);
    // The early "secret" never left in clear.
    CHECK(transcript.lines == std::vector<std::string>{"server got STARTTLS", "client got OK"});
}

TEST_CASE("startTLS on a connection that already carries TLS throws TLSError") {
    const auto& certs = Certificates::get();
    BoundedReactor loop;
    std::vector<Record> server;
    auto port = loop.reactor.listenSSL(0, echoServer(server), certs.server(), loopbackOnly());
    Record client;
    bool threw = false;
    auto factory = std::make_shared<ClientRecorder>(loop, [&]() -> std::unique_ptr<Protocol> {
        return std::make_unique<Recorder>(client, [&](Recorder& r) {
            try {
                r.transport().startTLS(certs.client());
            } catch (const twine::TLSError&) {
                threw = true;
            }
            r.transport().loseConnection();
        });
    });
    loop.reactor.connectSSL("localhost", port->getHost().port(), factory, certs.client());
    loop.run();
    CHECK(threw);
}

TEST_CASE("half-close over TLS: the client stops writing and still reads the reply") {
    const auto& certs = Certificates::get();
    BoundedReactor loop;
    Record serverRecord;
    // Replies once the client has finished sending (close_notify), then closes.
    class Replier : public Recorder {
    public:
        using Recorder::Recorder;
        void readConnectionLost() override {
            record().readLost = true;
            transport().write("response to " + record().received);
            transport().loseConnection();
        }
    };
    auto server = std::make_shared<twine::ServerFactory>(
        [&]() -> std::unique_ptr<Protocol> { return std::make_unique<Replier>(serverRecord); });
    auto port = loop.reactor.listenSSL(0, server, certs.server(), loopbackOnly());
    Record client;
    auto factory = std::make_shared<ClientRecorder>(loop, [&]() -> std::unique_ptr<Protocol> {
        return std::make_unique<Recorder>(client, [](Recorder& r) {
            r.transport().write("request");
            r.transport().loseWriteConnection();
        });
    });
    loop.reactor.connectSSL("localhost", port->getHost().port(), factory, certs.client());
    loop.run();

    CHECK(serverRecord.readLost);
    CHECK(client.writeLost);
    CHECK(client.received == "response to request");
    REQUIRE(client.lost);
    CHECK(client.lost->check<twine::ConnectionDone>());
}
