// What every stream connection (TCP and Unix alike) does, checked over TCP
// loopback: closing, half-closing, aborting, flow control, producers, and
// what happens when user code throws.

#include "test_stream_support.hpp"

#include <twine/core/log.hpp>
#include <twine/core/producer.hpp>

#include <doctest/doctest.h>

#include <mutex>
#include <stdexcept>
#include <string>

using namespace stream_test;
using twine::Connector;
using twine::Reactor;

namespace {

std::uint16_t portOf(const std::shared_ptr<twine::Port>& port) {
    return port->getHost().port();
}

std::shared_ptr<twine::Port> listen(Reactor& reactor, Script script) {
    return reactor.listenTCP(0, serverFactory(std::move(script)), {.interface = "127.0.0.1"});
}

std::shared_ptr<twine::Port> listen(Reactor& reactor, std::shared_ptr<twine::Factory> factory) {
    return reactor.listenTCP(0, std::move(factory), {.interface = "127.0.0.1"});
}

/// Keeps the error lines logged while it lives.
class CapturedLog {
public:
    CapturedLog() {
        twine::log::setObserver([this](const twine::log::Event& event) {
            std::lock_guard lock(mutex_);
            text_.append(event.message).append("\n");
        });
    }
    ~CapturedLog() { twine::log::setObserver({}); }
    std::string text() {
        std::lock_guard lock(mutex_);
        return text_;
    }

private:
    std::mutex mutex_;
    std::string text_;
};

/// Byte i of an endless stream, so the receiver can check order and loss.
char streamByte(std::size_t index) {
    return static_cast<char>(index % 251);
}

/// A push producer that writes as fast as it may, as long as it is not
/// paused, until it has written `total` bytes.
class Pump : public twine::Producer {
public:
    Pump(twine::Transport& transport, std::size_t total) : transport_(transport), total_(total) {}

    void produce() {
        while (!paused_ && sent_ < total_) {
            std::string chunk(std::min(chunkSize, total_ - sent_), '\0');
            for (char& byte : chunk) byte = streamByte(sent_++);
            transport_.write(std::move(chunk));
            maxBuffered = std::max(maxBuffered, transport_.bufferSize());
        }
        if (sent_ == total_ && !done_) {
            done_ = true;
            transport_.unregisterProducer();
            transport_.loseConnection();
        }
    }
    void pauseProducing() override {
        paused_ = true;
        ++pauses;
        if (onPause) onPause();
    }
    void resumeProducing() override {
        paused_ = false;
        produce();
    }
    void stopProducing() override { stopped = true; }

    static constexpr std::size_t chunkSize = 32 * 1024;
    int pauses = 0;
    bool stopped = false;
    std::size_t maxBuffered = 0;
    std::function<void()> onPause;

private:
    twine::Transport& transport_;
    std::size_t total_;
    std::size_t sent_ = 0;
    bool paused_ = false;
    bool done_ = false;
};

/// A pull producer writing one chunk each time it is asked, `chunks` times.
class Chunks : public twine::Producer {
public:
    Chunks(twine::Transport& transport, int chunks) : transport_(transport), chunks_(chunks) {}
    void pauseProducing() override {}
    void resumeProducing() override {
        ++resumes;
        if (written < chunks_) {
            transport_.write(std::string(100 * 1024, 'p'));
            ++written;
        } else {
            transport_.unregisterProducer();
            transport_.loseConnection();
        }
    }
    void stopProducing() override {}

    int resumes = 0;
    int written = 0;

private:
    twine::Transport& transport_;
    int chunks_;
};

}  // namespace

TEST_CASE("a half-closed client still gets the server's reply") {
    Reactor reactor;
    bool serverSawEnd = false;
    std::optional<Failure> serverReason;
    Script server;
    std::string request;
    server.data = [&](Protocol&, std::string_view data) { request.append(data); };
    server.readLost = [&](Protocol& p) {
        serverSawEnd = true;
        p.transport().write("reply to " + request);
        p.transport().loseConnection();
    };
    server.lost = [&](const Failure& reason) { serverReason = reason; };
    auto port = listen(reactor, server);

    bool clientWriteClosed = false;
    std::string reply;
    std::optional<Failure> clientReason;
    Script client;
    client.made = [&](Protocol& p) {
        p.transport().write("question");
        p.transport().loseWriteConnection();
    };
    client.writeLost = [&](Protocol&) { clientWriteClosed = true; };
    client.data = [&](Protocol&, std::string_view data) { reply.append(data); };
    client.lost = [&](const Failure& reason) {
        clientReason = reason;
        stop(reactor);
    };
    auto connector = reactor.connectTCP("127.0.0.1", portOf(port), clientFactory(client));
    run(reactor);
    CHECK(serverSawEnd);
    CHECK(clientWriteClosed);
    CHECK(reply == "reply to question");
    REQUIRE(clientReason.has_value());
    CHECK(clientReason->check<twine::ConnectionDone>());
    REQUIRE(serverReason.has_value());
    CHECK(serverReason->check<twine::ConnectionDone>());
}

TEST_CASE("abortConnection gives ConnectionAborted here and a closed connection at the peer") {
    Reactor reactor;
    std::optional<Failure> serverReason, clientReason;
    auto maybeStop = [&] {
        if (serverReason && clientReason) stop(reactor);
    };
    Script server;
    server.lost = [&](const Failure& reason) {
        serverReason = reason;
        maybeStop();
    };
    auto port = listen(reactor, server);
    Script client;
    client.made = [&](Protocol& p) {
        p.transport().write(pattern(1024 * 1024));  // dropped, not flushed
        p.transport().abortConnection();
        CHECK(p.transport().disconnecting());
    };
    client.lost = [&](const Failure& reason) {
        clientReason = reason;
        maybeStop();
    };
    auto connector = reactor.connectTCP("127.0.0.1", portOf(port), clientFactory(client));
    run(reactor);
    REQUIRE(clientReason.has_value());
    CHECK(clientReason->check<twine::ConnectionAborted>());
    REQUIRE(serverReason.has_value());
    CHECK(serverReason->check<twine::ConnectionClosed>());
}

TEST_CASE("a fast producer into a peer that does not read is paused, then everything arrives") {
    Reactor reactor;
    constexpr std::size_t total = 16 * 1024 * 1024;
    Protocol* server = nullptr;
    std::size_t received = 0;
    bool inOrder = true;
    bool serverDone = false;
    Script serverScript;
    serverScript.made = [&](Protocol& p) {
        server = &p;
        p.transport().pauseProducing();  // reads nothing until told
    };
    serverScript.data = [&](Protocol&, std::string_view data) {
        for (char byte : data) inOrder = inOrder && byte == streamByte(received++);
    };
    serverScript.lost = [&](const Failure& reason) {
        CHECK(reason.check<twine::ConnectionDone>());
        serverDone = true;
        stop(reactor);
    };
    auto port = listen(reactor, serverScript);

    std::unique_ptr<Pump> pump;
    Script client;
    client.made = [&](Protocol& p) {
        pump = std::make_unique<Pump>(p.transport(), total);
        // The reader wakes up a while after the writer first had to stop;
        // whenever that is, the writer's buffer must stay bounded meanwhile.
        pump->onPause = [&] {
            if (pump->pauses == 1) {
                reactor.callLater(200ms, [&] { server->transport().resumeProducing(); });
            }
        };
        p.transport().registerProducer(*pump, true);
        pump->produce();
    };
    auto connector = reactor.connectTCP("127.0.0.1", portOf(port), clientFactory(client));
    run(reactor, 30s);
    REQUIRE(pump != nullptr);
    CHECK(pump->pauses >= 1);
    CHECK(pump->maxBuffered <= 64 * 1024 + 2 * Pump::chunkSize);
    CHECK(serverDone);
    CHECK(received == total);
    CHECK(inOrder);
}

TEST_CASE("a pull producer is asked for more each time the buffer drains") {
    Reactor reactor;
    std::size_t received = 0;
    Script server;
    server.data = [&](Protocol&, std::string_view data) { received += data.size(); };
    server.lost = [&](const Failure&) { stop(reactor); };
    auto port = listen(reactor, server);
    std::unique_ptr<Chunks> producer;
    Script client;
    client.made = [&](Protocol& p) {
        producer = std::make_unique<Chunks>(p.transport(), 10);
        p.transport().registerProducer(*producer, false);
    };
    auto connector = reactor.connectTCP("127.0.0.1", portOf(port), clientFactory(client));
    run(reactor);
    REQUIRE(producer != nullptr);
    CHECK(producer->written == 10);
    CHECK(producer->resumes == 11);
    CHECK(received == 10 * 100 * 1024);
}

TEST_CASE("a streaming producer is stopped when the connection is lost") {
    Reactor reactor;
    Script server;
    server.made = [](Protocol& p) { p.transport().abortConnection(); };
    auto port = listen(reactor, server);
    std::unique_ptr<Pump> pump;
    Script client;
    client.made = [&](Protocol& p) {
        pump = std::make_unique<Pump>(p.transport(), 1);
        p.transport().registerProducer(*pump, true);
    };
    client.lost = [&](const Failure&) { stop(reactor); };
    auto connector = reactor.connectTCP("127.0.0.1", portOf(port), clientFactory(client));
    run(reactor);
    REQUIRE(pump != nullptr);
    CHECK(pump->stopped);
}

TEST_CASE("loseConnection sends everything written before closing") {
    Reactor reactor;
    const std::string payload = pattern(4 * 1024 * 1024);
    Script server;
    server.made = [&](Protocol& p) {
        p.transport().write(payload);
        p.transport().loseConnection();
        p.transport().loseConnection();  // harmless twice
    };
    auto port = listen(reactor, server);
    std::string received;
    std::optional<Failure> reason;
    Script client;
    client.data = [&](Protocol&, std::string_view data) { received.append(data); };
    client.lost = [&](const Failure& r) {
        reason = r;
        stop(reactor);
    };
    auto connector = reactor.connectTCP("127.0.0.1", portOf(port), clientFactory(client));
    run(reactor);
    CHECK(received == payload);
    REQUIRE(reason.has_value());
    CHECK(reason->check<twine::ConnectionDone>());
}

TEST_CASE("writes after the connection is closed are ignored") {
    class LateWriter : public Protocol {
    public:
        explicit LateWriter(Reactor& reactor) : reactor_(reactor) {}
        void connectionMade() override { transport().loseConnection(); }
        void connectionLost(const Failure&) override {
            transport().write("too late");
            transport().write(std::string("far too late"));
            transport().writeSequence({"and", "this"});
            transport().loseConnection();
            transport().abortConnection();
            stop(reactor_);
        }

    private:
        Reactor& reactor_;
    };
    Reactor reactor;
    auto port = listen(reactor, Script{});
    auto client = std::make_shared<twine::ClientFactory>(
        [&]() -> std::unique_ptr<Protocol> { return std::make_unique<LateWriter>(reactor); });
    auto connector = reactor.connectTCP("127.0.0.1", portOf(port), client);
    run(reactor);
}

TEST_CASE("writeSequence sends its parts in order") {
    Reactor reactor;
    auto port = listen(reactor, echo());
    const std::string big = pattern(300 * 1024);
    const std::string expected = "first second " + big + " last!?";
    std::string received;
    Script client;
    client.made = [&](Protocol& p) {
        p.transport().writeSequence({"first ", "second ", big, " last"});
        p.transport().writeSequence({"!", "?"});  // queued behind the first
    };
    client.data = [&](Protocol& p, std::string_view data) {
        received.append(data);
        if (received.size() >= expected.size()) p.transport().loseConnection();
    };
    client.lost = [&](const Failure&) { stop(reactor); };
    auto connector = reactor.connectTCP("127.0.0.1", portOf(port), clientFactory(client));
    run(reactor);
    CHECK(received == expected);
}

TEST_CASE("reactor.stop() closes open connections cleanly and run() returns") {
    Reactor reactor;
    int made = 0;
    std::vector<Failure> reasons;
    Script script;
    script.made = [&](Protocol&) {
        if (++made == 2) stop(reactor);  // both ends are up
    };
    script.lost = [&](const Failure& reason) { reasons.push_back(reason); };
    auto port = listen(reactor, script);
    auto connector = reactor.connectTCP("127.0.0.1", portOf(port), clientFactory(script));
    run(reactor);
    REQUIRE(reasons.size() == 2);
    for (const Failure& reason : reasons) CHECK(reason.check<twine::ConnectionDone>());
}

TEST_CASE("an exception thrown in dataReceived closes that connection only") {
    CapturedLog log;
    Reactor reactor;
    std::optional<Failure> serverReason;
    Script server = echo();
    server.data = [](Protocol& p, std::string_view data) {
        if (data.find("boom") != std::string_view::npos) throw std::runtime_error("boom in test");
        p.transport().write(data);
    };
    server.lost = [&](const Failure& reason) {
        if (!serverReason) serverReason = reason;
    };
    auto port = listen(reactor, server);

    std::string reply;
    Script good;
    good.made = [](Protocol& p) { p.transport().write("still served"); };
    good.data = [&](Protocol& p, std::string_view data) {
        reply.append(data);
        if (reply.size() == 12) p.transport().loseConnection();
    };
    good.lost = [&](const Failure&) { stop(reactor); };
    auto goodClient = clientFactory(good);

    std::shared_ptr<Connector> second;
    Script bad;
    bad.made = [](Protocol& p) { p.transport().write("boom"); };
    bad.lost = [&](const Failure& reason) {
        CHECK(reason.check<twine::ConnectionClosed>());
        second = reactor.connectTCP("127.0.0.1", portOf(port), goodClient);
    };
    auto first = reactor.connectTCP("127.0.0.1", portOf(port), clientFactory(bad));
    run(reactor);
    REQUIRE(serverReason.has_value());
    CHECK(serverReason->check<twine::ConnectionAborted>());
    CHECK(reply == "still served");
    CHECK(log.text().find("boom in test") != std::string::npos);
}

TEST_CASE("an exception thrown in connectionMade aborts that connection") {
    CapturedLog log;
    Reactor reactor;
    std::optional<Failure> serverReason, clientReason;
    Script server;
    server.made = [](Protocol&) { throw std::runtime_error("refusing in connectionMade"); };
    server.lost = [&](const Failure& reason) { serverReason = reason; };
    auto port = listen(reactor, server);
    Script client;
    client.lost = [&](const Failure& reason) {
        clientReason = reason;
        stop(reactor);
    };
    auto connector = reactor.connectTCP("127.0.0.1", portOf(port), clientFactory(client));
    run(reactor);
    REQUIRE(serverReason.has_value());
    CHECK(serverReason->check<twine::ConnectionAborted>());
    REQUIRE(clientReason.has_value());
    CHECK(clientReason->check<twine::ConnectionClosed>());
    CHECK(log.text().find("refusing in connectionMade") != std::string::npos);
}

TEST_CASE("a factory whose buildProtocol returns nullptr has the connection closed") {
    Reactor reactor;
    auto refusing =
        std::make_shared<twine::ServerFactory>([]() -> std::unique_ptr<Protocol> { return {}; });
    auto port = listen(reactor, refusing);
    std::string received;
    std::optional<Failure> reason;
    Script client;
    client.data = [&](Protocol&, std::string_view data) { received.append(data); };
    client.lost = [&](const Failure& r) {
        reason = r;
        stop(reactor);
    };
    auto connector = reactor.connectTCP("127.0.0.1", portOf(port), clientFactory(client));
    run(reactor);
    REQUIRE(reason.has_value());
    CHECK(reason->check<twine::ConnectionClosed>());
    CHECK(received.empty());
}

TEST_CASE("a client factory whose buildProtocol returns nullptr hears clientConnectionLost") {
    Reactor reactor;
    auto port = listen(reactor, echo());
    class Refusing : public twine::ClientFactory {
    public:
        explicit Refusing(Reactor& reactor) : reactor_(reactor) {}
        std::unique_ptr<Protocol> buildProtocol(const twine::Address&) override { return {}; }
        void clientConnectionLost(Connector&, const Failure& reason) override {
            lost = reason;
            stop(reactor_);
        }
        std::optional<Failure> lost;

    private:
        Reactor& reactor_;
    };
    auto factory = std::make_shared<Refusing>(reactor);
    auto connector = reactor.connectTCP("127.0.0.1", portOf(port), factory);
    run(reactor);
    REQUIRE(factory->lost.has_value());
    CHECK(factory->lost->check<twine::ConnectionDone>());
}

TEST_CASE("exchangeProtocol hands the connection to another protocol") {
    Reactor reactor;
    twine::Transport* serverTransport = nullptr;
    std::unique_ptr<Protocol> previous;
    Script server;
    server.made = [&](Protocol& p) {
        serverTransport = &p.transport();
        // Swapped from outside the protocol's own call, as a layer would.
        reactor.callLater(0s, [&] {
            Script upper;
            upper.data = [](Protocol& q, std::string_view data) {
                std::string shout(data);
                for (char& c : shout) c = static_cast<char>(std::toupper(c));
                q.transport().write(shout);
            };
            auto replacement = std::make_unique<Scripted>(upper);
            replacement->setTransport(serverTransport);
            previous = serverTransport->exchangeProtocol(std::move(replacement));
            serverTransport->write("swapped");
        });
    };
    auto port = listen(reactor, server);
    std::string received;
    Script client;
    client.data = [&](Protocol& p, std::string_view data) {
        received.append(data);
        if (received == "swapped") p.transport().write("hello");
        if (received == "swappedHELLO") p.transport().loseConnection();
    };
    client.lost = [&](const Failure&) { stop(reactor); };
    auto connector = reactor.connectTCP("127.0.0.1", portOf(port), clientFactory(client));
    run(reactor);
    CHECK(received == "swappedHELLO");
    CHECK(previous != nullptr);
}
