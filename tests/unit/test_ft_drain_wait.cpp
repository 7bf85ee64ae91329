// A second connection offering a name the first is still receiving (a
// sender killed a moment ago) waits for the first to let go and resumes from
// its partial, instead of failing "busy" at once.
#include <twine/core/clock.hpp>
#include <twine/protocols/filetransfer/message.hpp>
#include <twine/protocols/filetransfer/transfer_client.hpp>
#include <twine/protocols/filetransfer/transfer_server.hpp>
#include <twine/transports/string_transport.hpp>

#include <doctest/doctest.h>

#include "temp_files.hpp"

#include <filesystem>
#include <memory>
#include <string>

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

    Connection(const std::shared_ptr<ft::ReceiveRoot>& root, twine::Clock& clock) {
        server = std::make_unique<ft::TransferServer>(root, "token", clock, serverEvents);
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

}  // namespace

TEST_CASE("an offer for a name still being drained waits, then resumes from the partial") {
    TempDir root;
    twine::Clock clock;
    auto receiveRoot = std::make_shared<ft::ReceiveRoot>(root.path, ft::ReceiveRoot::Options{});
    Connection dead(receiveRoot, clock);
    const std::string content(10000, 'q');
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
    holder.server->dataReceived(offer("f", 100) + dataHeader("f", 0, 100) + std::string(10, 'x'));
    Connection second(receiveRoot, clock);
    second.server->dataReceived(offer("f", 100));
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
    holder.server->dataReceived(offer("f", 100) + dataHeader("f", 0, 100) + std::string(10, 'x'));
    {
        Connection waiting(receiveRoot, clock);
        waiting.server->dataReceived(offer("f", 100));
        waiting.server->connectionLost(twine::ConnectionLost());
    }
    // Releasing the name now must not call into the connection that is gone.
    holder.server->connectionLost(twine::ConnectionLost());
    clock.advance(ft::TransferServer::drainWait);
    CHECK(readFile(root.path / ".f.part") == std::string(10, 'x'));
}
