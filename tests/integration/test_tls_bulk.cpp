// 100 MB echoed through TLS with flow control: memory stays bounded on both
// layers of both sides.
#include "test_tls_support.hpp"

#include <algorithm>

using namespace tls_test;

namespace {

constexpr std::size_t kTotal = 100 * 1024 * 1024;
constexpr std::size_t kChunk = 256 * 1024;
constexpr std::size_t kBound = 4 * 1024 * 1024;

struct Peak {
    std::size_t tls = 0;
    std::size_t tcp = 0;
    void sample(twine::Transport& transport) {
        tls = std::max(tls, transport.bufferSize());
        if (auto* layer = twine::tlsTransport(transport)) {
            tcp = std::max(tcp, layer->underlyingTransport().bufferSize());
        }
    }
};

// Echoes, pausing its own reading while its writes back are queued: the
// transport is registered as its own producer (Twisted's proxy idiom).
class FlowEcho : public Protocol {
public:
    explicit FlowEcho(Peak& peak) : peak_(peak) {}
    void connectionMade() override { transport().registerProducer(transport(), true); }
    void dataReceived(std::string_view data) override {
        transport().write(data);
        peak_.sample(transport());
    }
    void connectionLost(const Failure&) override {}

private:
    Peak& peak_;
};

// Streams kTotal bytes as a push producer and counts the echo.
class Streamer : public Protocol, public twine::Producer {
public:
    Streamer(BoundedReactor& loop, Peak& peak, std::size_t& received, bool& clean)
        : loop_(loop), peak_(peak), received_(received), clean_(clean), chunk_(kChunk, 'x') {}

    void connectionMade() override {
        transport().registerProducer(*this, true);
        schedule();
    }
    void pauseProducing() override { paused_ = true; }
    void resumeProducing() override {
        paused_ = false;
        schedule();
    }
    void stopProducing() override { paused_ = true; }
    void dataReceived(std::string_view data) override {
        received_ += data.size();
        if (received_ >= kTotal) transport().loseConnection();
    }
    void connectionLost(const Failure& reason) override {
        clean_ = reason.check<twine::ConnectionDone>();
        loop_.stop();
    }

private:
    // Writes from the loop, never from inside the transport's own call.
    void schedule() {
        if (!scheduled_ && sent_ < kTotal) {
            scheduled_ = true;
            loop_.reactor.callLater(twine::Duration(0), [this] { pump(); });
        }
    }
    void pump() {
        scheduled_ = false;
        while (!paused_ && sent_ < kTotal && connected()) {
            const std::size_t size = std::min(kChunk, kTotal - sent_);
            transport().write(std::string_view(chunk_).substr(0, size));
            sent_ += size;
            peak_.sample(transport());
        }
        if (sent_ >= kTotal && connected()) transport().unregisterProducer();
    }

    BoundedReactor& loop_;
    Peak& peak_;
    std::size_t& received_;
    bool& clean_;
    std::string chunk_;
    std::size_t sent_ = 0;
    bool paused_ = false;
    bool scheduled_ = false;
};

}  // namespace

TEST_CASE("100 MB echoed through TLS keeps both layers' buffers bounded") {
    const auto& certs = Certificates::get();
    BoundedReactor loop;
    Peak serverPeak, clientPeak;
    auto server = std::make_shared<twine::ServerFactory>(
        [&]() -> std::unique_ptr<Protocol> { return std::make_unique<FlowEcho>(serverPeak); });
    auto port = loop.reactor.listenSSL(0, server, certs.server(), loopbackOnly());
    std::size_t received = 0;
    bool clean = false;
    auto client = std::make_shared<twine::ClientFactory>([&]() -> std::unique_ptr<Protocol> {
        return std::make_unique<Streamer>(loop, clientPeak, received, clean);
    });
    loop.reactor.connectSSL("localhost", port->getHost().port(), client, certs.client());
    loop.run(100s);

    CHECK(received == kTotal);
    CHECK(clean);
    INFO("client peaks: TLS " << clientPeak.tls << ", TCP " << clientPeak.tcp);
    INFO("server peaks: TLS " << serverPeak.tls << ", TCP " << serverPeak.tcp);
    CHECK(clientPeak.tls < kBound);
    CHECK(clientPeak.tcp < kBound);
    CHECK(serverPeak.tls < kBound);
    CHECK(serverPeak.tcp < kBound);
    // Whether the server's echo ever had to queue depends on scheduling (the
    // socket may take every write at once), so only the bounds are asserted.
}
