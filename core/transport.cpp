#include <twine/core/error.hpp>
#include <twine/core/transport.hpp>

namespace twine {

// Transports that can carry TLS (the stream transport) override this.
void Transport::startTLS(const TLSOptions& options) {
    (void)options;
    throw TLSError("STARTTLS is not supported by this transport");
}

}  // namespace twine
