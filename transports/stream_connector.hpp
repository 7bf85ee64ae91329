#pragma once

#include <twine/core/address.hpp>
#include <twine/core/connector.hpp>
#include <twine/core/delayed_call.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/failure.hpp>
#include <twine/core/host_lookup.hpp>
#include <twine/core/reactor.hpp>
#include <twine/transports/stream_transport.hpp>

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace twine::detail {

/// An outgoing TCP or Unix connection, as Twisted's tcp.Connector: resolves
/// the host name (asynchronously, on libuv's thread pool), tries its
/// addresses Happy Eyeballs style (RFC 8305: families alternated, attempts
/// staggered and raced), gives up after the timeout, and tells the factory
/// how it went. It can connect() again after a failure or a loss.
class StreamConnector final : public Connector,
                              public Resource,
                              public std::enable_shared_from_this<StreamConnector> {
public:
    /// For TCP, `destination` is a host name or an IP literal and `port` the
    /// port; for Unix sockets, `destination` is the socket path.
    StreamConnector(Reactor& reactor, StreamKind kind, std::string destination, std::uint16_t port,
                    std::shared_ptr<ClientFactory> factory, ConnectOptions options);
    ~StreamConnector() override;

    void connect() override;
    void disconnect() override;
    void stopConnecting() override;
    Address getDestination() const override;
    State state() const override { return state_; }

    /// The reactor's shutdown stops a connection attempt.
    void shutdown() override;
    void abort() override { shutdown(); }

private:
    struct Attempt;

    void begin(std::uint64_t generation);
    void resolve();
    void resolved(std::vector<Address> addresses, const Failure* error);
    void startNextAttempt();
    void scheduleNextAttempt();
    int attemptTCP(const Address& address);
    int attemptUNIX(const Address& address);
    static void onConnect(uv_connect_t* request, int status);
    void attemptDone(std::uint64_t attempt, int status);
    void connected(StreamTransport* transport);
    void failed(const Failure& reason);
    void lost(const Failure& reason);
    void stopAttempt();
    void factoryDone();

    Reactor& reactor_;
    StreamKind kind_;
    std::string destination_;
    std::uint16_t port_;
    std::shared_ptr<ClientFactory> factory_;
    ConnectOptions options_;

    State state_ = State::disconnected;
    bool factoryStarted_ = false;
    bool tracked_ = false;
    // Bumped by every connect(): a callback that carries an older number
    // belongs to a connect given up on, and does nothing.
    std::uint64_t generation_ = 0;
    // Numbers the attempts; a result for one no longer pending is dropped.
    std::uint64_t attempt_ = 0;

    struct Pending {
        StreamTransport* transport;
        std::uint64_t attempt;
    };

    std::vector<Address> addresses_;
    std::size_t nextAddress_ = 0;
    int lastError_ = 0;
    HostLookup lookup_;
    std::vector<Pending> pending_;          // racing to connect
    StreamTransport* transport_ = nullptr;  // connected
    DelayedCall timeout_;
    DelayedCall nextAttempt_;
};

}  // namespace twine::detail
