#pragma once

#include <twine/core/address.hpp>

namespace twine {

/// An outgoing connection attempt and the connection it makes, as Twisted's
/// IConnector. A ClientFactory receives it in every event, and
/// ReconnectingClientFactory calls connect() again after a loss.
class Connector {
public:
    /// Where the attempt stands.
    enum class State { disconnected, connecting, connected };

    virtual ~Connector() = default;

    /// Starts connecting (again). Only when disconnected.
    virtual void connect() = 0;
    /// Stops connecting, or drops the established connection.
    virtual void disconnect() = 0;
    /// Stops a connection attempt in progress; throws std::logic_error if
    /// not connecting. The factory sees clientConnectionFailed(UserError).
    virtual void stopConnecting() = 0;
    /// The address being connected to, as given (a host name is not resolved).
    virtual Address getDestination() const = 0;
    /// The current state.
    virtual State state() const = 0;
};

}  // namespace twine
