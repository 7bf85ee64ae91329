// A second connection offering a name the first is still receiving (a
// sender killed a moment ago) waits for the first to let go and resumes from
// its partial, instead of failing "busy" at once.
#include <twine/core/clock.hpp>
#include <twine/protocols/filetransfer/message.hpp>
#include <twine/protocols/filetransfer/receive_root.hpp>
#include <twine/protocols/filetransfer/transfer_client.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>
#include <twine/protocols/filetransfer/transfer_server.hpp>
#include <twine/transports/string_transport.hpp>

#include <doctest/doctest.h>

#include "temp_files.hpp"

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace fs = std::filesystem;
namespace ft = twine::filetransfer;
using ft::Message;
using twine::testing::readFile;
using twine::testing::TempDir;

namespace {

struct Events : ft::TransferObserver {
    std::string lastFailure;
    void fileFailed(const std::string& name, const std::string& code, const std::string&) override {
        lastFailure = name + ":" + code;
    }
};

// A server on `root` that a real client authenticated; the test then speaks
// for the client on `toServer` and reads the server's answers.
struct Connection {
    twine::StringTransport clientSide;
    twine::StringTransport serverSide;
    Events clientEvents;
    Events serverEvents;
    std::unique_ptr<ft::TransferClient> client;
    std::unique_ptr<ft::TransferServer> server;

    Connection(const std::shared_ptr<ft::ReceiveRoot>& root, twine::Clock& clock,
               ft::TransferServer::Post post = {}) {
        server = std::make_unique<ft::TransferServer>(root, "token", clock, serverEvents,
                                                      std::move(post));
        client = std::make_unique<ft::TransferClient>(ft::TransferClient::Fetch{{}, nullptr},
                                                      "token", clock, clientEvents);
        server->makeConnection(serverSide);
        client->makeConnection(clientSide);
        for (int i = 0; i < 3; ++i) {
            std::string toServer = clientSide.value();
            std::string toClient = serverSide.value();
            clientSide.clear();
            serverSide.clear();
            std::size_t bye = toServer.find("BYE");
            if (bye != std::string::npos) toServer.resize(bye);
            server->dataReceived(toServer);
            client->dataReceived(toClient);
        }
        REQUIRE(server->isAuthenticated());
        serverSide.clear();
    }
};

// A size too large to be received unnamed: a dropped connection leaves a
// resumable ".NAME.part".
constexpr std::uint64_t resumable = ft::IncomingFile::unnamedLimit + 100;

std::string offer(const std::string& name, std::uint64_t size) {
    ft::FileInfo info;
    info.name = name;
    info.size = size;
    info.mode = 0644;
    return ft::offerFor(info).encode() + "\n";
}

std::string dataHeader(const std::string& name, std::uint64_t offset, std::uint64_t length) {
    return Message("DATA").set("name", name).set("offset", offset).set("length", length).encode() +
           "\n";
}

// Stands in for another reactor's callFromThread: what is posted runs only
// when the test says so.
struct Mailbox {
    std::vector<std::function<void()>> posted;
    ft::TransferServer::Post post() {
        return [this](std::function<void()> fn) { posted.push_back(std::move(fn)); };
    }
    void deliver() {
        for (auto& fn : std::exchange(posted, {})) fn();
    }
};

}  // namespace

TEST_CASE("an offer for a name still being drained waits, then resumes from the partial") {
    TempDir root;
    twine::Clock clock;
    auto receiveRoot = std::make_shared<ft::ReceiveRoot>(root.path, ft::ReceiveRoot::Options{});
    Connection dead(receiveRoot, clock);
    const std::string content(resumable, 'q');
    dead.server->dataReceived(offer("f", content.size()) + dataHeader("f", 0, content.size()) +
                              content.substr(0, 4000));

    Connection fresh(receiveRoot, clock);
    fresh.server->dataReceived(offer("f", content.size()));
    clock.advance(twine::Duration(0));
    // No answer yet (and no "busy"): it waits, reading paused.
    CHECK(fresh.serverSide.value().empty());
    CHECK(fresh.serverSide.producerState() == twine::StringTransport::ProducerState::paused);

    dead.server->connectionLost(twine::ConnectionLost());
    clock.advance(twine::Duration(0));
    CHECK(fresh.serverSide.value().find("RESUME name=f have=4000") == 0);
    CHECK(fresh.serverSide.producerState() == twine::StringTransport::ProducerState::producing);
    CHECK(fresh.serverEvents.lastFailure.empty());
}

TEST_CASE("an offer for a name another live connection keeps receiving is busy after the wait") {
    TempDir root;
    twine::Clock clock;
    auto receiveRoot = std::make_shared<ft::ReceiveRoot>(root.path, ft::ReceiveRoot::Options{});
    Connection holder(receiveRoot, clock);
    holder.server->dataReceived(offer("f", resumable) + dataHeader("f", 0, resumable) +
                                std::string(10, 'x'));
    Connection second(receiveRoot, clock);
    second.server->dataReceived(offer("f", resumable));
    clock.advance(ft::TransferServer::drainWait - std::chrono::seconds(1));
    CHECK(second.serverSide.value().empty());
    clock.advance(std::chrono::seconds(1));
    CHECK(second.serverSide.value().find("ERROR name=f code=busy") == 0);
    CHECK(second.serverEvents.lastFailure == "f:busy");
    CHECK_FALSE(second.serverSide.disconnecting());  // the session goes on
}

TEST_CASE("a waiting connection that is lost is forgotten by the root") {
    TempDir root;
    twine::Clock clock;
    auto receiveRoot = std::make_shared<ft::ReceiveRoot>(root.path, ft::ReceiveRoot::Options{});
    Connection holder(receiveRoot, clock);
    holder.server->dataReceived(offer("f", resumable) + dataHeader("f", 0, resumable) +
                                std::string(10, 'x'));
    {
        Connection waiting(receiveRoot, clock);
        waiting.server->dataReceived(offer("f", resumable));
        waiting.server->connectionLost(twine::ConnectionLost());
    }
    // Releasing the name now must not call into the connection that is gone.
    holder.server->connectionLost(twine::ConnectionLost());
    clock.advance(ft::TransferServer::drainWait);
    CHECK(readFile(root.path / ".f.part") == std::string(10, 'x'));
}

TEST_CASE("a release from another reactor reaches the waiting connection through its own loop") {
    TempDir root;
    twine::Clock clock;
    auto receiveRoot = std::make_shared<ft::ReceiveRoot>(root.path, ft::ReceiveRoot::Options{});
    Connection dead(receiveRoot, clock);
    dead.server->dataReceived(offer("f", resumable) + dataHeader("f", 0, resumable) +
                              std::string(30, 'x'));
    Mailbox waitersLoop;
    Connection fresh(receiveRoot, clock, waitersLoop.post());
    fresh.server->dataReceived(offer("f", resumable));

    dead.server->connectionLost(twine::ConnectionLost());
    clock.advance(twine::Duration(0));
    // The news was handed over, not acted on by the releasing side.
    REQUIRE(waitersLoop.posted.size() == 1);
    CHECK(fresh.serverSide.value().empty());
    waitersLoop.deliver();
    clock.advance(twine::Duration(0));
    CHECK(fresh.serverSide.value().find("RESUME name=f have=30") == 0);
    CHECK(fresh.serverSide.producerState() == twine::StringTransport::ProducerState::producing);
}

TEST_CASE("a release handed over after the waiting connection is gone does nothing") {
    TempDir root;
    twine::Clock clock;
    auto receiveRoot = std::make_shared<ft::ReceiveRoot>(root.path, ft::ReceiveRoot::Options{});
    Connection holder(receiveRoot, clock);
    holder.server->dataReceived(offer("f", resumable) + dataHeader("f", 0, resumable) +
                                std::string(10, 'x'));
    Mailbox waitersLoop;
    {
        Connection waiting(receiveRoot, clock, waitersLoop.post());
        waiting.server->dataReceived(offer("f", resumable));
        // Released while the waiter still waits; it goes before its loop runs the news.
        holder.server->connectionLost(twine::ConnectionLost());
        waiting.server->connectionLost(twine::ConnectionLost());
    }
    REQUIRE(waitersLoop.posted.size() == 1);
    waitersLoop.deliver();  // must not touch the destroyed connection (ASan checks)
    clock.advance(ft::TransferServer::drainWait);
    CHECK(readFile(root.path / ".f.part") == std::string(10, 'x'));
}

TEST_CASE("one name offered on many threads at once is claimed by exactly one") {
    TempDir root;
    auto receiveRoot = std::make_shared<ft::ReceiveRoot>(root.path, ft::ReceiveRoot::Options{});
    ft::FileInfo info;
    info.name = "same";
    info.size = 10;
    info.mode = 0644;
    constexpr int threads = 8;
    std::atomic<int> ready{0};
    std::atomic<int> busy{0};
    std::vector<std::unique_ptr<ft::IncomingFile>> claimed(threads);
    std::vector<std::thread> offering;
    for (int t = 0; t < threads; ++t) {
        offering.emplace_back([&, t] {
            ++ready;
            while (ready.load() < threads) std::this_thread::yield();
            try {
                claimed[static_cast<std::size_t>(t)] = receiveRoot->begin(info);
            } catch (const ft::TransferError& error) {
                if (error.code() == "busy") ++busy;
            }
        });
    }
    for (auto& thread : offering) thread.join();
    int winners = 0;
    for (const auto& file : claimed) winners += file ? 1 : 0;
    CHECK(winners == 1);
    CHECK(busy == threads - 1);
    CHECK(receiveRoot->receiving("same"));
    claimed.clear();
    CHECK_FALSE(receiveRoot->receiving("same"));
}
