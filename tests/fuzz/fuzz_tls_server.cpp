// The TLS transport, server side, fed arbitrary records as a peer would send
// them, in reads of any size (a pre-shared-key server, as twine-ft's, so no
// certificate files are needed). Properties: without the key no handshake
// completes, so the protocol inside never sees a connection or a byte; the
// layer ends the connection cleanly (or waits for more) and its handshake
// deadline still fires.

#include <twine/core/clock.hpp>
#include <twine/core/error.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/log.hpp>
#include <twine/transports/string_transport.hpp>
#include <twine/transports/tls_options.hpp>
#include <twine/transports/tls_server_factory.hpp>

#include "fuzz_support.hpp"

#include <chrono>
#include <memory>

namespace {

struct Seen {
    bool connected = false;
    bool data = false;
};

class Inner final : public twine::Protocol {
public:
    explicit Inner(Seen& seen) : seen_(seen) {}
    void connectionMade() override { seen_.connected = true; }
    void dataReceived(std::string_view) override { seen_.data = true; }

private:
    Seen& seen_;
};

struct Server {
    twine::Clock clock;
    Seen seen;
    std::shared_ptr<twine::Factory> factory = twine::tlsServerFactory(
        twine::ServerFactory::forProtocol<Inner>(std::ref(seen)),
        twine::TLSOptions::pskServer("twine-fuzz", std::string(32, 'k')), clock);
};

Server& server() {
    static Server instance;
    return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    twine::log::setLevel(twine::log::Level::error);
    Server& s = server();
    s.seen = {};
    fuzz::Input input(bytes, size);
    const std::uint8_t seed = input.byte();

    twine::StringTransport transport;
    std::unique_ptr<twine::Protocol> tls = s.factory->buildProtocol(transport.getPeer());
    tls->makeConnection(transport);
    for (std::string_view piece : fuzz::split(input.rest(), seed)) {
        if (transport.disconnecting()) break;
        tls->dataReceived(piece);
    }
    if (!transport.disconnecting()) {
        s.clock.advance(std::chrono::minutes(5));  // past any handshake deadline
        FUZZ_CHECK(transport.disconnecting());
    }
    tls->connectionLost(twine::ConnectionDone());
    tls->setTransport(nullptr);

    FUZZ_CHECK(!s.seen.connected);
    FUZZ_CHECK(!s.seen.data);
    return 0;
}
