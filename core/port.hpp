#pragma once

#include <twine/core/address.hpp>
#include <twine/core/deferred.hpp>

namespace twine {

/// A listening port (TCP, Unix, TLS or UDP), as Twisted's IListeningPort.
class Port {
public:
    virtual ~Port() = default;
    /// Stops accepting; the Deferred fires once the socket is closed.
    /// Connections already accepted stay up. Calling it twice is harmless.
    virtual Deferred<void> stopListening() = 0;
    /// The bound address (the real port when 0 was asked for).
    virtual Address getHost() const = 0;
};

}  // namespace twine
