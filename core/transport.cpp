#include <twine/core/error.hpp>
#include <twine/core/protocol.hpp>  // complete type for exchangeProtocol's unique_ptr
#include <twine/core/transport.hpp>

namespace twine {

// Transports that can carry TLS (the stream transport) override this.
void Transport::startTLS(const TLSOptions& options) {
    (void)options;
    throw TLSError("STARTTLS is not supported by this transport");
}

std::unique_ptr<Protocol> Transport::exchangeProtocol(std::unique_ptr<Protocol> /*replacement*/) {
    // This transport owns no protocol, so there is nothing to exchange.
    return nullptr;
}

}  // namespace twine
