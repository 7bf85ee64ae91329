// echo_client: Twisted's classic echo client. It sends one message, prints
// the server's answer and hangs up.
//
//     echo_client --connect tcp:host=localhost:port=1234 --message "hello alex!"
//     echo_client --connect udp:host=localhost:port=1234   (one datagram)

#include <twine/core/datagram_protocol.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/failure.hpp>
#include <twine/core/reactor.hpp>
#include <twine/transports/endpoint_parser.hpp>
#include <twine/transports/endpoints.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

class EchoClient : public twine::Protocol {
public:
    explicit EchoClient(std::string message) : message_(std::move(message)) {}

    void connectionMade() override { transport().write(message_); }
    void dataReceived(std::string_view data) override {
        std::cout << "Server said: " << data << std::endl;
        transport().loseConnection();
    }
    void connectionLost(const twine::Failure& reason) override {
        (void)reason;
        std::cout << "connection lost" << std::endl;
    }

private:
    std::string message_;
};

class EchoClientFactory : public twine::ClientFactory {
public:
    EchoClientFactory(twine::Reactor& reactor, std::string message)
        : ClientFactory(builderFor<EchoClient>(std::move(message))), reactor_(reactor) {}

    void clientConnectionFailed(twine::Connector& connector,
                                const twine::Failure& reason) override {
        (void)connector;
        std::cout << "Connection failed - goodbye!" << std::endl;
        std::cerr << "echo_client: " << reason.what() << "\n";
        failed_ = true;
        stopSoon();
    }
    void clientConnectionLost(twine::Connector& connector, const twine::Failure& reason) override {
        (void)connector;
        (void)reason;
        std::cout << "Connection lost - goodbye!" << std::endl;
        stopSoon();
    }

    bool failed() const { return failed_; }

private:
    // The attempt may fail before the reactor runs: stop once it does.
    void stopSoon() {
        reactor_.callLater(std::chrono::seconds(0), [this] {
            if (reactor_.running()) reactor_.stop();
        });
    }

    twine::Reactor& reactor_;
    bool failed_ = false;
};

/// UDP mode: a connected UDP port sends the message as one datagram (again,
/// up to three times, should it be lost) and prints the first answer.
class UDPEchoClient : public twine::DatagramProtocol {
public:
    UDPEchoClient(twine::Reactor& reactor, std::string host, std::uint16_t port,
                  std::string message)
        : reactor_(reactor), host_(std::move(host)), port_(port), message_(std::move(message)) {}

    void startProtocol() override {
        transport().connect(host_, port_);
        send();
    }
    void datagramReceived(std::string_view data, const twine::Address& from) override {
        (void)from;
        std::cout << "Server said: " << data << std::endl;
        finish(false);
    }
    void connectionRefused() override {
        std::cout << "Connection refused - goodbye!" << std::endl;
        finish(true);
    }
    bool failed() const { return failed_; }

private:
    void send() {
        if (done_) return;
        if (attempts_++ == 3) {
            std::cerr << "echo_client: no answer from " << host_ << ":" << port_ << "\n";
            finish(true);
            return;
        }
        transport().write(message_);
        retry_ = reactor_.callLater(std::chrono::seconds(1), [this] { send(); });
    }
    void finish(bool failed) {
        if (done_) return;
        done_ = true;
        failed_ = failed;
        if (retry_.active()) retry_.cancel();
        reactor_.callLater(std::chrono::seconds(0), [this] {
            if (reactor_.running()) reactor_.stop();
        });
    }

    twine::Reactor& reactor_;
    std::string host_;
    std::uint16_t port_;
    std::string message_;
    twine::DelayedCall retry_;
    int attempts_ = 0;
    bool done_ = false;
    bool failed_ = false;
};

int runUDP(const std::string& description, const std::string& message) {
    twine::Reactor reactor;
    std::string host;
    std::uint16_t port = 0;
    try {
        auto parameters = twine::EndpointParameters::parse(description);
        parameters.bindPositional({"host", "port"});
        host = parameters.require("host");
        const auto given = parameters.takePort("port", false);
        if (!given) parameters.fail("missing port");
        port = *given;
        parameters.finish();
    } catch (const std::exception& error) {
        std::cerr << "echo_client: " << error.what() << "\n";
        return 2;
    }
    // A name is looked up first (its IPv4 address, as Twisted's
    // reactor.resolve): a connected UDP port takes an address.
    std::shared_ptr<UDPEchoClient> client;
    bool failed = false;
    reactor.resolve(host)
        .addCallback([&](const std::string& ip) {
            const bool ipv6 = ip.find(':') != std::string::npos;
            client = std::make_shared<UDPEchoClient>(reactor, ip, port, message);
            reactor.listenUDP(0, client, {.interface = ipv6 ? "::" : "0.0.0.0"});
        })
        .addErrback([&](const twine::Failure& failure) {
            std::cerr << "echo_client: " << failure.what() << "\n";
            failed = true;
            reactor.callLater(std::chrono::seconds(0), [&] { reactor.stop(); });
        });
    reactor.run();
    return failed || !client || client->failed() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app("Echo client: sends a message and prints the answer.", "echo_client");
    std::string description = "tcp:host=localhost:port=1234";
    std::string message = "hello alex!";
    app.add_option("-c,--connect", description,
                   "Where to connect, as an endpoint (tcp:host=HOST:port=PORT, unix:path=PATH, "
                   "udp:host=HOST:port=PORT)")
        ->capture_default_str();
    app.add_option("-m,--message", message, "What to send")->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? 0 : 2;
    }

    if (description.rfind("udp:", 0) == 0) return runUDP(description, message);

    twine::Reactor reactor;
    std::unique_ptr<twine::ClientEndpoint> endpoint;
    try {
        endpoint = twine::clientFromString(reactor, description);
    } catch (const std::invalid_argument& error) {
        std::cerr << "echo_client: " << error.what() << "\n";
        return 2;
    }
    auto factory = std::make_shared<EchoClientFactory>(reactor, message);
    // The factory reports a failure; the Deferred's copy of it is handled here.
    endpoint->connect(factory).addErrback(
        [](const twine::Failure&) -> twine::Protocol* { return nullptr; });
    reactor.run();
    return factory->failed() ? 1 : 0;
}
