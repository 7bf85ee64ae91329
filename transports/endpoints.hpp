#pragma once

#include <twine/core/address.hpp>
#include <twine/core/deferred.hpp>
#include <twine/core/reactor.hpp>
#include <twine/transports/endpoint_parser.hpp>
#include <twine/transports/tls_options.hpp>  // escapeEndpointValue, for building descriptions

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace twine {

class Factory;
class Port;
class Protocol;

/// Somewhere to listen, as Twisted's IStreamServerEndpoint.
class ServerEndpoint {
public:
    virtual ~ServerEndpoint() = default;
    /// Starts listening; fails with CannotListenError.
    virtual Deferred<std::shared_ptr<Port>> listen(std::shared_ptr<Factory> factory) = 0;
    /// The endpoint as a description serverFromString reads back.
    virtual std::string describe() const = 0;
    /// Where a port this endpoint opened is bound, in this endpoint's own
    /// grammar (the real port when 0 was asked for).
    virtual std::string describeListening(const Address& bound) const;
};

/// Somewhere to connect to, as Twisted's IStreamClientEndpoint.
class ClientEndpoint {
public:
    virtual ~ClientEndpoint() = default;
    /// Connects and fires with the protocol `factory` built for the
    /// connection, once connected (valid until its connectionLost returns);
    /// fails with the connect error. If `factory` is a ClientFactory it also
    /// sees startedConnecting, clientConnectionFailed and clientConnectionLost.
    /// Cancelling the Deferred stops the attempt (CancelledError).
    virtual Deferred<Protocol*> connect(std::shared_ptr<Factory> factory) = 0;
    /// The endpoint as a description clientFromString reads back.
    virtual std::string describe() const = 0;
};

namespace detail {

/// What a ReactorPool needs of a stream server endpoint (tcp:, tcp6:, unix:,
/// ssl:): one socket that accepts, on the acceptor's reactor, and on each
/// worker's reactor a way to serve the sockets it is handed.
class HandoffEndpoint {
public:
    virtual ~HandoffEndpoint() = default;
    /// Listens on this endpoint's address, but gives every accepted socket's
    /// descriptor to `accepted` instead of serving it. Throws CannotListenError.
    virtual std::shared_ptr<Port> listenHandingOff(std::function<void(int fd)> accepted) = 0;
    /// The factory this endpoint serves connections with: `factory` itself,
    /// or for ssl: `factory` behind TLS. Throws for bad TLS options.
    virtual std::shared_ptr<Factory> servingFactory(std::shared_ptr<Factory> factory) = 0;
    /// Serves an accepted descriptor (taken, closed on failure) on this
    /// endpoint's reactor with a factory from servingFactory.
    virtual void adopt(const std::shared_ptr<Factory>& serving, int fd) = 0;
    /// Listens and serves every connection with `serving`, a factory from
    /// servingFactory (so a wrapper such as haproxy: can put its layer
    /// outside this endpoint's TLS). Throws CannotListenError.
    virtual std::shared_ptr<Port> listenServing(std::shared_ptr<Factory> serving) = 0;
};

}  // namespace detail

/// "tcp:PORT:interface=ADDR:backlog=N", and "tcp6:..." (interface "::").
class TCPServerEndpoint final : public ServerEndpoint, public detail::HandoffEndpoint {
public:
    /// Listens on `reactor` (which must outlive the endpoint) when listen() is called.
    TCPServerEndpoint(Reactor& reactor, std::uint16_t port, TCPListenOptions options = {});
    Deferred<std::shared_ptr<Port>> listen(std::shared_ptr<Factory> factory) override;
    std::string describe() const override;
    /// @{
    /// Internal, for ReactorPool and haproxy: (detail::HandoffEndpoint).
    std::shared_ptr<Port> listenHandingOff(std::function<void(int fd)> accepted) override;
    std::shared_ptr<Factory> servingFactory(std::shared_ptr<Factory> factory) override;
    void adopt(const std::shared_ptr<Factory>& serving, int fd) override;
    std::shared_ptr<Port> listenServing(std::shared_ptr<Factory> serving) override;
    /// @}

private:
    Reactor& reactor_;
    std::uint16_t port_;
    TCPListenOptions options_;
};

/// "unix:PATH:mode=660:backlog=N".
class UNIXServerEndpoint final : public ServerEndpoint, public detail::HandoffEndpoint {
public:
    /// Listens on `reactor` (which must outlive the endpoint) when listen() is called.
    UNIXServerEndpoint(Reactor& reactor, std::string path, UNIXListenOptions options = {});
    Deferred<std::shared_ptr<Port>> listen(std::shared_ptr<Factory> factory) override;
    std::string describe() const override;
    /// @{
    /// Internal, for ReactorPool and haproxy: (detail::HandoffEndpoint).
    std::shared_ptr<Port> listenHandingOff(std::function<void(int fd)> accepted) override;
    std::shared_ptr<Factory> servingFactory(std::shared_ptr<Factory> factory) override;
    void adopt(const std::shared_ptr<Factory>& serving, int fd) override;
    std::shared_ptr<Port> listenServing(std::shared_ptr<Factory> serving) override;
    /// @}

private:
    Reactor& reactor_;
    std::string path_;
    UNIXListenOptions options_;
};

/// "tcp:host=HOST:port=PORT:timeout=S:bindAddress=ADDR"; HOST may be a name,
/// an IPv4 or an IPv6 address.
class TCPClientEndpoint final : public ClientEndpoint {
public:
    /// Connects on `reactor` (which must outlive the endpoint) when connect() is called.
    TCPClientEndpoint(Reactor& reactor, std::string host, std::uint16_t port,
                      ConnectOptions options = {});
    Deferred<Protocol*> connect(std::shared_ptr<Factory> factory) override;
    std::string describe() const override;

private:
    friend std::unique_ptr<ClientEndpoint> wrapClientTLS(std::unique_ptr<ClientEndpoint> inner,
                                                         TLSOptions tls);
    Reactor& reactor_;
    std::string host_;
    std::uint16_t port_;
    ConnectOptions options_;
};

/// "unix:path=PATH:timeout=S".
class UNIXClientEndpoint final : public ClientEndpoint {
public:
    /// Connects on `reactor` (which must outlive the endpoint) when connect() is called.
    UNIXClientEndpoint(Reactor& reactor, std::string path, ConnectOptions options = {});
    Deferred<Protocol*> connect(std::shared_ptr<Factory> factory) override;
    std::string describe() const override;

private:
    friend std::unique_ptr<ClientEndpoint> wrapClientTLS(std::unique_ptr<ClientEndpoint> inner,
                                                         TLSOptions tls);
    Reactor& reactor_;
    std::string path_;
    ConnectOptions options_;
};

/// "ssl:PORT:certKey=CHAIN.pem:privateKey=KEY.pem[:caCerts=CA.pem]:interface=ADDR:backlog=N":
/// TLS over TCP; caCerts requires client certificates signed by those CAs.
class SSLServerEndpoint final : public ServerEndpoint, public detail::HandoffEndpoint {
public:
    /// `tls` are server options, checked when listen() runs (its Deferred
    /// fails with TLSError), not here.
    SSLServerEndpoint(Reactor& reactor, std::uint16_t port, TLSOptions tls,
                      TCPListenOptions options = {});
    Deferred<std::shared_ptr<Port>> listen(std::shared_ptr<Factory> factory) override;
    std::string describe() const override;
    std::string describeListening(const Address& bound) const override;
    /// @{
    /// Internal, for ReactorPool and haproxy: (detail::HandoffEndpoint).
    std::shared_ptr<Port> listenHandingOff(std::function<void(int fd)> accepted) override;
    std::shared_ptr<Factory> servingFactory(std::shared_ptr<Factory> factory) override;
    void adopt(const std::shared_ptr<Factory>& serving, int fd) override;
    std::shared_ptr<Port> listenServing(std::shared_ptr<Factory> serving) override;
    /// @}

private:
    Reactor& reactor_;
    std::uint16_t port_;
    TLSOptions tls_;
    TCPListenOptions options_;
};

/// "tls:host=H:port=P[:trustRoots=CA.pem][:certificate=C.pem:privateKey=K.pem]:timeout=S":
/// TLS over TCP, verifying H (system trust store unless trustRoots is given).
class TLSClientEndpoint final : public ClientEndpoint {
public:
    /// `tls` are client options; without a hostname of their own, `host` is verified.
    TLSClientEndpoint(Reactor& reactor, std::string host, std::uint16_t port, TLSOptions tls,
                      ConnectOptions options = {});
    Deferred<Protocol*> connect(std::shared_ptr<Factory> factory) override;
    std::string describe() const override;

private:
    Reactor& reactor_;
    std::string host_;
    std::uint16_t port_;
    TLSOptions tls_;
    ConnectOptions options_;
};

/// The same endpoint with TLS over every connection, as Twisted's
/// wrapClientTLS: `tls` are server options (a certificate, or
/// TLSOptions::pskServer). Any stream server endpoint; over a haproxy: one
/// the TLS layer goes inside, after the PROXY header, as balancers send it.
/// Throws TLSError for bad options.
std::unique_ptr<ServerEndpoint> wrapServerTLS(Reactor& reactor,
                                              std::unique_ptr<ServerEndpoint> inner,
                                              TLSOptions tls);

/// A tcp: or unix: client endpoint with TLS over it (client options). The
/// factory sees a refused handshake as clientConnectionFailed, and a
/// ReconnectingClientFactory retries through it, as with tls: endpoints.
/// Throws std::invalid_argument for another kind of endpoint.
std::unique_ptr<ClientEndpoint> wrapClientTLS(std::unique_ptr<ClientEndpoint> inner,
                                              TLSOptions tls);

/// Builds a server endpoint from a description, as Twisted's serverFromString:
/// "tcp:1234:interface=127.0.0.1:backlog=50", "tcp6:1234:interface=\:\:1",
/// "unix:/run/x.sock:mode=660:backlog=10", "ssl:8443:privateKey=key.pem",
/// "udp:9000", and "haproxy:" before any stream description (connections
/// from a load balancer, see HAProxyServerEndpoint). Throws std::invalid_argument
/// naming the problem for a malformed description.
std::unique_ptr<ServerEndpoint> serverFromString(Reactor& reactor, std::string_view description);

/// Builds a client endpoint from a description, as Twisted's clientFromString:
/// "tcp:host=example.org:port=80:timeout=10:bindAddress=127.0.0.2",
/// "tcp:localhost:1234", "unix:path=/run/x.sock:timeout=5". Throws
/// std::invalid_argument naming the problem for a malformed description.
std::unique_ptr<ClientEndpoint> clientFromString(Reactor& reactor, std::string_view description);

/// A bound address as a server description: "tcp:40123:interface=127.0.0.1",
/// "tcp6:40123:interface=\:\:1", "unix:/run/x.sock". Programs print it with
/// Port::getHost() to show where they listen (the real port when 0 was asked).
std::string describeAddress(const Address& address);

}  // namespace twine
