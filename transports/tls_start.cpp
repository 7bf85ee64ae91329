// STARTTLS on the stream transport: the one StreamTransport method the TLS
// part defines, so that the stream transport does not depend on OpenSSL.
#include <twine/core/error.hpp>
#include <twine/transports/stream_transport.hpp>
#include <twine/transports/tls_protocol.hpp>

namespace twine::detail {

void StreamTransport::startTLS(const TLSOptions& options) {
    if (!started_ || disconnecting() || !protocol_) {
        throw TLSError("startTLS needs a live connection");
    }
    detail::startTLS(*this, reactor(), options);
}

}  // namespace twine::detail
