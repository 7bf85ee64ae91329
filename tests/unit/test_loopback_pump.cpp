#include <doctest/doctest.h>

#include <twine/core/error.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/log.hpp>
#include <twine/protocols/echo.hpp>
#include <twine/protocols/int32_string_receiver.hpp>
#include <twine/protocols/line_receiver.hpp>
#include <twine/transports/loopback_pump.hpp>

#include <stdexcept>
#include <string>
#include <vector>

using twine::Failure;
using twine::LoopbackPump;
using twine::Protocol;

namespace {

// Records every event it sees.
class Recorder : public Protocol {
public:
    std::string received;
    std::vector<std::string> events;
    std::string lostReason;

    void connectionMade() override { events.push_back("made"); }
    void dataReceived(std::string_view data) override { received += data; }
    void connectionLost(const Failure& reason) override {
        events.push_back("lost");
        lostReason = reason.typeName();
    }
    void readConnectionLost() override {
        events.push_back("readLost");
        Protocol::readConnectionLost();
    }
    void writeConnectionLost() override { events.push_back("writeLost"); }
    bool lost() const { return !events.empty() && events.back() == "lost"; }
};

// Sends each string back reversed, so both directions carry real data.
class ReversingServer : public twine::Int32StringReceiver {
public:
    void stringReceived(std::string_view data) override {
        sendString(std::string(data.rbegin(), data.rend()));
    }
};

class CollectingClient : public twine::Int32StringReceiver {
public:
    std::vector<std::string> strings;
    void stringReceived(std::string_view data) override { strings.emplace_back(data); }
};

class Thrower : public Recorder {
public:
    void dataReceived(std::string_view) override { throw std::runtime_error("protocol bug"); }
};

// Writes a chunk each time it is resumed (a pull producer), or on demand (push).
class ChunkProducer : public twine::Producer {
public:
    twine::Transport* transport = nullptr;
    int chunksLeft = 0;
    int pauses = 0;
    int resumes = 0;
    bool stopped = false;
    void pauseProducing() override { ++pauses; }
    void resumeProducing() override {
        ++resumes;
        if (chunksLeft > 0) {
            --chunksLeft;
            transport->write(std::string(1000, 'p'));
        } else {
            transport->unregisterProducer();
        }
    }
    void stopProducing() override { stopped = true; }
};

}  // namespace

TEST_CASE("connecting through the pump makes both connections") {
    Recorder client;
    Recorder server;
    LoopbackPump pump(client, server);
    CHECK(client.events == std::vector<std::string>{"made"});
    CHECK(server.events == std::vector<std::string>{"made"});
    CHECK(client.transport().getPeer() == server.transport().getHost());
    CHECK(server.transport().getPeer() == client.transport().getHost());
}

TEST_CASE("a client and server exchange a large payload through the pump") {
    CollectingClient client;
    ReversingServer server;
    LoopbackPump pump(client, server);
    std::vector<std::string> sent;
    for (int i = 0; i < 40; ++i) {
        std::string payload(90000, static_cast<char>('a' + i % 26));
        payload[0] = 'X';
        client.sendString(payload);
        sent.push_back(std::string(payload.rbegin(), payload.rend()));
    }
    pump.pump();
    CHECK(client.strings == sent);
    CHECK_FALSE(pump.closed());
}

TEST_CASE("echo through the pump returns a 4 MiB payload byte for byte, in small reads") {
    Recorder client;
    twine::Echo server;
    LoopbackPump pump(client, server);
    pump.setChunkSize(4096);
    std::string payload(4 << 20, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7);
    client.transport().write(payload);
    pump.pump();
    CHECK(client.received == payload);
}

TEST_CASE("frames split into one-byte reads still arrive whole through the pump") {
    CollectingClient client;
    ReversingServer server;
    LoopbackPump pump(client, server);
    pump.setChunkSize(1);
    client.sendString("abc");
    client.sendString("");
    pump.pump();
    CHECK(client.strings == std::vector<std::string>{"cba", ""});
}

TEST_CASE("loseConnection flushes, then both sides see a clean connectionLost") {
    Recorder client;
    Recorder server;
    LoopbackPump pump(client, server);
    client.transport().write("last words");
    client.transport().loseConnection();
    pump.pump();
    CHECK(server.received == "last words");
    CHECK(client.lost());
    CHECK(server.lost());
    CHECK(client.lostReason == "twine::ConnectionDone");
    CHECK(server.lostReason == "twine::ConnectionDone");
    CHECK_FALSE(client.connected());
    CHECK(pump.closed());
}

TEST_CASE("abortConnection drops queued data and tells each side how it ended") {
    Recorder client;
    Recorder server;
    LoopbackPump pump(client, server);
    server.transport().write("never delivered");
    server.transport().abortConnection();
    pump.pump();
    CHECK(client.received.empty());
    CHECK(server.lostReason == "twine::ConnectionAborted");
    CHECK(client.lostReason == "twine::ConnectionLost");
}

TEST_CASE("a half-close reaches the peer as readConnectionLost, whose default closes") {
    Recorder client;
    Recorder server;
    LoopbackPump pump(client, server);
    client.transport().write("request");
    client.transport().loseWriteConnection();
    pump.pump();
    CHECK(server.received == "request");
    CHECK(client.events == std::vector<std::string>{"made", "writeLost", "lost"});
    CHECK(server.events == std::vector<std::string>{"made", "readLost", "lost"});
    CHECK(server.lostReason == "twine::ConnectionDone");
}

TEST_CASE("an exception in a protocol is logged and drops its connection") {
    std::vector<std::string> logged;
    twine::log::setObserver([&](const twine::log::Event& e) { logged.emplace_back(e.message); });
    Recorder client;
    Thrower server;
    LoopbackPump pump(client, server);
    client.transport().write("x");
    pump.pump();
    twine::log::setObserver({});
    CHECK(server.lost());
    CHECK(client.lost());
    CHECK(client.lostReason == "twine::ConnectionLost");
    REQUIRE_FALSE(logged.empty());
    CHECK(logged[0].find("protocol bug") != std::string::npos);
}

TEST_CASE("protocols that answer each other forever make pump throw, not hang") {
    twine::Echo client;
    twine::Echo server;
    LoopbackPump pump(client, server);
    pump.setMaxRounds(1000);
    client.transport().write("ping");
    CHECK_THROWS_AS(pump.pump(), std::runtime_error);
}

TEST_CASE("a server factory that refuses closes the client's connection") {
    Recorder client;
    twine::ServerFactory refusing([] { return std::unique_ptr<Protocol>(); });
    LoopbackPump pump(client, refusing);
    CHECK(pump.serverProtocol() == nullptr);
    pump.pump();
    CHECK(client.lost());
    CHECK(client.lostReason == "twine::ConnectionDone");
}

TEST_CASE("a server built by a factory gets the factory and the connection") {
    Recorder client;
    auto factory = twine::ServerFactory::forProtocol<twine::Echo>();
    LoopbackPump pump(client, *factory);
    REQUIRE(pump.serverProtocol() != nullptr);
    CHECK(pump.serverProtocol()->factory() == factory.get());
    client.transport().write("hi");
    pump.pump();
    CHECK(client.received == "hi");
}

TEST_CASE("a paused reader holds data until it resumes") {
    Recorder client;
    Recorder server;
    LoopbackPump pump(client, server);
    server.transport().pauseProducing();
    client.transport().write("held");
    pump.pump();
    CHECK(server.received.empty());
    CHECK(client.transport().bufferSize() == 4);
    server.transport().resumeProducing();
    pump.pump();
    CHECK(server.received == "held");
}

TEST_CASE("a pull producer is asked for more each time the buffer drains") {
    Recorder client;
    Recorder server;
    LoopbackPump pump(client, server);
    ChunkProducer producer;
    producer.transport = &client.transport();
    producer.chunksLeft = 5;
    client.transport().registerProducer(producer, false);
    pump.pump();
    CHECK(server.received.size() == 5000);
    CHECK(producer.resumes == 6);  // five chunks, then it unregisters
}

TEST_CASE("a streaming producer is paused above the high water mark and resumed after") {
    Recorder client;
    Recorder server;
    LoopbackPump pump(client, server);
    ChunkProducer producer;
    producer.transport = &client.transport();
    client.transport().setWriteBufferWaterMarks(3000, 1000);
    client.transport().registerProducer(producer, true);
    for (int i = 0; i < 4; ++i) client.transport().write(std::string(1000, 'w'));
    CHECK(producer.pauses == 1);
    pump.setChunkSize(1000);
    pump.pumpOnce();
    pump.pumpOnce();
    CHECK(producer.resumes == 0);  // 2000 queued: still above the low mark
    pump.pumpOnce();
    CHECK(producer.resumes == 1);
}

TEST_CASE("a registered producer is stopped when the connection is lost") {
    Recorder client;
    Recorder server;
    LoopbackPump pump(client, server);
    ChunkProducer producer;
    producer.transport = &client.transport();
    client.transport().registerProducer(producer, true);
    server.transport().loseConnection();
    pump.pump();
    CHECK(producer.stopped);
}

TEST_CASE("destroying the pump loses connections still open") {
    Recorder client;
    Recorder server;
    { LoopbackPump pump(client, server); }
    CHECK(client.lostReason == "twine::ConnectionLost");
    CHECK(server.lostReason == "twine::ConnectionLost");
    CHECK_FALSE(client.connected());
}
