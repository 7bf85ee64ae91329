// TLS streaming and handshake load for bench/tls_bench.sh. One role per
// process, so the script can pin server and client to separate cores:
//
//   tls_bench server [CERT KEY]            echo server (TLS with CERT/KEY), prints its port
//   tls_bench stream PORT SECONDS [CAFILE] streams for SECONDS, prints echoed MB/s
//   tls_bench handshakes PORT SECONDS CAFILE [PARALLEL]
//                                          full handshakes per second
#include <twine/twine.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

using namespace std::chrono_literals;

namespace {

// Echoes with flow control: reading pauses while the echo is queued.
class FlowEcho : public twine::Protocol {
    void connectionMade() override { transport().registerProducer(transport(), true); }
    void dataReceived(std::string_view data) override { transport().write(data); }
};

int serve(int argc, char** argv) {
    twine::Reactor reactor;
    auto factory = twine::ServerFactory::forProtocol<FlowEcho>();
    twine::TCPListenOptions options;
    options.interface = "127.0.0.1";
    auto port = argc >= 4 ? reactor.listenSSL(0, factory,
                                              twine::TLSOptions::server(argv[2], argv[3]), options)
                          : reactor.listenTCP(0, factory, options);
    std::printf("listening on %u\n", static_cast<unsigned>(port->getHost().port()));
    std::fflush(stdout);
    reactor.run();
    return 0;
}

// Writes 256 KiB chunks while the transport accepts them; counts the echo.
class Streamer : public twine::Protocol, public twine::Producer {
public:
    Streamer(twine::Reactor& reactor, double seconds, std::size_t& received)
        : reactor_(reactor), seconds_(seconds), received_(received), chunk_(256 * 1024, 'x') {}

    void connectionMade() override {
        transport().registerProducer(*this, true);
        reactor_.callLater(twine::Duration(seconds_), [this] {
            done_ = true;
            transport().loseConnection();
        });
        schedule();
    }
    void pauseProducing() override { paused_ = true; }
    void resumeProducing() override {
        paused_ = false;
        schedule();
    }
    void stopProducing() override { done_ = true; }
    void dataReceived(std::string_view data) override { received_ += data.size(); }
    void connectionLost(const twine::Failure&) override { reactor_.stop(); }

private:
    void schedule() {
        if (scheduled_ || done_) return;
        scheduled_ = true;
        reactor_.callLater(twine::Duration(0), [this] { pump(); });
    }
    void pump() {
        scheduled_ = false;
        while (!paused_ && !done_ && connected()) transport().write(std::string_view(chunk_));
    }

    twine::Reactor& reactor_;
    double seconds_;
    std::size_t& received_;
    std::string chunk_;
    bool paused_ = false;
    bool scheduled_ = false;
    bool done_ = false;
};

int stream(int argc, char** argv) {
    twine::Reactor reactor;
    const auto port = static_cast<std::uint16_t>(std::atoi(argv[2]));
    const double seconds = std::atof(argv[3]);
    std::size_t received = 0;
    auto factory =
        std::make_shared<twine::ClientFactory>([&]() -> std::unique_ptr<twine::Protocol> {
            return std::make_unique<Streamer>(reactor, seconds, received);
        });
    if (argc >= 5) {
        reactor.connectSSL("127.0.0.1", port, factory,
                           twine::TLSOptions::client().trustRoots(argv[4]));
    } else {
        reactor.connectTCP("127.0.0.1", port, factory);
    }
    reactor.run();
    std::printf("%.1f\n", static_cast<double>(received) / seconds / 1e6);
    return received > 0 ? 0 : 1;
}

// Connects, completes the handshake, hangs up, and connects again.
class HandshakeLoop : public twine::ClientFactory {
public:
    HandshakeLoop(twine::Reactor& reactor, std::uint16_t port, twine::TLSOptions options,
                  double end)
        : ClientFactory([] { return std::make_unique<Hangup>(); }),
          reactor_(reactor),
          port_(port),
          options_(std::move(options)),
          end_(end) {}

    void again() {
        if (reactor_.seconds() >= end_) {
            if (--running_ == 0) reactor_.stop();
            return;
        }
        reactor_.connectSSL("127.0.0.1", port_,
                            std::static_pointer_cast<ClientFactory>(self_.lock()), options_);
    }
    void clientConnectionLost(twine::Connector&, const twine::Failure&) override {
        ++completed;
        again();
    }
    void clientConnectionFailed(twine::Connector&, const twine::Failure& reason) override {
        std::fprintf(stderr, "handshake failed: %s\n", reason.what().c_str());
        ++failed;
        again();
    }

    std::weak_ptr<HandshakeLoop> self_;
    int running_ = 0;
    long completed = 0;
    long failed = 0;

private:
    class Hangup : public twine::Protocol {
        void connectionMade() override { transport().loseConnection(); }
    };
    twine::Reactor& reactor_;
    std::uint16_t port_;
    twine::TLSOptions options_;
    double end_;
};

int handshakes(int argc, char** argv) {
    twine::Reactor reactor;
    const auto port = static_cast<std::uint16_t>(std::atoi(argv[2]));
    const double seconds = std::atof(argv[3]);
    const int parallel = argc >= 6 ? std::max(1, std::atoi(argv[5])) : 4;
    auto options = twine::TLSOptions::client("127.0.0.1").trustRoots(argv[4]);
    auto loop =
        std::make_shared<HandshakeLoop>(reactor, port, options, reactor.seconds() + seconds);
    loop->self_ = loop;
    loop->running_ = parallel;
    for (int i = 0; i < parallel; ++i)
        reactor.callLater(twine::Duration(0), [loop] { loop->again(); });
    reactor.run();
    std::printf("%.0f\n", static_cast<double>(loop->completed) / seconds);
    return loop->failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    // A peer that hangs up while we write must be an EPIPE, not the end of the process.
    std::signal(SIGPIPE, SIG_IGN);
    const std::string role = argc >= 2 ? argv[1] : "";
    if (role == "server") return serve(argc, argv);
    if (role == "stream" && argc >= 4) return stream(argc, argv);
    if (role == "handshakes" && argc >= 5) return handshakes(argc, argv);
    std::fprintf(stderr,
                 "usage: tls_bench server [CERT KEY]\n"
                 "       tls_bench stream PORT SECONDS [CAFILE]\n"
                 "       tls_bench handshakes PORT SECONDS CAFILE [PARALLEL]\n");
    return 2;
}
