// Interoperability with OpenSSL's own tools: a twine client against
// `openssl s_server`, and `openssl s_client` against a twine server, over
// TLS 1.2 and 1.3, with ALPN, SNI and client certificates. Every wait on a
// tool is bounded.
#include "test_tls_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

using namespace tls_test;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// An `openssl` process whose output goes to a file; killed if still running
// when the object goes away.
class OpenSSLTool {
public:
    OpenSSLTool(std::vector<std::string> args, const std::string& input = "")
        : output_(Certificates::get().path("tool-" + std::to_string(++counter()) + ".out")) {
        const std::string inputPath = output_ + ".in";
        std::ofstream(inputPath) << input;
        args.insert(args.begin(), "openssl");
        std::vector<char*> argv;
        for (auto& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, inputPath.c_str(), O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, output_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0600);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        const int status = posix_spawnp(&pid_, "openssl", &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        REQUIRE(status == 0);
    }
    ~OpenSSLTool() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }
    OpenSSLTool(const OpenSSLTool&) = delete;
    OpenSSLTool& operator=(const OpenSSLTool&) = delete;

    std::string output() const { return slurp(output_); }

    /// Waits (at most 10 s) for s_server to print the port it accepts on.
    std::uint16_t acceptPort() const {
        const std::string accept = "ACCEPT 127.0.0.1:";
        for (int tries = 0; tries < 500; ++tries) {
            const std::string text = output();
            const auto at = text.find(accept);
            if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
                return static_cast<std::uint16_t>(std::stoi(text.substr(at + accept.size())));
            }
            std::this_thread::sleep_for(20ms);
        }
        FAIL("s_server did not start: " << output());
        return 0;
    }

    /// Waits (at most 10 s) for the tool to exit; true if it did.
    bool waitExit() {
        for (int tries = 0; tries < 500; ++tries) {
            if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                return true;
            }
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }

private:
    static int& counter() {
        static int n = 0;
        return n;
    }
    std::string output_;
    pid_t pid_ = -1;
};

std::vector<std::string> sServer(const std::string& cert, std::vector<std::string> extra) {
    const auto& certs = Certificates::get();
    std::vector<std::string> args = {"s_server",    "-accept",
                                     "127.0.0.1:0", "-naccept",
                                     "1",           "-rev",
                                     "-cert",       certs.path(cert + ".pem"),
                                     "-key",        certs.path(cert + ".key")};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

// Runs a twine client against `server`: sends a line, waits for it reversed.
Record talkTo(OpenSSLTool& server, const TLSOptions& options, std::optional<Failure>* failed) {
    BoundedReactor loop;
    const std::uint16_t port = server.acceptPort();
    Record record;
    auto factory = sender(loop, record, "hello\n", 6);
    loop.reactor.connectSSL("127.0.0.1", port, factory, options);
    loop.run();
    if (failed != nullptr) *failed = factory->failed;
    return record;
}

}  // namespace

TEST_CASE("a twine client talks TLS 1.3 with ALPN to openssl s_server") {
    const auto& certs = Certificates::get();
    OpenSSLTool server(sServer("server", {"-tls1_3", "-alpn", "h2,http/1.1"}));
    Record record = talkTo(server, certs.client("localhost").alpn({"http/1.1"}), nullptr);
    CHECK(record.received.find("olleh") != std::string::npos);
    CHECK(record.version == "TLSv1.3");
    CHECK(record.alpn == "http/1.1");
    REQUIRE(record.lost);
    CHECK(record.lost->check<twine::ConnectionDone>());
}

TEST_CASE("a twine client talks TLS 1.2 to openssl s_server") {
    const auto& certs = Certificates::get();
    OpenSSLTool server(sServer("server", {"-tls1_2"}));
    Record record = talkTo(server, certs.client("127.0.0.1"), nullptr);
    CHECK(record.received.find("olleh") != std::string::npos);
    CHECK(record.version == "TLSv1.2");
    CHECK(record.cipher.rfind("ECDHE-", 0) == 0);
}

TEST_CASE("a twine client sends SNI: s_server picks the certificate for the name") {
    const auto& certs = Certificates::get();
    // The default certificate is self-signed; the one for "localhost" is
    // CA-signed. Verification passes only if the name reached the server.
    OpenSSLTool server(
        sServer("selfsigned", {"-servername", "localhost", "-cert2", certs.path("server.pem"),
                               "-key2", certs.path("server.key")}));
    Record record = talkTo(server, certs.client("localhost"), nullptr);
    CHECK(record.received.find("olleh") != std::string::npos);
}

TEST_CASE("a twine client without SNI (an IP address) gets s_server's default certificate") {
    const auto& certs = Certificates::get();
    OpenSSLTool server(
        sServer("selfsigned", {"-servername", "localhost", "-cert2", certs.path("server.pem"),
                               "-key2", certs.path("server.key")}));
    std::optional<Failure> failed;
    Record record = talkTo(server, certs.client("127.0.0.1"), &failed);
    REQUIRE(failed);
    CHECK(failed->what().find("self-signed certificate") != std::string::npos);
    CHECK_FALSE(record.made);
}

TEST_CASE("a twine client presents its certificate to s_server requiring one") {
    const auto& certs = Certificates::get();
    OpenSSLTool server(sServer(
        "server", {"-Verify", "1", "-verify_return_error", "-CAfile", certs.path("ca.pem")}));
    Record record =
        talkTo(server,
               certs.client().clientCertificate(certs.path("client.pem"), certs.path("client.key")),
               nullptr);
    CHECK(record.received.find("olleh") != std::string::npos);
}

namespace {

// A twine TLS server answering "ping" with "pong" and closing; the client is
// `openssl s_client` with `args`. Returns the tool's output.
std::string sClientSession(const TLSOptions& serverOptions, std::vector<std::string> args,
                           Record& serverRecord) {
    BoundedReactor loop;
    auto factory = std::make_shared<twine::ServerFactory>([&]() -> std::unique_ptr<Protocol> {
        return std::make_unique<Recorder>(
            serverRecord, Recorder::Hook{},
            [](Recorder& r) {
                if (r.record().received.find("ping\n") == std::string::npos) return;
                r.transport().write("pong\n");
                r.transport().loseConnection();
            },
            [&loop](Recorder&) { loop.stop(); });
    });
    auto port = loop.reactor.listenSSL(0, factory, serverOptions, loopbackOnly());
    args.insert(
        args.begin(),
        {"s_client", "-connect", "127.0.0.1:" + std::to_string(port->getHost().port()), "-ign_eof",
         "-verify_return_error", "-CAfile", Certificates::get().path("ca.pem")});
    OpenSSLTool client(args, "ping\n");
    loop.run();
    CHECK(client.waitExit());
    return client.output();
}

}  // namespace

TEST_CASE("openssl s_client talks TLS 1.3 with SNI and ALPN to a twine server") {
    const auto& certs = Certificates::get();
    Record server;
    const std::string output =
        sClientSession(certs.server().alpn({"h2", "http/1.1"}),
                       {"-tls1_3", "-servername", "localhost", "-verify_hostname", "localhost",
                        "-alpn", "http/1.1,h2"},
                       server);
    CHECK(output.find("pong") != std::string::npos);
    CHECK(output.find("Verification: OK") != std::string::npos);
    CHECK(output.find("TLSv1.3") != std::string::npos);
    CHECK(output.find("ALPN protocol: h2") != std::string::npos);
    CHECK(server.serverName == "localhost");
    CHECK(server.alpn == "h2");
    CHECK(server.received == "ping\n");
    REQUIRE(server.lost);
    CHECK(server.lost->check<twine::ConnectionDone>());
}

TEST_CASE("openssl s_client talks TLS 1.2 to a twine server") {
    const auto& certs = Certificates::get();
    Record server;
    const std::string output =
        sClientSession(certs.server(), {"-tls1_2", "-verify_ip", "127.0.0.1"}, server);
    CHECK(output.find("pong") != std::string::npos);
    CHECK(output.find("Verification: OK") != std::string::npos);
    CHECK(output.find("TLSv1.2") != std::string::npos);
    CHECK(server.version == "TLSv1.2");
    CHECK(server.serverName.empty());
}

TEST_CASE("openssl s_client with a client certificate passes a twine server's mutual TLS") {
    const auto& certs = Certificates::get();
    Record server;
    const std::string output =
        sClientSession(certs.server().requireClientCertificate(certs.path("ca.pem")),
                       {"-cert", certs.path("client.pem"), "-key", certs.path("client.key"),
                        "-servername", "localhost"},
                       server);
    CHECK(output.find("pong") != std::string::npos);
    CHECK(server.peerSubject == "CN=twine-client");
}

TEST_CASE("a twine server refuses TLS 1.1 from s_client and logs it once") {
    const auto& certs = Certificates::get();
    LogCapture logs;
    BoundedReactor loop;
    std::vector<Record> records;
    auto port = loop.reactor.listenSSL(0, echoServer(records), certs.server(), loopbackOnly());
    OpenSSLTool client(
        {"s_client", "-connect", "127.0.0.1:" + std::to_string(port->getHost().port()), "-tls1_1"});
    // The refusal is logged once by the server; stop when it appears.
    std::function<void()> poll = [&] {
        if (logs.count("refused") > 0) {
            loop.stop();
            return;
        }
        loop.reactor.callLater(10ms, poll);
    };
    poll();
    loop.run();
    CHECK(client.waitExit());
    CHECK(logs.count("refused") == 1);
    for (const auto& record : records) CHECK_FALSE(record.made);
}
