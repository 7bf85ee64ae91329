#pragma once

// Shared by the TLS integration tests (test_tls*.cpp): certificates made at
// test time by tests/support/make_test_certs.sh, a reactor whose run() is
// bounded, and small recording protocols and factories.

#include <twine/core/connector.hpp>
#include <twine/core/error.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/log.hpp>
#include <twine/core/port.hpp>
#include <twine/core/reactor.hpp>
#include <twine/transports/tls_options.hpp>
#include <twine/transports/tls_transport.hpp>

#include <doctest/doctest.h>

#include "temp_files.hpp"

#include <stdlib.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tls_test {

using namespace std::chrono_literals;
using twine::Failure;
using twine::Protocol;
using twine::TLSOptions;

/// The test certificates, generated once per test program into a temporary
/// directory removed at exit.
class Certificates {
public:
    static const Certificates& get() {
        static Certificates certificates;
        return certificates;
    }
    std::string path(const std::string& file) const { return dir_.file(file); }
    /// Server options for NAME.pem / NAME.key.
    TLSOptions server(const std::string& name = "server") const {
        return TLSOptions::server(path(name + ".pem"), path(name + ".key"));
    }
    /// Client options trusting only the test CA.
    TLSOptions client(const std::string& hostname = "localhost") const {
        return TLSOptions::client(hostname).trustRoots(path("ca.pem"));
    }

private:
    Certificates() {
        // Peers here hang up while the other side writes: that must be an
        // EPIPE, not the end of the test program.
        std::signal(SIGPIPE, SIG_IGN);
        const std::string command = std::string("bash ") + TWINE_SOURCE_DIR +
                                    "/tests/support/make_test_certs.sh " + dir_.path.string() +
                                    " >/dev/null";
        REQUIRE(std::system(command.c_str()) == 0);
    }
    twine::testing::TempDir dir_{"twine-tls-certs"};
};

/// A reactor whose run() gives up after `limit`, failing the test.
struct BoundedReactor {
    twine::Reactor reactor;
    bool timedOut = false;

    void run(twine::Duration limit = 10s) {
        auto guard = reactor.callLater(limit, [this] {
            timedOut = true;
            reactor.stop();
        });
        reactor.run();
        CHECK_FALSE(timedOut);
        if (guard.active()) guard.cancel();
    }
    void stop() {
        if (reactor.running()) reactor.stop();
    }
};

/// What one side of a connection saw.
struct Record {
    bool made = false;
    bool handshakeCompleted = false;
    bool readLost = false;
    bool writeLost = false;
    std::string received;
    std::optional<Failure> lost;
    // TLS details, read when the handshake completed.
    std::string alpn;
    std::string serverName;
    std::string version;
    std::string cipher;
    std::string peerSubject;
};

/// A protocol that records every event and TLS details. `onData` decides
/// what to do with what arrived; `onLost` runs after connectionLost.
class Recorder : public Protocol, public twine::TLSHandshakeListener {
public:
    using Hook = std::function<void(Recorder&)>;
    explicit Recorder(Record& record, Hook onMade = {}, Hook onData = {}, Hook onLost = {})
        : record_(record),
          onMade_(std::move(onMade)),
          onData_(std::move(onData)),
          onLost_(std::move(onLost)) {}

    void connectionMade() override {
        record_.made = true;
        if (onMade_) onMade_(*this);
    }
    void handshakeCompleted() override {
        record_.handshakeCompleted = true;
        if (auto* tls = twine::tlsTransport(transport())) {
            record_.alpn = tls->negotiatedProtocol();
            record_.serverName = tls->serverName();
            record_.version = tls->protocolVersion();
            record_.cipher = tls->cipherName();
            record_.peerSubject = tls->peerCertificateSubject();
        }
    }
    void dataReceived(std::string_view data) override {
        record_.received += data;
        if (onData_) onData_(*this);
    }
    void readConnectionLost() override {
        record_.readLost = true;
        Protocol::readConnectionLost();
    }
    void writeConnectionLost() override { record_.writeLost = true; }
    void connectionLost(const Failure& reason) override {
        record_.lost = reason;
        if (onLost_) onLost_(*this);
    }
    Record& record() { return record_; }

private:
    Record& record_;
    Hook onMade_, onData_, onLost_;
};

/// A server factory building Recorders that echo and record into `records`.
inline std::shared_ptr<twine::ServerFactory> echoServer(std::vector<Record>& records) {
    records.reserve(16);
    return std::make_shared<twine::ServerFactory>([&records]() -> std::unique_ptr<Protocol> {
        if (records.size() == records.capacity()) return nullptr;  // keep references valid
        records.emplace_back();
        return std::make_unique<Recorder>(records.back(), Recorder::Hook{}, [](Recorder& r) {
            r.transport().write(r.record().received);
            r.record().received.clear();
        });
    });
}

/// A client factory that records how connecting went and stops the reactor
/// when the attempt fails or the connection ends.
class ClientRecorder : public twine::ClientFactory {
public:
    ClientRecorder(BoundedReactor& loop, Builder builder)
        : ClientFactory(std::move(builder)), loop_(loop) {}
    void clientConnectionFailed(twine::Connector&, const Failure& reason) override {
        failed = reason;
        if (stopOnEnd) loop_.stop();
    }
    void clientConnectionLost(twine::Connector&, const Failure& reason) override {
        lost = reason;
        if (stopOnEnd) loop_.stop();
    }
    /// Off when the test waits for the server side to end instead.
    bool stopOnEnd = true;
    std::optional<Failure> failed;
    std::optional<Failure> lost;

private:
    BoundedReactor& loop_;
};

/// A client that sends `message` once connected and hangs up (cleanly) when
/// it has received `expect` bytes.
inline std::shared_ptr<ClientRecorder> sender(BoundedReactor& loop, Record& record,
                                              std::string message, std::size_t expect) {
    return std::make_shared<ClientRecorder>(
        loop, [&record, message, expect]() -> std::unique_ptr<Protocol> {
            return std::make_unique<Recorder>(
                record, [message](Recorder& r) { r.transport().write(message); },
                [expect](Recorder& r) {
                    if (r.record().received.size() >= expect) r.transport().loseConnection();
                });
        });
}

inline twine::TCPListenOptions loopbackOnly() {
    twine::TCPListenOptions options;
    options.interface = "127.0.0.1";
    return options;
}

/// Collects log lines for the life of the object.
class LogCapture {
public:
    LogCapture() {
        twine::log::setObserver(
            [this](const twine::log::Event& event) { lines.emplace_back(event.message); });
    }
    ~LogCapture() { twine::log::setObserver({}); }
    std::size_t count(const std::string& needle) const {
        std::size_t n = 0;
        for (const auto& line : lines) n += line.find(needle) != std::string::npos;
        return n;
    }
    std::vector<std::string> lines;
};

}  // namespace tls_test
