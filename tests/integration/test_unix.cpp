// Unix sockets: listenUNIX, connectUNIX, socket files and abstract names.

#include "test_stream_support.hpp"

#include <twine/core/address.hpp>
#include <twine/core/deferred.hpp>

#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

using namespace stream_test;
using twine::Address;
using twine::Connector;
using twine::Reactor;

namespace {

std::shared_ptr<twine::Connector> connectTo(Reactor& reactor, const std::string& path,
                                            std::shared_ptr<Client> client) {
    return reactor.connectUNIX(path, std::move(client));
}

/// A socket file left behind by a server that is gone: bound, then closed.
void leaveStaleSocket(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path.copy(address.sun_path, sizeof address.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    ::close(fd);
}

std::string abstractName() {
    std::random_device random;
    return "@twine-test-" + std::to_string(::getpid()) + "-" + std::to_string(random());
}

}  // namespace

TEST_CASE("10 MB sent over a Unix socket comes back byte for byte") {
    TempDir dir;
    const std::string path = dir.file("echo.sock");
    Reactor reactor;
    auto port = reactor.listenUNIX(path, serverFactory(echo()));
    CHECK(port->getHost() == Address::unixPath(path));
    const std::string payload = pattern(10 * 1024 * 1024);
    std::string received = echoed(reactor, payload, [&](std::shared_ptr<Client> client) {
        return connectTo(reactor, path, client);
    });
    CHECK(received.size() == payload.size());
    CHECK(received == payload);
}

TEST_CASE("a Unix socket file gets the asked mode and is removed when the port stops") {
    TempDir dir;
    const std::string path = dir.file("mode.sock");
    Reactor reactor;
    auto port = reactor.listenUNIX(path, serverFactory({}), {.mode = 0600, .backlog = 0});
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK(S_ISSOCK(info.st_mode));
    CHECK((info.st_mode & 0777) == 0600);
    bool stopped = false;
    port->stopListening().addCallback([&] {
        stopped = true;
        stop(reactor);
    });
    run(reactor);
    CHECK(stopped);
    CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("a stale Unix socket file is replaced") {
    TempDir dir;
    const std::string path = dir.file("stale.sock");
    leaveStaleSocket(path);
    REQUIRE(std::filesystem::exists(path));
    Reactor reactor;
    auto port = reactor.listenUNIX(path, serverFactory(echo()));
    std::string received = echoed(reactor, "after stale", [&](std::shared_ptr<Client> client) {
        return connectTo(reactor, path, client);
    });
    CHECK(received == "after stale");
}

TEST_CASE("listening on a Unix socket someone listens on raises CannotListenError") {
    TempDir dir;
    const std::string path = dir.file("live.sock");
    Reactor reactor;
    auto first = reactor.listenUNIX(path, serverFactory(echo()));
    try {
        reactor.listenUNIX(path, serverFactory(echo()));
        FAIL("the second listen should have failed");
    } catch (const twine::CannotListenError& error) {
        CHECK(std::string(error.what()).find("address already in use") != std::string::npos);
    }
    // The first listener still works, and its file is still there.
    std::string received = echoed(reactor, "still mine", [&](std::shared_ptr<Client> client) {
        return connectTo(reactor, path, client);
    });
    CHECK(received == "still mine");
}

TEST_CASE("a path that is not a socket is left alone and refused") {
    TempDir dir;
    const std::string path = dir.file("regular-file");
    { std::ofstream(path) << "data"; }
    Reactor reactor;
    CHECK_THROWS_AS(reactor.listenUNIX(path, serverFactory({})), twine::CannotListenError);
    CHECK(std::filesystem::is_regular_file(path));
}

TEST_CASE("an abstract Unix name works and makes no file") {
    const std::string name = abstractName();
    Reactor reactor;
    auto port = reactor.listenUNIX(name, serverFactory(echo()));
    CHECK(port->getHost() == Address::unixPath(name));
    CHECK_FALSE(std::filesystem::exists(name));
    std::optional<Address> peer;
    Script script;
    std::string received;
    script.made = [&](Protocol& p) {
        peer = p.transport().getPeer();
        CHECK_FALSE(p.transport().setTcpNoDelay(true));  // not TCP
        p.transport().write("abstract");
    };
    script.data = [&](Protocol& p, std::string_view data) {
        received.append(data);
        if (received.size() == 8) p.transport().loseConnection();
    };
    script.lost = [&](const Failure&) { stop(reactor); };
    auto connector = reactor.connectUNIX(name, clientFactory(script));
    run(reactor);
    CHECK(received == "abstract");
    REQUIRE(peer.has_value());
    CHECK(*peer == Address::unixPath(name));
}

TEST_CASE("an abstract name in use raises CannotListenError") {
    const std::string name = abstractName();
    Reactor reactor;
    auto first = reactor.listenUNIX(name, serverFactory({}));
    CHECK_THROWS_AS(reactor.listenUNIX(name, serverFactory({})), twine::CannotListenError);
}

TEST_CASE("connecting to a missing Unix socket fails with a ConnectError") {
    TempDir dir;
    Reactor reactor;
    auto client = clientFactory({});
    client->onFailed = [&](Connector&, const Failure&) { stop(reactor); };
    auto connector = reactor.connectUNIX(dir.file("nobody.sock"), client);
    run(reactor);
    REQUIRE(client->failure.has_value());
    CHECK(client->failure->check<twine::ConnectError>());
    CHECK(client->failure->what().find("no such file") != std::string::npos);
}

TEST_CASE("connecting to a stale Unix socket is refused") {
    TempDir dir;
    const std::string path = dir.file("stale.sock");
    leaveStaleSocket(path);
    Reactor reactor;
    auto client = clientFactory({});
    client->onFailed = [&](Connector&, const Failure&) { stop(reactor); };
    auto connector = reactor.connectUNIX(path, client);
    run(reactor);
    REQUIRE(client->failure.has_value());
    CHECK(client->failure->check<twine::ConnectionRefusedError>());
}

TEST_CASE("a Unix socket path that is too long or empty raises CannotListenError") {
    Reactor reactor;
    CHECK_THROWS_AS(reactor.listenUNIX("/tmp/" + std::string(200, 'x'), serverFactory({})),
                    twine::CannotListenError);
    CHECK_THROWS_AS(reactor.listenUNIX("", serverFactory({})), twine::CannotListenError);
}

TEST_CASE("connecting to a Unix socket path that is too long fails cleanly") {
    Reactor reactor;
    auto client = clientFactory({});
    client->onFailed = [&](Connector&, const Failure&) { stop(reactor); };
    auto connector = reactor.connectUNIX("/tmp/" + std::string(200, 'x'), client);
    run(reactor);
    REQUIRE(client->failure.has_value());
    CHECK(client->failure->check<twine::ConnectError>());
}
