// twine-ft's receiving side: a server past the handshake, fed what a
// hostile client might send after it (offers, DATA and its raw bytes,
// compressed CHUNKs and batches, PLAN, DONE...), in reads of any size.
// Properties: no crash, no leak, no unbounded buffer (ASan, the RSS
// limit); a session refused ends with the connection closing; nothing is
// written outside the root; and every file under its final name is one a
// DONE verified (a partial only ever lives as ".NAME.part").

#include <twine/core/clock.hpp>
#include <twine/protocols/filetransfer/transfer_client.hpp>
#include <twine/protocols/filetransfer/transfer_server.hpp>
#include <twine/transports/string_transport.hpp>

#include "fuzz_support.hpp"

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

namespace fs = std::filesystem;
namespace ft = twine::filetransfer;

namespace {

// Counts what the server's protocol reports.
struct Verified final : ft::TransferObserver {
    std::size_t finished = 0;
    void fileFinished(const ft::FileInfo&, std::uint64_t) override { ++finished; }
};

// A directory of the run's own (mkdtemp), removed when the fuzzer exits.
struct Scratch {
    fs::path path;
    Scratch() {
        char pattern[] = "/tmp/twine-fuzz-ft-XXXXXX";  // mkdtemp's template
        const char* made = ::mkdtemp(pattern);
        FUZZ_CHECK(made != nullptr);
        path = made;
    }
    ~Scratch() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
};

const fs::path& scratch() {
    static const Scratch made;
    return made.path;
}

// The server and a client that authenticates it, then goes quiet: the
// fuzzer speaks for the client from then on.
struct Session {
    twine::Clock clock;
    twine::StringTransport clientSide, serverSide;
    ft::TransferObserver quiet;
    Verified verified;
    std::unique_ptr<ft::TransferServer> server;
    std::unique_ptr<ft::TransferClient> client;

    explicit Session(const fs::path& root) {
        server = std::make_unique<ft::TransferServer>(
            std::make_shared<ft::ReceiveRoot>(root.string(), ft::ReceiveRoot::Options{}), "token",
            clock, verified);
        client = std::make_unique<ft::TransferClient>(ft::TransferClient::Fetch{{}, nullptr},
                                                      "token", clock, quiet);
        server->makeConnection(serverSide);
        client->makeConnection(clientSide);
        for (int round = 0; round < 3; ++round) {
            std::string toServer = clientSide.value();
            std::string toClient = serverSide.value();
            clientSide.clear();
            serverSide.clear();
            // The client would say BYE at once (it fetches nothing): not sent.
            if (std::size_t bye = toServer.find("BYE"); bye != std::string::npos) {
                toServer.resize(bye);
            }
            server->dataReceived(toServer);
            client->dataReceived(toClient);
        }
        FUZZ_CHECK(server->isAuthenticated());
    }
};

// Final names in the root: each must be a file a DONE verified.
std::size_t finalFiles(const fs::path& root) {
    std::size_t count = 0;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (!entry.is_regular_file()) continue;
        const std::string leaf = entry.path().filename().string();
        const bool partial = leaf.size() > 6 && leaf.front() == '.' &&
                             leaf.compare(leaf.size() - 5, 5, ".part") == 0;
        if (!partial) ++count;
    }
    return count;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    fuzz::Input input(bytes, size);
    const std::uint8_t seed = input.byte();
    const fs::path root = scratch() / "root";
    fs::remove_all(scratch());
    fs::create_directories(root);
    {
        Session session(root);
        for (std::string_view read : fuzz::split(input.rest(), seed)) {
            if (session.serverSide.disconnecting()) break;
            session.server->dataReceived(read);
        }
        session.server->connectionLost(twine::ConnectionLost());
        FUZZ_CHECK(finalFiles(root) <= session.verified.finished);
    }
    // Nothing escaped the root: the scratch directory holds only it.
    for (const auto& entry : fs::directory_iterator(scratch())) FUZZ_CHECK(entry.path() == root);
    return 0;
}
