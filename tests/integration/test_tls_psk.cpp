// TLS 1.3 with an external pre-shared key (TLSOptions::preSharedKey): no
// certificates; the right key connects with an ephemeral key exchange, a
// wrong one, a plain-text peer, a certificate-only peer and a replayed
// handshake are all refused.
#include "test_tls_support.hpp"

#include <twine/transports/endpoints.hpp>

#include <algorithm>
#include <filesystem>

using namespace tls_test;
using twine::Reactor;

namespace {

const std::string kIdentity = "twine-test psk";
const std::string kKey(32, 'k');

TLSOptions pskServer(const std::string& key = kKey) {
    return TLSOptions::pskServer(kIdentity, key);
}
TLSOptions pskClient(const std::string& key = kKey) {
    return TLSOptions::pskClient(kIdentity, key);
}

std::uint16_t listen(BoundedReactor& loop, std::vector<Record>& records, const TLSOptions& tls) {
    auto port = loop.reactor.listenSSL(0, echoServer(records), tls, loopbackOnly());
    return port->getHost().port();
}

// Connects a client that expects to be refused; returns its failure.
Failure refusedWith(const TLSOptions& server, const TLSOptions& client,
                    std::vector<Record>& serverRecords) {
    BoundedReactor loop;
    const std::uint16_t port = listen(loop, serverRecords, server);
    Record record;
    auto factory = sender(loop, record, "hello", 5);
    loop.reactor.connectSSL("127.0.0.1", port, factory, client);
    loop.run();
    CHECK_FALSE(record.made);
    CHECK(record.received.empty());
    REQUIRE(factory->failed);
    return *factory->failed;
}

// Relays one connection to `target` and records what the client sent.
class Relay : public Protocol {
public:
    Relay(BoundedReactor& loop, std::uint16_t target, std::string& sent)
        : loop_(loop), target_(target), sent_(sent) {}
    void connectionMade() override {
        auto factory =
            std::make_shared<twine::ClientFactory>([this]() -> std::unique_ptr<Protocol> {
                auto back = std::make_unique<Back>(*this);
                back_ = back.get();
                return back;
            });
        loop_.reactor.connectTCP("127.0.0.1", target_, factory);
    }
    void dataReceived(std::string_view data) override {
        sent_ += data;
        if (back_ != nullptr) {
            back_->transport().write(data);
        } else {
            early_ += data;
        }
    }
    void connectionLost(const Failure&) override {
        if (back_ == nullptr) return;
        back_->relay = nullptr;  // this relay is going away
        back_->transport().loseConnection();
    }

private:
    struct Back : Protocol {
        explicit Back(Relay& relay) : relay(&relay) {}
        void connectionMade() override {
            if (relay != nullptr && !relay->early_.empty()) transport().write(relay->early_);
        }
        void dataReceived(std::string_view data) override {
            if (relay != nullptr) relay->transport().write(data);
        }
        void connectionLost(const Failure&) override {
            if (relay == nullptr) return;
            relay->back_ = nullptr;
            relay->transport().loseConnection();
        }
        Relay* relay;
    };
    BoundedReactor& loop_;
    std::uint16_t target_;
    std::string& sent_;
    std::string early_;
    Back* back_ = nullptr;
};

}  // namespace

TEST_CASE(
    "the same pre-shared key connects with no certificate, TLS 1.3 and an ephemeral key share") {
    BoundedReactor loop;
    std::vector<Record> server;
    const std::uint16_t port = listen(loop, server, pskServer());
    Record client;
    bool psk = false;
    std::string group;
    auto recording = std::make_shared<ClientRecorder>(loop, [&]() -> std::unique_ptr<Protocol> {
        return std::make_unique<Recorder>(
            client,
            [&](Recorder& r) {
                auto* tls = twine::tlsTransport(r.transport());
                psk = tls->usedPreSharedKey();
                group = tls->keyExchangeGroup();
                r.transport().write("hello over PSK");
            },
            [](Recorder& r) {
                if (r.record().received.size() >= 14) r.transport().loseConnection();
            });
    });
    loop.reactor.connectSSL("127.0.0.1", port, recording, pskClient());
    loop.run();

    CHECK(client.received == "hello over PSK");
    CHECK(client.version == "TLSv1.3");
    CHECK(client.cipher == "TLS_AES_128_GCM_SHA256");
    CHECK(client.peerSubject.empty());  // no certificate anywhere
    CHECK(psk);
    // psk_dhe_ke: the key exchange used a fresh (EC)DHE share, so the key alone
    // does not decrypt a recording.
    CHECK_FALSE(group.empty());
    REQUIRE(server.size() == 1);
    CHECK(server[0].made);
    CHECK(server[0].version == "TLSv1.3");
}

TEST_CASE("a wrong pre-shared key is refused on both sides with a TLSError naming the key") {
    LogCapture logs;
    std::vector<Record> server;
    Failure failure = refusedWith(pskServer(), pskClient(std::string(32, 'w')), server);
    CHECK(failure.check<twine::TLSError>());
    INFO(failure.what());
    CHECK(failure.what().find("pre-shared key") != std::string::npos);
    for (const auto& record : server) CHECK_FALSE(record.made);
    CHECK(logs.count("refused") == 1);
    for (const auto& line : logs.lines) MESSAGE(line);
    CHECK(logs.count("different pre-shared key") == 1);
}

TEST_CASE(
    "a key under another identity is refused: the server has no certificate to fall back on") {
    std::vector<Record> server;
    Failure failure = refusedWith(pskServer(), TLSOptions::pskClient("someone else", kKey), server);
    CHECK(failure.check<twine::TLSError>());
    for (const auto& record : server) CHECK_FALSE(record.made);
}

TEST_CASE("a PSK client refuses a certificate server that does not know the key") {
    const auto& certs = Certificates::get();
    std::vector<Record> server;
    Failure failure = refusedWith(certs.server(), pskClient(), server);
    CHECK(failure.check<twine::TLSError>());
    for (const auto& record : server) CHECK_FALSE(record.made);
}

TEST_CASE("a certificate-verifying client cannot connect to a PSK-only server") {
    const auto& certs = Certificates::get();
    std::vector<Record> server;
    Failure failure = refusedWith(pskServer(), certs.client("127.0.0.1"), server);
    CHECK(failure.check<twine::TLSError>());
}

TEST_CASE("a plain-text client against a PSK server gets nothing and the server logs why") {
    LogCapture logs;
    BoundedReactor loop;
    std::vector<Record> server;
    const std::uint16_t port = listen(loop, server, pskServer());
    Record client;
    auto factory = sender(loop, client, "HELLO version=2 role=client\n", 1000);
    loop.reactor.connectTCP("127.0.0.1", port, factory);
    loop.run();
    REQUIRE(client.lost);
    CHECK(client.received.find("HELLO") == std::string::npos);
    for (const auto& record : server) CHECK_FALSE(record.made);
    CHECK(logs.count("does not seem to speak TLS") == 1);
}

TEST_CASE("a recorded PSK handshake replayed to the server opens no connection") {
    BoundedReactor loop;
    std::vector<Record> server;
    const std::uint16_t port = listen(loop, server, pskServer());
    std::string recorded;
    auto relayFactory = std::make_shared<twine::ServerFactory>([&]() -> std::unique_ptr<Protocol> {
        return std::make_unique<Relay>(loop, port, recorded);
    });
    const std::uint16_t relayPort =
        loop.reactor.listenTCP(0, relayFactory, loopbackOnly())->getHost().port();
    Record first;
    Record replay;
    std::shared_ptr<ClientRecorder> again;
    // Once the first session is over, the same bytes again, as an attacker
    // on the path would send them.
    auto factory = std::make_shared<ClientRecorder>(loop, [&]() -> std::unique_ptr<Protocol> {
        return std::make_unique<Recorder>(
            first, [](Recorder& r) { r.transport().write("secret request"); },
            [](Recorder& r) {
                if (r.record().received.size() >= 14) r.transport().loseConnection();
            },
            [&](Recorder&) {
                again = sender(loop, replay, recorded, 1000);
                loop.reactor.connectTCP("127.0.0.1", port, again);
            });
    });
    factory->stopOnEnd = false;
    loop.reactor.connectSSL("127.0.0.1", relayPort, factory, pskClient());
    loop.run();
    REQUIRE(first.received == "secret request");
    CHECK(recorded.size() > 100);
    REQUIRE(again);
    CHECK(again->lost);
    // The server built a protocol for the replay but never connected it.
    CHECK(std::count_if(server.begin(), server.end(), [](const Record& r) { return r.made; }) == 1);
    CHECK(replay.received.find("secret request") == std::string::npos);
}

namespace {

// Connects through wrapClientTLS(`description`) with `key`; returns what
// the client received, or the failure.
struct WrappedResult {
    Record client;
    std::optional<Failure> failure;
};

void connectWrapped(const std::string& where, const std::string& socket, const std::string& key,
                    WrappedResult& result) {
    BoundedReactor loop;
    std::vector<Record> server;
    std::filesystem::remove(socket);
    auto listening = twine::wrapServerTLS(
        loop.reactor,
        twine::serverFromString(loop.reactor,
                                where == "tcp" ? "tcp:0:interface=127.0.0.1" : "unix:" + socket),
        pskServer());
    std::string bound;
    listening->listen(echoServer(server)).addCallback([&](std::shared_ptr<twine::Port> port) {
        bound = where == "tcp" ? "tcp:127.0.0.1:" + std::to_string(port->getHost().port())
                               : "unix:path=" + socket;
    });
    REQUIRE_FALSE(bound.empty());
    auto endpoint =
        twine::wrapClientTLS(twine::clientFromString(loop.reactor, bound), pskClient(key));
    auto factory = sender(loop, result.client, "wrapped", 7);
    endpoint->connect(factory).addErrback([&](const Failure& f) { result.failure = f; });
    loop.run();
}

}  // namespace

TEST_CASE("TLS wraps tcp: and unix: endpoints with a pre-shared key") {
    twine::testing::TempDir dir{"twine-psk-unix"};
    for (const std::string where : {"tcp", "unix"}) {
        CAPTURE(where);
        WrappedResult right;
        connectWrapped(where, dir.file("psk.sock"), kKey, right);
        CHECK(right.client.received == "wrapped");
        CHECK_FALSE(right.failure);
        // A wrong key through the same wrapper fails the attempt.
        WrappedResult wrong;
        connectWrapped(where, dir.file("psk.sock"), std::string(32, 'x'), wrong);
        REQUIRE(wrong.failure);
        CHECK(wrong.failure->check<twine::TLSError>());
        CHECK_FALSE(wrong.client.made);
    }
}

TEST_CASE("only stream endpoints can be wrapped, and only with the matching options") {
    Reactor reactor;
    CHECK_THROWS_AS(
        twine::wrapClientTLS(twine::clientFromString(reactor, "tcp:127.0.0.1:1"), pskServer()),
        twine::TLSError);
    CHECK_THROWS_AS(
        twine::wrapServerTLS(reactor, twine::serverFromString(reactor, "tcp:0"), pskClient()),
        twine::TLSError);
}

TEST_CASE("pre-shared key settings are checked at once") {
    CHECK_THROWS_WITH_AS(TLSOptions::pskServer(kIdentity, "short").context(),
                         doctest::Contains("16 bytes"), twine::TLSError);
    CHECK_THROWS_AS(TLSOptions::pskClient("", kKey).context(), twine::TLSError);
    // Asking for TLS 1.2 after the key still gives TLS 1.3: PSK needs it.
    BoundedReactor loop;
    std::vector<Record> server;
    const std::uint16_t port = listen(loop, server, pskServer());
    Record client;
    auto factory = sender(loop, client, "v", 1);
    loop.reactor.connectSSL("127.0.0.1", port, factory,
                            pskClient().maximumVersion(twine::TLSVersion::tls1_2));
    loop.run();
    CHECK(client.version == "TLSv1.3");
}

namespace {

struct CountingProducer : twine::Producer {
    int resumed = 0;
    int paused = 0;
    void pauseProducing() override { ++paused; }
    void resumeProducing() override { ++resumed; }
    void stopProducing() override {}
};

}  // namespace

TEST_CASE("a streaming producer registered after the handshake is not resumed behind its back") {
    // A producer registering itself is already producing: resuming it from
    // inside registerProducer ran a file sender twice over (and finished it twice).
    BoundedReactor loop;
    std::vector<Record> server;
    const std::uint16_t port = listen(loop, server, pskServer());
    Record client;
    CountingProducer producer;
    auto factory = std::make_shared<ClientRecorder>(loop, [&]() -> std::unique_ptr<Protocol> {
        return std::make_unique<Recorder>(client, [&](Recorder& r) {
            r.transport().registerProducer(producer, true);
            r.transport().write("x");
            r.transport().unregisterProducer();
            r.transport().loseConnection();
        });
    });
    loop.reactor.connectSSL("127.0.0.1", port, factory, pskClient());
    loop.run();
    CHECK(client.made);
    CHECK(producer.resumed == 0);
}
