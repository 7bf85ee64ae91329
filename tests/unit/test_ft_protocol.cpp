#include <twine/core/clock.hpp>
#include <twine/protocols/filetransfer/auth.hpp>
#include <twine/protocols/filetransfer/file_digest.hpp>
#include <twine/protocols/filetransfer/message.hpp>
#include <twine/protocols/filetransfer/transfer_client.hpp>
#include <twine/protocols/filetransfer/transfer_server.hpp>
#include <twine/protocols/filetransfer/zstd_chunks.hpp>
#include <twine/transports/string_transport.hpp>

#include <doctest/doctest.h>

#include "temp_files.hpp"
#include "test_ft_posted_calls.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <span>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace ft = twine::filetransfer;
using ft::Message;

namespace {

using twine::testing::PostedCalls;
using twine::testing::readFile;
using twine::testing::TempDir;
using twine::testing::writeFile;

std::string randomish(std::size_t size) {
    std::string data(size, '\0');
    std::uint32_t x = 12345;
    for (char& c : data) {
        x = x * 1103515245 + 12345;
        c = static_cast<char>(x >> 24);
    }
    return data;
}

void setMtime(const fs::path& path, std::time_t mtime) {
    struct timespec times[2] = {{0, UTIME_OMIT}, {mtime, 0}};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

struct Recorder : ft::TransferObserver {
    std::vector<std::string> finished;
    std::vector<std::string> upToDate;
    std::map<std::string, std::string> failed;
    std::map<std::string, std::uint64_t> moved;
    std::map<std::string, std::uint64_t> offsets;
    std::string ended = "<running>";
    std::vector<std::pair<std::uint64_t, std::uint64_t>> plans;  // files, bytes
    void transferPlanned(std::uint64_t files, std::uint64_t bytes) override {
        plans.emplace_back(files, bytes);
    }
    void fileStarted(const ft::FileInfo& info, std::uint64_t offset, bool) override {
        offsets[info.name] = offset;
    }
    void fileFinished(const ft::FileInfo& info, std::uint64_t bytes) override {
        finished.push_back(info.name);
        moved[info.name] = bytes;
    }
    void fileUpToDate(const ft::FileInfo& info) override { upToDate.push_back(info.name); }
    std::vector<std::string> would;
    void wouldTransfer(const ft::FileInfo& info) override { would.push_back(info.name); }
    void fileFailed(const std::string& name, const std::string& code, const std::string&) override {
        failed[name] = code;
    }
    void sessionEnded(const std::string& error) override { ended = error; }
};

/// A client and a server joined by two StringTransports, pumped by hand.
struct Link {
    twine::Clock clock;
    twine::StringTransport clientSide;
    twine::StringTransport serverSide;
    Recorder clientEvents;
    Recorder serverEvents;
    std::unique_ptr<ft::TransferClient> client;
    std::unique_ptr<ft::TransferServer> server;
    std::size_t budget = 0;  // 0: unlimited; else bytes delivered to the server

    void connect() {
        server->makeConnection(serverSide);
        client->makeConnection(clientSide);
    }

    // True if a call is due now (the sender's next turn), not a later timeout.
    bool callDue() {
        for (const auto& call : clock.getDelayedCalls()) {
            if (call.getTime() <= clock.seconds()) return true;
        }
        return false;
    }

    // Moves bytes both ways (and runs due calls) until nothing moves.
    void pump() {
        for (int round = 0; round < 100000; ++round) {
            clock.advance(twine::Duration(0));
            std::string toServer = clientSide.value();
            std::string toClient = serverSide.value();
            clientSide.clear();
            serverSide.clear();
            if (toServer.empty() && toClient.empty() && !callDue()) break;
            if (!toServer.empty() && !serverSide.disconnecting()) server->dataReceived(toServer);
            if (!toClient.empty() && !clientSide.disconnecting()) client->dataReceived(toClient);
            if (clientSide.disconnecting() && serverSide.disconnecting()) break;
        }
    }

    void close() {
        if (client->connected()) client->connectionLost(twine::ConnectionDone());
        if (server->connected()) server->connectionLost(twine::ConnectionDone());
    }
};

/// A session ended by an error: the end that sent the ERROR half-closes at
/// once (so the peer reads the ERROR, not a reset), drops what still
/// arrives, and closes when the linger time is up.
void checkLingeringClose(twine::Clock& clock, twine::StringTransport& transport) {
    CHECK(transport.writeClosed());
    CHECK_FALSE(transport.disconnecting());
    clock.advance(ft::TransferProtocol::lingerTimeout);
    CHECK(transport.disconnecting());
}

std::shared_ptr<ft::ReceiveRoot> rootAt(const fs::path& path, bool overwrite = false) {
    ft::ReceiveRoot::Options options;
    options.allowOverwrite = overwrite;
    return std::make_shared<ft::ReceiveRoot>(path, options);
}

std::unique_ptr<Link> pushLink(const fs::path& root, std::vector<std::string> paths,
                               std::string clientToken = "token", bool overwrite = false,
                               ft::Offering offering = {}) {
    auto link = std::make_unique<Link>();
    link->server = std::make_unique<ft::TransferServer>(rootAt(root, overwrite), "token",
                                                        link->clock, link->serverEvents);
    link->client =
        std::make_unique<ft::TransferClient>(ft::TransferClient::Push{std::move(paths), offering},
                                             clientToken, link->clock, link->clientEvents);
    link->connect();
    return link;
}

// A server authenticated by a client that then stays silent, so that the
// test can speak for the client.
std::unique_ptr<Link> authenticatedServer(const fs::path& root) {
    auto link = std::make_unique<Link>();
    link->server = std::make_unique<ft::TransferServer>(rootAt(root), "token", link->clock,
                                                        link->serverEvents);
    // A client pushing nothing; the handshake only: it is stopped before BYE.
    link->client = std::make_unique<ft::TransferClient>(ft::TransferClient::Fetch{{}, nullptr},
                                                        "token", link->clock, link->clientEvents);
    link->connect();
    for (int i = 0; i < 3; ++i) {
        std::string toServer = link->clientSide.value();
        std::string toClient = link->serverSide.value();
        link->clientSide.clear();
        link->serverSide.clear();
        std::size_t bye = toServer.find("BYE");
        if (bye != std::string::npos) toServer.resize(bye);
        link->server->dataReceived(toServer);
        link->client->dataReceived(toClient);
    }
    REQUIRE(link->server->isAuthenticated());
    link->serverSide.clear();
    return link;
}

// Small buffers, so that a file of a few hundred KiB goes through the
// writer thread and fills it.
constexpr ft::WriteBehind::Options smallBuffers{2, 64 * 1024};

// Pumps until the session is over, running what the receiver's writer
// thread posts whenever the bytes stop moving (the writer is behind).
void pumpWithWriter(Link& link, PostedCalls& loop) {
    for (int round = 0; round < 100000; ++round) {
        link.pump();
        if (link.client->completed() || link.clientSide.disconnecting() ||
            link.serverSide.disconnecting()) {
            return;
        }
        REQUIRE(loop.runOne());
    }
}

// FILE and DATA for `content`, as a client pushing it sends them.
std::string offerAndData(const std::string& name, const std::string& content) {
    ft::FileInfo info;
    info.name = name;
    info.size = content.size();
    info.mode = 0644;
    return ft::offerFor(info).encode() + "\n" +
           Message("DATA")
               .set("name", name)
               .set("offset", 0)
               .set("length", content.size())
               .encode() +
           "\n";
}

}  // namespace

TEST_CASE("a pushed file arrives with its content, mode and name") {
    TempDir local, remote;
    std::string content = randomish(3 * 1024 * 1024 + 17);
    writeFile(local.path / "data.bin", content);
    fs::permissions(local.path / "data.bin", static_cast<fs::perms>(0600));
    auto link = pushLink(remote.path, {(local.path / "data.bin").string()});
    link->pump();
    CHECK(link->client->completed());
    CHECK(link->clientEvents.failed.empty());
    CHECK(link->clientEvents.finished == std::vector<std::string>{"data.bin"});
    CHECK(link->serverEvents.finished == std::vector<std::string>{"data.bin"});
    CHECK(readFile(remote.path / "data.bin") == content);
    CHECK((fs::status(remote.path / "data.bin").permissions() & fs::perms::all) ==
          static_cast<fs::perms>(0600));
    link->close();
    CHECK(link->clientEvents.ended.empty());
}

TEST_CASE("a pushed directory tree arrives whole, skipping symlinks") {
    TempDir local, remote;
    writeFile(local.path / "tree/a.txt", "alpha");
    writeFile(local.path / "tree/sub/b.txt", "beta");
    writeFile(local.path / "tree/sub/deeper/c.txt", "");
    fs::create_directories(local.path / "tree/empty");
    fs::create_symlink("/etc/passwd", local.path / "tree/link");
    auto link = pushLink(remote.path, {(local.path / "tree").string()});
    link->pump();
    CHECK(link->clientEvents.failed.empty());
    CHECK(readFile(remote.path / "tree/a.txt") == "alpha");
    CHECK(readFile(remote.path / "tree/sub/b.txt") == "beta");
    CHECK(fs::exists(remote.path / "tree/sub/deeper/c.txt"));
    CHECK(fs::is_directory(remote.path / "tree/empty"));
    CHECK_FALSE(fs::exists(remote.path / "tree/link"));
    link->close();
}

TEST_CASE("a wrong token is refused and nothing is written") {
    TempDir local, remote;
    writeFile(local.path / "f", "content");
    auto link = pushLink(remote.path, {(local.path / "f").string()}, "wrong");
    link->pump();
    checkLingeringClose(link->clock, link->serverSide);
    CHECK_FALSE(link->server->isAuthenticated());
    CHECK_FALSE(link->client->completed());
    link->close();
    CHECK(link->clientEvents.ended.find("wrong token") != std::string::npos);
    CHECK(fs::is_empty(remote.path));
}

TEST_CASE("an interrupted push resumes and sends only the rest") {
    TempDir local, remote;
    std::string content = randomish(1024 * 1024);
    writeFile(local.path / "f", content);
    writeFile(remote.path / ".f.part", content.substr(0, 400000));
    auto link = pushLink(remote.path, {(local.path / "f").string()});
    link->pump();
    CHECK(link->clientEvents.offsets["f"] == 400000);
    CHECK(link->clientEvents.moved["f"] == content.size() - 400000);
    CHECK(readFile(remote.path / "f") == content);
    link->close();
}

TEST_CASE("a partial that is not a prefix of the file is sent again whole") {
    TempDir local, remote;
    std::string content = randomish(100000);
    writeFile(local.path / "f", content);
    writeFile(remote.path / ".f.part", std::string(5000, 'x'));
    auto link = pushLink(remote.path, {(local.path / "f").string()});
    link->pump();
    CHECK(link->clientEvents.offsets["f"] == 0);
    CHECK(link->clientEvents.moved["f"] == content.size());
    CHECK(readFile(remote.path / "f") == content);
    link->close();
}

TEST_CASE("an existing file is refused by name and the other files still go") {
    TempDir local, remote;
    writeFile(local.path / "a", "new");
    writeFile(local.path / "b", "bee");
    writeFile(remote.path / "a", "old");
    setMtime(remote.path / "a", 1000000000);  // same size, older: not up to date
    auto link = pushLink(remote.path, {(local.path / "a").string(), (local.path / "b").string()});
    link->pump();
    CHECK(link->clientEvents.failed["a"] == "exists");
    CHECK(readFile(remote.path / "a") == "old");
    CHECK(readFile(remote.path / "b") == "bee");
    CHECK(link->client->completed());
    link->close();
}

TEST_CASE("a fetch brings a served tree into the output directory") {
    TempDir served, out;
    writeFile(served.path / "docs/x.txt", "ex");
    writeFile(served.path / "docs/y/z.txt", "zed");
    writeFile(served.path / "single", "one");
    Link link;
    link.server = std::make_unique<ft::TransferServer>(rootAt(served.path), "token", link.clock,
                                                       link.serverEvents);
    link.client = std::make_unique<ft::TransferClient>(
        ft::TransferClient::Fetch{{"docs", "single", "missing", "../etc"}, rootAt(out.path)},
        "token", link.clock, link.clientEvents);
    link.connect();
    link.pump();
    CHECK(readFile(out.path / "docs/x.txt") == "ex");
    CHECK(readFile(out.path / "docs/y/z.txt") == "zed");
    CHECK(readFile(out.path / "single") == "one");
    CHECK(link.clientEvents.failed["missing"] == "not-found");
    CHECK(link.clientEvents.failed["../etc"] == "bad-name");
    CHECK(link.client->completed());
    // Each name's totals reach the fetching side (PLAN), for its progress line.
    using Plans = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
    CHECK(link.clientEvents.plans == Plans{{2, 5}, {1, 3}});
    link.close();
}

TEST_CASE("a malformed PLAN ends the session with bad-message") {
    TempDir root;
    auto link = authenticatedServer(root.path);
    link->server->dataReceived("PLAN files=two bytes=3\n");
    CHECK(link->serverSide.value().find("code=bad-message") != std::string::npos);
    checkLingeringClose(link->clock, link->serverSide);
    CHECK(link->serverEvents.plans.empty());
}

TEST_CASE("a fetch refuses a name the server offers that was not asked for") {
    TempDir out;
    twine::Clock clock;
    twine::StringTransport transport;
    Recorder events;
    ft::TransferClient client(ft::TransferClient::Fetch{{"wanted"}, rootAt(out.path)}, "t", clock,
                              events);
    client.makeConnection(transport);
    // Drive the handshake by hand, as a hostile server would.
    std::string hello = transport.value();
    std::string clientNonce = Message::decode(hello.substr(0, hello.find('\n'))).get("nonce");
    std::string serverNonce(32, 's');
    client.dataReceived(Message("HELLO")
                            .set("version", std::uint64_t{ft::TransferProtocol::version})
                            .set("role", "server")
                            .set("nonce", ft::toHex(serverNonce))
                            .encode() +
                        "\n");
    client.dataReceived(Message("WELCOME")
                            .set("proof", ft::toHex(ft::auth::serverProof(
                                              "t", serverNonce, ft::fromHex(clientNonce))))
                            .encode() +
                        "\n");
    REQUIRE(client.isAuthenticated());
    transport.clear();
    client.dataReceived("FILE name=other size=3 mode=644 mtime=0\n");
    CHECK(events.failed["other"] == "bad-name");
    CHECK(transport.value().find("ERROR name=other code=bad-name") == 0);
    client.dataReceived("FILE name=wanted/../../x size=3 mode=644 mtime=0\n");
    CHECK(events.failed["wanted/../../x"] == "bad-name");
    CHECK(fs::is_empty(out.path));
}

TEST_CASE("hostile input to a server gives a clear error and a closed connection") {
    TempDir root;
    auto check = [&](const std::string& input, const std::string& code) {
        twine::Clock clock;
        twine::StringTransport transport;
        Recorder events;
        ft::TransferServer server(rootAt(root.path), "token", clock, events);
        server.makeConnection(transport);
        transport.clear();
        server.dataReceived(input);
        CHECK(transport.value().find("ERROR code=" + code) == 0);
        checkLingeringClose(clock, transport);
    };
    check("FILE name=x size=1 mode=644 mtime=0\n", "auth");
    check("garbage\n", "bad-message");
    check(std::string(20000, 'A'), "bad-message");
    check("HELLO version=1 role=client nonce=" + std::string(64, 'a') + "\n", "version");
    check("HELLO version=2 role=client nonce=abc\n", "bad-message");
    check(std::string("HELLO \0\n", 8), "bad-message");
    check("AUTH proof=" + std::string(64, 'a') + "\n", "auth");
    CHECK(fs::is_empty(root.path));
}

TEST_CASE("a pushed name that escapes the root is refused and nothing is written outside") {
    TempDir root;
    fs::path outside = root.path.parent_path() / (root.path.filename().string() + "-outside");
    auto owned = authenticatedServer(root.path);
    Link& link = *owned;
    for (std::string name :
         {std::string("../escape"), std::string("/abs"), std::string("a/../../b"),
          std::string("a\\..\\b"), std::string("a\0b", 3), std::string(".x.part"),
          std::string("a\nb"), std::string(""), std::string("a//b")}) {
        link.serverSide.clear();
        ft::FileInfo info;
        info.name = name;
        info.size = 1;
        link.server->dataReceived(ft::offerFor(info).encode() + "\n");
        INFO(name);
        CHECK(link.serverSide.value().find("code=bad-name") != std::string::npos);
        CHECK_FALSE(link.serverSide.disconnecting());
    }
    CHECK(fs::is_empty(root.path));
    CHECK_FALSE(fs::exists(outside / "escape"));
}

TEST_CASE("a peer that never authenticates is dropped after the handshake timeout") {
    TempDir root;
    twine::Clock clock;
    twine::StringTransport transport;
    Recorder events;
    ft::TransferServer server(rootAt(root.path), "token", clock, events);
    server.makeConnection(transport);
    transport.clear();
    clock.advance(ft::TransferProtocol::handshakeTimeout - std::chrono::seconds(1));
    CHECK_FALSE(transport.disconnecting());
    clock.advance(std::chrono::seconds(2));
    CHECK(transport.value().find("ERROR code=auth") == 0);
    checkLingeringClose(clock, transport);
}

TEST_CASE("an authenticated session is not timed out") {
    TempDir local, remote;
    writeFile(local.path / "f", "x");
    auto link = pushLink(remote.path, {(local.path / "f").string()});
    link->pump();
    REQUIRE(link->server->isAuthenticated());
    link->clock.advance(ft::TransferProtocol::handshakeTimeout * 2);
    CHECK(link->clock.getDelayedCalls().empty());
    link->close();
}

TEST_CASE("files written behind the loop arrive whole and reading resumes after each") {
    TempDir local, remote;
    PostedCalls loop;  // outlives the link, whose writer thread posts to it
    std::string first = randomish(1024 * 1024 + 4321);
    std::string second = randomish(300000);
    writeFile(local.path / "first.bin", first);
    writeFile(local.path / "small", "tiny");  // under a buffer: written on the loop
    writeFile(local.path / "second.bin", second);
    auto link =
        pushLink(remote.path, {(local.path / "first.bin").string(), (local.path / "small").string(),
                               (local.path / "second.bin").string()});
    link->server->setWriteBehind(loop.post(), smallBuffers);
    pumpWithWriter(*link, loop);
    CHECK(link->client->completed());
    CHECK(link->clientEvents.failed.empty());
    CHECK(link->serverEvents.finished ==
          std::vector<std::string>{"first.bin", "small", "second.bin"});
    CHECK(readFile(remote.path / "first.bin") == first);
    CHECK(readFile(remote.path / "small") == "tiny");
    CHECK(readFile(remote.path / "second.bin") == second);
    CHECK(loop.posted() >= 2);  // the big files' results came from the writer thread
    CHECK(link->serverSide.producerState() == twine::StringTransport::ProducerState::producing);
    link->close();
    CHECK(link->serverEvents.ended.empty());
}

TEST_CASE("a hash mismatch found behind the loop is reported and leaves no file") {
    TempDir root;
    PostedCalls loop;
    auto link = authenticatedServer(root.path);
    link->server->setWriteBehind(loop.post(), smallBuffers);
    std::string content = randomish(300000);
    link->server->dataReceived(offerAndData("f", content) + content +
                               "DONE name=f xxh128=" + ft::toHex(std::string(16, 'x')) + "\n");
    while (link->serverSide.value().find("ERROR") == std::string::npos) REQUIRE(loop.runOne());
    CHECK(link->serverSide.value().find("ERROR name=f code=hash-mismatch") != std::string::npos);
    CHECK(link->serverEvents.failed["f"] == "hash-mismatch");
    CHECK(loop.posted() >= 1);
    CHECK(fs::is_empty(root.path));
    // The session goes on: the next offer is read and answered.
    CHECK_FALSE(link->serverSide.disconnecting());
    link->serverSide.clear();
    link->server->dataReceived("FILE name=g size=0 mode=644 mtime=0\n");
    CHECK(link->serverSide.value().find("RESUME name=g") == 0);
}

TEST_CASE("a connection lost mid-file keeps every byte received behind the loop for a resume") {
    TempDir root;
    PostedCalls loop;
    auto link = authenticatedServer(root.path);
    link->server->setWriteBehind(loop.post(), smallBuffers);
    std::string content = randomish(300000);
    // More than its two buffers at once: some are still with the writer
    // thread (whether reading paused for them depends on how far that thread
    // got; test_ft_write_behind covers the pausing with a gated sink).
    link->server->dataReceived(offerAndData("f", content) + content.substr(0, 200001));
    link->server->connectionLost(twine::ConnectionLost());
    CHECK(readFile(root.path / ".f.part") == content.substr(0, 200001));
    CHECK_FALSE(fs::exists(root.path / "f"));
    CHECK(link->serverEvents.failed["f"] == "connection-lost");
    loop.runPending();  // reports that arrive after the writer is gone do nothing
}

namespace {

// Pushes `paths` to `root` once, to the end of the session.
std::unique_ptr<Link> pushed(const fs::path& root, std::vector<std::string> paths,
                             bool overwrite = false) {
    auto link = pushLink(root, std::move(paths), "token", overwrite);
    link->pump();
    link->close();
    return link;
}

}  // namespace

TEST_CASE("a re-run sends no data for files whose size and mtime match the receiver's copy") {
    TempDir local, remote;
    writeFile(local.path / "a", randomish(5000));
    writeFile(local.path / "b", randomish(7000));
    std::vector<std::string> paths{(local.path / "a").string(), (local.path / "b").string()};
    auto first = pushed(remote.path, paths);
    REQUIRE(first->clientEvents.finished.size() == 2);

    auto again = pushLink(remote.path, paths);
    again->pump();
    CHECK(again->client->completed());
    CHECK(again->clientEvents.upToDate == std::vector<std::string>{"a", "b"});
    CHECK(again->serverEvents.upToDate == std::vector<std::string>{"a", "b"});
    CHECK(again->clientEvents.finished.empty());
    CHECK(again->clientEvents.failed.empty());   // not "exists": nothing to overwrite
    CHECK(again->serverEvents.offsets.empty());  // no file was started
    again->close();
}

TEST_CASE("a changed file among unchanged ones is the only one sent, and replaces the old") {
    TempDir local, remote;
    writeFile(local.path / "same", "unchanged");
    writeFile(local.path / "changed", "version one");
    std::vector<std::string> paths{(local.path / "same").string(),
                                   (local.path / "changed").string()};
    pushed(remote.path, paths, true);
    writeFile(local.path / "changed", "version two, longer");

    auto again = pushLink(remote.path, paths, "token", true);
    again->pump();
    CHECK(again->client->completed());
    CHECK(again->clientEvents.upToDate == std::vector<std::string>{"same"});
    CHECK(again->clientEvents.finished == std::vector<std::string>{"changed"});
    CHECK(readFile(remote.path / "changed") == "version two, longer");
    CHECK_FALSE(fs::exists(remote.path / ".changed.part"));
    again->close();
}

TEST_CASE("the same size with another mtime is not up to date: without overwrite it is 'exists'") {
    TempDir local, remote;
    writeFile(local.path / "f", "12345");
    std::vector<std::string> paths{(local.path / "f").string()};
    pushed(remote.path, paths);
    setMtime(local.path / "f", 1000000000);

    auto again = pushLink(remote.path, paths);
    again->pump();
    CHECK(again->clientEvents.upToDate.empty());
    CHECK(again->clientEvents.failed["f"] == "exists");
    again->close();
}

TEST_CASE("the receiver keeps the sender's mode and mtime, so the next run can compare them") {
    TempDir local, remote;
    writeFile(local.path / "f", "content");
    fs::permissions(local.path / "f", fs::perms(0640));
    setMtime(local.path / "f", 1234567890);
    pushed(remote.path, {(local.path / "f").string()});
    struct stat st {};
    REQUIRE(::stat((remote.path / "f").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
    CHECK(st.st_mtim.tv_sec == 1234567890);
}

TEST_CASE("SAME that answers no offer ends the session with an error") {
    TempDir root;
    auto link = authenticatedServer(root.path);
    link->server->dataReceived("SAME name=f\n");
    checkLingeringClose(link->clock, link->serverSide);
    CHECK(link->serverSide.value().find("ERROR code=") == 0);
    link->serverSide.clear();
}

namespace {

std::string hexDigestOf(std::string_view data) {
    ft::FileDigest digest;
    digest.update(data);
    return digest.hexDigest();
}

// The client's first output after the handshake, the server not answering
// it; `edit` may change what the server says before the client reads it.
std::string firstOffers(Link& link, const std::function<std::string(std::string)>& edit = {}) {
    for (int round = 0; round < 10; ++round) {
        std::string toServer = link.clientSide.value();
        std::string toClient = link.serverSide.value();
        if (edit) toClient = edit(toClient);
        link.clientSide.clear();
        link.serverSide.clear();
        if (toServer.find("FILE ") != std::string::npos) return toServer;
        link.server->dataReceived(toServer);
        link.client->dataReceived(toClient);
    }
    return {};
}

std::size_t countLines(const std::string& text, const std::string& prefix) {
    std::size_t count = 0;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) count += line.rfind(prefix, 0) == 0;
    return count;
}

}  // namespace

TEST_CASE("a tree is offered a window of files ahead, without waiting for each answer") {
    TempDir local, remote;
    const std::size_t files = ft::TransferProtocol::window + 10;
    fs::create_directory(local.path / "tree");
    for (std::size_t i = 0; i < files; ++i) writeFile(local.path / "tree" / std::to_string(i), "x");
    auto link = pushLink(remote.path, {(local.path / "tree").string()});
    std::string offers = firstOffers(*link);
    // The directory and window - 1 files: one window of entries in flight.
    CHECK(countLines(offers, "DIR ") == 1);
    CHECK(countLines(offers, "FILE ") == ft::TransferProtocol::window - 1);
    link->server->dataReceived(offers);
    link->pump();
    CHECK(link->client->completed());
    CHECK(link->serverEvents.finished.size() == files);
    CHECK(readFile(remote.path / "tree" / std::to_string(files - 1)) == "x");
    link->close();
}

// The server's HELLO with its `window` field replaced (by nothing: removed).
std::function<std::string(std::string)> announcedWindow(const std::string& field) {
    return [field](std::string said) {
        std::size_t at = said.find(" window=");
        if (at != std::string::npos) {
            std::size_t end = said.find_first_of(" \n", at + 1);
            said.replace(at, end - at, field.empty() ? "" : " window=" + field);
        }
        return said;
    };
}

TEST_CASE("a sender keeps no more offers in flight than the receiver's HELLO allows") {
    TempDir local, remote;
    fs::create_directory(local.path / "tree");
    for (int i = 0; i < 200; ++i) writeFile(local.path / "tree" / std::to_string(i), "x");
    SUBCASE("a receiver that names a window gets that many") {
        auto link = pushLink(remote.path, {(local.path / "tree").string()});
        std::string offers = firstOffers(*link, announcedWindow("5"));
        CHECK(countLines(offers, "DIR ") + countLines(offers, "FILE ") == 5);
        link->close();
    }
    SUBCASE("a receiver that names none gets the window of version 2 before it had one") {
        auto link = pushLink(remote.path, {(local.path / "tree").string()});
        std::string offers = firstOffers(*link, announcedWindow(""));
        CHECK(countLines(offers, "DIR ") + countLines(offers, "FILE ") ==
              ft::TransferProtocol::legacyWindow);
        link->close();
    }
    SUBCASE("a window of 0 is refused") {
        auto link = pushLink(remote.path, {(local.path / "tree").string()});
        std::string offers = firstOffers(*link, announcedWindow("0"));
        CHECK(offers.find("FILE ") == std::string::npos);
        checkLingeringClose(link->clock, link->clientSide);
        link->close();
    }
}

// The names in a sender's FILE lines, in order.
std::vector<std::string> offeredNames(const std::string& text) {
    std::vector<std::string> names;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("FILE name=", 0) != 0) continue;
        names.push_back(line.substr(10, line.find(' ', 10) - 10));
    }
    return names;
}

// The server's HELLO without `window-done` in its caps (a receiver that
// frees a slot only at OK).
std::string withoutWindowDone(std::string said) {
    std::size_t at = said.find(",window-done");
    if (at != std::string::npos) said.erase(at, 12);
    return said;
}

TEST_CASE("a sender offers more once a file's DONE is out, if the receiver frees its slot then") {
    TempDir local, remote;
    fs::create_directory(local.path / "tree");
    for (std::size_t i = 0; i < ft::TransferProtocol::window + 10; ++i) {
        writeFile(local.path / "tree" / std::to_string(i), "x");
    }
    auto answerFive = [](Link& link, const std::string& offers) {
        std::string answers = "OK name=tree\n";
        auto names = offeredNames(offers);
        for (std::size_t i = 0; i < 5; ++i) answers += "RESUME name=" + names[i] + " have=0\n";
        link.clientSide.clear();
        link.client->dataReceived(answers);
        return link.clientSide.value();
    };
    SUBCASE("window-done: the directory's OK and five DONEs free six slots") {
        auto link = pushLink(remote.path, {(local.path / "tree").string()});
        std::string after = answerFive(*link, firstOffers(*link));
        CHECK(countLines(after, "DATA ") == 5);
        CHECK(countLines(after, "FILE ") == 6);
        link->close();
    }
    SUBCASE("a receiver without it: only the directory's OK frees one") {
        auto link = pushLink(remote.path, {(local.path / "tree").string()});
        std::string after = answerFive(*link, firstOffers(*link, withoutWindowDone));
        CHECK(countLines(after, "DATA ") == 5);
        CHECK(countLines(after, "FILE ") == 1);
        link->close();
    }
}

TEST_CASE(
    "a sender remembers a bounded number of files awaiting OK from a receiver that never sends "
    "it") {
    TempDir local, remote;
    const std::size_t bound = ft::TransferProtocol::commitBacklog + 5;
    fs::create_directory(local.path / "tree");
    for (std::size_t i = 0; i < bound + 50; ++i) {
        writeFile(local.path / "tree" / std::to_string(i), "x");
    }
    auto link = pushLink(remote.path, {(local.path / "tree").string()});
    std::string offers = firstOffers(*link, announcedWindow("5"));
    std::size_t offered = 0;  // files: the directory is answered at once
    std::string answers = "OK name=tree\n";
    for (int round = 0; round < 10000 && !offers.empty(); ++round) {
        for (const auto& name : offeredNames(offers)) {
            answers += "RESUME name=" + name + " have=0\n";
            ++offered;
        }
        link->clientSide.clear();
        link->client->dataReceived(answers);
        answers.clear();
        offers = link->clientSide.value();
    }
    CHECK(offered == bound);
    CHECK_FALSE(link->clientSide.disconnecting());
    link->close();
}

TEST_CASE("an answer arriving while a file streams does not put a line among its bytes") {
    // Offers refill the window as answers come; while a file's raw bytes
    // are going out they must wait, or the receiver would read a line as data.
    TempDir local, remote;
    fs::create_directory(local.path / "tree");
    writeFile(local.path / "tree" / "a", "a");
    std::string large = randomish(20 * 1024 * 1024);  // more than one turn of the sender
    writeFile(local.path / "tree" / "b", large);
    for (std::size_t i = 0; i < ft::TransferProtocol::window; ++i) {
        writeFile(local.path / "tree" / ("c" + std::to_string(1000 + i)), "c");
    }
    auto link = pushLink(remote.path, {(local.path / "tree").string()});
    REQUIRE(firstOffers(*link).find("FILE name=tree/b ") != std::string::npos);
    link->client->dataReceived("OK name=tree\nRESUME name=tree/a have=0\n");
    link->client->dataReceived("RESUME name=tree/b have=0\n");
    std::string streamed = link->clientSide.value();
    REQUIRE(streamed.find("DATA name=tree/b ") != std::string::npos);
    REQUIRE(streamed.find("DONE name=tree/b ") == std::string::npos);  // still streaming
    link->clientSide.clear();
    link->client->dataReceived("OK name=tree/a size=1\n");  // frees a place in the window
    CHECK(link->clientSide.value().find("FILE ") == std::string::npos);
    for (int turn = 0; turn < 100 && streamed.find("DONE name=tree/b ") == std::string::npos;
         ++turn) {
        link->clock.advance(twine::Duration(0));
        streamed = link->clientSide.value();
    }
    // The offer goes out once the file's bytes and its DONE are out.
    std::size_t done = streamed.find("DONE name=tree/b ");
    REQUIRE(done != std::string::npos);
    CHECK(streamed.find("FILE ", done) != std::string::npos);
    CHECK(streamed.find("FILE ") > done);
    link->close();
}

TEST_CASE("a receiver refuses offers beyond the window") {
    TempDir root;
    auto link = authenticatedServer(root.path);
    std::string offers;
    for (std::size_t i = 0; i <= ft::TransferProtocol::window; ++i) {
        offers += "FILE name=f" + std::to_string(i) + " size=1 mode=644 mtime=0\n";
    }
    link->server->dataReceived(offers);
    std::string answers = link->serverSide.value();
    CHECK(countLines(answers, "RESUME ") == ft::TransferProtocol::window);
    CHECK(answers.find("ERROR code=unexpected") != std::string::npos);
    checkLingeringClose(link->clock, link->serverSide);
    link->server->connectionLost(twine::ConnectionLost());
    CHECK(fs::is_empty(root.path));  // accepted offers with no data leave no partials
}

// A one-byte file's whole push as the sender writes it: FILE, DATA, the byte, DONE.
std::string oneByteFile(const std::string& name) {
    return "FILE name=" + name + " size=1 mode=644 mtime=0\nDATA name=" + name +
           " offset=0 length=1\nxDONE name=" + name + " xxh128=" + hexDigestOf("x") + "\n";
}

std::string offerOf(const std::string& name) {
    return "FILE name=" + name + " size=1 mode=644 mtime=0\n";
}

TEST_CASE("files whose DONE came leave the window while they are made durable") {
    // The sender may offer more as soon as it sends a DONE: the OK, a group
    // sync and a round trip later, would leave a slow link idle meanwhile.
    TempDir root;
    PostedCalls loop;  // commits run on a worker; their OKs wait here, unrun
    auto link = authenticatedServer(root.path);
    link->server->setWriteBehind(loop.post(), smallBuffers);
    const std::size_t window = ft::TransferProtocol::window;
    const std::size_t half = window / 2;
    std::string input;
    for (std::size_t i = 0; i < window; ++i) input += offerOf("f" + std::to_string(i));
    for (std::size_t i = 0; i < half; ++i) {
        const std::string name = "f" + std::to_string(i);
        input += "DATA name=" + name + " offset=0 length=1\nxDONE name=" + name +
                 " xxh128=" + hexDigestOf("x") + "\n";
    }
    for (std::size_t i = window; i < window + half; ++i) input += offerOf("f" + std::to_string(i));
    link->server->dataReceived(input);
    std::string answers = link->serverSide.value();
    CHECK(countLines(answers, "RESUME ") == window + half);
    CHECK(countLines(answers, "OK ") == 0);  // none is durable yet, as far as the sender knows
    CHECK(answers.find("ERROR") == std::string::npos);
    // A window of files still waiting for their data is the limit, as before.
    link->server->dataReceived(offerOf("one-too-many"));
    CHECK(link->serverSide.value().find("ERROR code=unexpected") != std::string::npos);
    link->server->connectionLost(twine::ConnectionLost());
    // The files that came whole are put in place all the same.
    for (std::size_t i = 0; i < half; ++i)
        CHECK(readFile(root.path / ("f" + std::to_string(i))) == "x");
    CHECK_FALSE(fs::exists(root.path / ("f" + std::to_string(half))));
}

TEST_CASE("a receiver stops reading while a backlog of files waits to be made durable") {
    TempDir root;
    PostedCalls loop;
    auto link = authenticatedServer(root.path);
    link->server->setWriteBehind(loop.post(), smallBuffers);
    const std::size_t backlog = ft::TransferProtocol::commitBacklog;
    std::string input;
    for (std::size_t i = 0; i < backlog; ++i) input += oneByteFile("f" + std::to_string(i));
    input += offerOf("last");
    link->server->dataReceived(input);
    // Every file came whole; until some are in place the next offer waits unread.
    CHECK(countLines(link->serverSide.value(), "RESUME ") == backlog);
    CHECK(link->serverSide.value().find("RESUME name=last") == std::string::npos);
    CHECK(link->serverSide.producerState() == twine::StringTransport::ProducerState::paused);
    while (link->serverSide.value().find("RESUME name=last") == std::string::npos) {
        REQUIRE(loop.runOne());
    }
    CHECK(link->serverSide.producerState() == twine::StringTransport::ProducerState::producing);
    loop.runPending();
    while (countLines(link->serverSide.value(), "OK ") < backlog) REQUIRE(loop.runOne());
    CHECK(link->serverEvents.finished.size() == backlog);
    CHECK(readFile(root.path / ("f" + std::to_string(backlog - 1))) == "x");
    link->server->connectionLost(twine::ConnectionLost());
}

std::size_t openDescriptors() {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator()));
}

TEST_CASE("a window of files in flight holds one descriptor each, plus one per directory") {
    // Each accepted file keeps its partial open until it is committed; its
    // directory is shared with the other files in it, so a full window
    // (1024) stays far from a process's descriptor limit.
    TempDir root;
    auto link = authenticatedServer(root.path);
    const std::size_t before = openDescriptors();
    std::string offers;
    for (int i = 0; i < 300; ++i) {
        offers += "FILE name=d" + std::to_string(i % 3) + "/f" + std::to_string(i) +
                  " size=1 mode=644 mtime=0\n";
    }
    link->server->dataReceived(offers);
    CHECK(countLines(link->serverSide.value(), "RESUME ") == 300);
    const std::size_t held = openDescriptors() - before;
    CHECK(held >= 300);
    CHECK(held <= 300 + 3 + 2);
    link->server->connectionLost(twine::ConnectionLost());
    CHECK(openDescriptors() <= before);
}

TEST_CASE("the answers to one read go out in one write, after the read") {
    // One write (and one TLS record) per read, not one per file: what makes
    // a tree of small files cheap for the receiver.
    struct CountingTransport : twine::StringTransport {
        int writes = 0;
        using twine::StringTransport::write;
        void write(std::string_view data) override {
            ++writes;
            twine::StringTransport::write(data);
        }
        void write(std::string&& data) override { write(std::string_view(data)); }
        void writeSequence(std::span<const std::string_view> parts) override {
            std::string joined;
            for (std::string_view part : parts) joined += part;
            write(std::string_view(joined));
        }
    };
    TempDir root;
    auto link = authenticatedServer(root.path);
    CountingTransport counting;
    link->server->setTransport(&counting);
    std::string input;
    for (const std::string name : {"a", "b", "c"}) {
        input += "FILE name=" + name + " size=3 mode=644 mtime=0\n";
    }
    link->server->dataReceived(input);
    CHECK(countLines(counting.value(), "RESUME ") == 3);
    CHECK(counting.writes == 1);
    counting.writes = 0;
    counting.clear();
    input.clear();
    for (const std::string name : {"a", "b", "c"}) {
        std::string content = name + name + name;
        input += "DATA name=" + name + " offset=0 length=3\n" + content + "DONE name=" + name +
                 " xxh128=" + hexDigestOf(content) + "\n";
    }
    link->server->dataReceived(input);
    std::string answers = counting.value();
    CHECK(answers.find("OK name=a") < answers.find("OK name=b"));
    CHECK(answers.find("OK name=b") < answers.find("OK name=c"));
    CHECK(counting.writes == 1);
    CHECK(readFile(root.path / "c") == "ccc");
    link->server->setTransport(&link->serverSide);
}

TEST_CASE("data must come in the order the files were accepted") {
    TempDir root;
    auto link = authenticatedServer(root.path);
    link->server->dataReceived(
        "FILE name=a size=1 mode=644 mtime=0\nFILE name=b size=1 mode=644 mtime=0\n"
        "DATA name=b offset=0 length=1\n");
    CHECK(link->serverSide.value().find("ERROR code=unexpected") != std::string::npos);
    checkLingeringClose(link->clock, link->serverSide);
}

TEST_CASE("pipelined files are answered in order and each is verified") {
    TempDir root;
    auto link = authenticatedServer(root.path);
    std::string input;
    for (const std::string name : {"a", "b", "c"}) {
        input += "FILE name=" + name + " size=3 mode=644 mtime=0\n";
    }
    for (const std::string name : {"a", "b", "c"}) {
        std::string content = name + name + name;
        std::string digest = name == "b" ? ft::toHex(std::string(16, 'x')) : hexDigestOf(content);
        input += "DATA name=" + name + " offset=0 length=3\n" + content + "DONE name=" + name +
                 " xxh128=" + digest + "\n";
    }
    link->server->dataReceived(input);
    std::string answers = link->serverSide.value();
    CHECK(answers.find("OK name=a") < answers.find("ERROR name=b code=hash-mismatch"));
    CHECK(answers.find("ERROR name=b code=hash-mismatch") < answers.find("OK name=c"));
    CHECK(readFile(root.path / "a") == "aaa");
    CHECK(readFile(root.path / "c") == "ccc");
    CHECK_FALSE(fs::exists(root.path / "b"));
    CHECK_FALSE(link->serverSide.disconnecting());
}

TEST_CASE("a file that arrived whole is put in place even if the connection goes before its OK") {
    TempDir root;
    PostedCalls loop;
    auto link = authenticatedServer(root.path);
    link->server->setWriteBehind(loop.post(), smallBuffers);  // commits on a worker thread
    link->server->dataReceived(offerAndData("f", "abc") + "abc" +
                               "DONE name=f xxh128=" + hexDigestOf("abc") + "\n");
    link->server->connectionLost(twine::ConnectionLost());
    CHECK(readFile(root.path / "f") == "abc");
    CHECK_FALSE(fs::exists(root.path / ".f.part"));
    CHECK(link->serverEvents.finished == std::vector<std::string>{"f"});
    loop.runPending();
}

TEST_CASE("a dry run reports what would move and writes nothing") {
    TempDir local, remote;
    fs::create_directory(local.path / "tree");
    writeFile(local.path / "tree" / "same", "kept");
    writeFile(local.path / "tree" / "new", "fresh");
    setMtime(local.path / "tree" / "same", 1600000000);
    fs::create_directory(remote.path / "tree");
    writeFile(remote.path / "tree" / "same", "kept");
    setMtime(remote.path / "tree" / "same", 1600000000);
    ft::Offering dryRun;
    dryRun.dryRun = true;
    auto link = pushLink(remote.path, {(local.path / "tree").string()}, "token", false, dryRun);
    link->pump();
    CHECK(link->client->completed());
    CHECK(link->clientEvents.upToDate == std::vector<std::string>{"tree/same"});
    CHECK(link->clientEvents.would == std::vector<std::string>{"tree/new"});
    CHECK(link->clientEvents.finished.empty());
    CHECK_FALSE(fs::exists(remote.path / "tree" / "new"));
    CHECK_FALSE(fs::exists(remote.path / "tree" / ".new.part"));
    link->close();
}

TEST_CASE("a dry run reports the refusals a real run would meet") {
    TempDir local, remote;
    writeFile(local.path / "taken", "mine");
    writeFile(remote.path / "taken", "theirs");
    ft::Offering dryRun;
    dryRun.dryRun = true;
    auto link = pushLink(remote.path, {(local.path / "taken").string()}, "token", false, dryRun);
    link->pump();
    CHECK(link->clientEvents.failed["taken"] == "exists");
    CHECK(readFile(remote.path / "taken") == "theirs");
    link->close();
}

TEST_CASE("with --checksum, contents decide: same contents are up to date, changed ones are sent") {
    TempDir local, remote;
    writeFile(local.path / "same", "identical");
    writeFile(local.path / "changed", "new text!");
    setMtime(local.path / "same", 1700000000);
    writeFile(remote.path / "same", "identical");     // another mtime
    writeFile(remote.path / "changed", "old text!");  // same size and mtime
    setMtime(local.path / "changed", 1600000000);
    setMtime(remote.path / "changed", 1600000000);
    ft::Offering checksum;
    checksum.checksum = true;
    auto link =
        pushLink(remote.path, {(local.path / "same").string(), (local.path / "changed").string()},
                 "token", true, checksum);
    link->pump();
    CHECK(link->client->completed());
    CHECK(link->clientEvents.upToDate == std::vector<std::string>{"same"});
    CHECK(link->clientEvents.finished == std::vector<std::string>{"changed"});
    CHECK(readFile(remote.path / "changed") == "new text!");
    // The kept copy took the sender's mtime, so a plain re-run finds it up to date.
    struct stat st {};
    REQUIRE(::stat((remote.path / "same").c_str(), &st) == 0);
    CHECK(st.st_mtim.tv_sec == 1700000000);
    link->close();
}

TEST_CASE("an offer with a malformed digest ends the session with bad-message") {
    TempDir root;
    auto link = authenticatedServer(root.path);
    link->server->dataReceived("FILE name=f size=1 mode=644 mtime=0 xxh128=nothex\n");
    CHECK(link->serverSide.value().find("ERROR code=bad-message") == 0);
    checkLingeringClose(link->clock, link->serverSide);
}

namespace {

// Pumps a link to its end, returning every byte the client sent.
std::string pumpRecordingClient(Link& link,
                                const std::function<std::string(std::string)>& edit = {}) {
    std::string wire;
    for (int round = 0; round < 100000; ++round) {
        link.clock.advance(twine::Duration(0));
        std::string toServer = link.clientSide.value();
        std::string toClient = link.serverSide.value();
        if (edit) toClient = edit(toClient);
        link.clientSide.clear();
        link.serverSide.clear();
        if (toServer.empty() && toClient.empty() && !link.callDue()) break;
        wire += toServer;
        if (!toServer.empty()) link.server->dataReceived(toServer);
        if (!toClient.empty()) link.client->dataReceived(toClient);
        if (link.clientSide.disconnecting() && link.serverSide.disconnecting()) break;
    }
    return wire;
}

std::string compressibleText(std::size_t size) {
    std::string text;
    for (int line = 0; text.size() < size; ++line) {
        text += "#define TWINE_EXAMPLE_" + std::to_string(line) + " " + std::to_string(line * 7) +
                "  /* a header line */\n";
    }
    text.resize(size);
    return text;
}

ft::Offering compressed() {
    ft::Offering offering;
    offering.compress = true;
    return offering;
}

}  // namespace

TEST_CASE(
    "--compress sends a compressible file as zstd chunks, far smaller, and it arrives whole") {
    TempDir local, remote;
    std::string text = compressibleText(3 * 1024 * 1024 + 11);
    writeFile(local.path / "big.h", text);
    auto link =
        pushLink(remote.path, {(local.path / "big.h").string()}, "token", false, compressed());
    std::string wire = pumpRecordingClient(*link);
    CHECK(link->client->completed());
    CHECK(readFile(remote.path / "big.h") == text);
    CHECK(wire.find("encoding=zstd") != std::string::npos);
    CHECK(wire.size() * 4 < text.size());
    link->close();
}

TEST_CASE("--compress sends small files whole and compressed, and an empty one as it is") {
    TempDir local, remote;
    fs::create_directory(local.path / "tree");
    std::vector<std::string> texts;
    for (int i = 0; i < 20; ++i) {
        texts.push_back(compressibleText(10000 + static_cast<std::size_t>(i)));
        writeFile(local.path / "tree" / ("f" + std::to_string(i) + ".h"), texts.back());
    }
    writeFile(local.path / "tree" / "empty.h", "");
    auto link =
        pushLink(remote.path, {(local.path / "tree").string()}, "token", false, compressed());
    // 200 KB of small files: one CHUNK for them all (zstd-batch), or one
    // each for a receiver whose HELLO does not offer batches.
    std::size_t chunks = 1;
    std::function<std::string(std::string)> edit;
    SUBCASE("a receiver that takes batches") {}
    SUBCASE("a receiver that does not") {
        chunks = 20;
        edit = [](std::string said) {
            std::size_t at = said.find(",zstd-batch");
            if (at != std::string::npos && said.rfind("HELLO", 0) == 0) said.erase(at, 11);
            return said;
        };
    }
    std::string wire = pumpRecordingClient(*link, edit);
    CHECK(link->client->completed());
    for (int i = 0; i < 20; ++i) {
        CHECK(readFile(remote.path / "tree" / ("f" + std::to_string(i) + ".h")) ==
              texts[static_cast<std::size_t>(i)]);
    }
    CHECK(fs::exists(remote.path / "tree" / "empty.h"));
    CHECK(fs::file_size(remote.path / "tree" / "empty.h") == 0);
    CHECK(countLines(wire, "CHUNK ") == chunks);
    CHECK(wire.size() * 4 < 20 * 10000);
    link->close();
}

TEST_CASE("--compress leaves data that does not shrink as it is") {
    TempDir local, remote;
    std::string noise = randomish(500000);
    writeFile(local.path / "noise.bin", noise);
    writeFile(local.path / "photo.jpg", compressibleText(100000));  // trusted by its name
    auto link = pushLink(remote.path,
                         {(local.path / "noise.bin").string(), (local.path / "photo.jpg").string()},
                         "token", false, compressed());
    std::string wire = pumpRecordingClient(*link);
    CHECK(link->client->completed());
    CHECK(wire.find("encoding=") == std::string::npos);
    CHECK(readFile(remote.path / "noise.bin") == noise);
    link->close();
}

TEST_CASE("after an error mid-file the receiver drops the rest and closes when the sender does") {
    // Closing at once, with the sender's bytes unread, would reset the
    // connection; the reset can destroy the ERROR before the sender reads it.
    TempDir root;
    auto link = authenticatedServer(root.path);
    link->server->dataReceived(
        "FILE name=z size=10 mode=644 mtime=0\nDATA name=z offset=0 length=10 encoding=zstd\n"
        "CHUNK length=5\nnot a frame");
    CHECK(link->serverSide.value().find("ERROR name=z code=bad-message") != std::string::npos);
    CHECK(link->serverSide.writeClosed());
    link->serverSide.clear();
    link->server->dataReceived("the rest of the file\nFILE name=q size=1 mode=644 mtime=0\n");
    CHECK(link->serverSide.value().empty());
    CHECK_FALSE(link->serverSide.disconnecting());
    link->server->readConnectionLost();
    CHECK(link->serverSide.disconnecting());
    link->server->connectionLost(twine::ConnectionDone());
    CHECK(fs::is_empty(root.path));
    CHECK(link->serverEvents.ended.find("frame") != std::string::npos);
}

TEST_CASE("hostile compressed data gives a clear error and a closed connection") {
    TempDir root;
    auto check = [&](const std::string& chunks, const std::string& code) {
        auto link = authenticatedServer(root.path);
        link->server->dataReceived(
            "FILE name=z size=10 mode=644 mtime=0\nDATA name=z offset=0 length=10 encoding=zstd\n" +
            chunks);
        CHECK(link->serverSide.value().find("code=" + code) != std::string::npos);
        checkLingeringClose(link->clock, link->serverSide);
        link->server->connectionLost(twine::ConnectionLost());
    };
    ft::zstd_chunks::Compressor compressor;
    check("CHUNK length=99999999\n", "bad-message");      // over any frame's bound
    check("CHUNK length=5\nnot a frame", "bad-message");  // not zstd
    // Bytes beyond the file's wait for the next compressed file's DATA
    // (zstd-batch); anything else while they wait is refused.
    check(compressor.framed(std::string(11, 'x')) + "BYE\n", "bad-message");
    check(compressor.framed("abc") + compressor.framed(std::string(100, 'y')) + "BYE\n",
          "bad-message");
    check(compressor.framed(std::string(11, 'x')) +
              "DONE name=z xxh128=" + hexDigestOf(std::string(10, 'x')) +
              "\nFILE name=w size=1 mode=644 mtime=0\nDATA name=w offset=0 length=1\n",
          "bad-message");
    // A piece may not decode to more than any one CHUNK may hold.
    check(compressor.framed(std::string(ft::zstd_chunks::maxChunk + 1, 'x')), "bad-message");
    auto link = authenticatedServer(root.path);
    link->server->dataReceived(
        "FILE name=u size=1 mode=644 mtime=0\n"
        "DATA name=u offset=0 length=1 encoding=lzma\n");
    CHECK(link->serverSide.value().find("code=bad-message") != std::string::npos);
}
