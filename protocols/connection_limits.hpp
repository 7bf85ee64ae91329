#pragma once

#include <twine/core/factory.hpp>

#include <cstddef>
#include <map>
#include <memory>
#include <string>

namespace twine {

/// How many connections a ConnectionLimitingFactory lets in; 0 is unlimited.
struct ConnectionLimits {
    /// Connections open at once, from everyone.
    std::size_t maxConnections = 0;
    /// Connections open at once from one peer host (one IP address; every
    /// Unix socket peer counts as the same host).
    std::size_t maxPerHost = 0;
};

namespace detail {
struct ConnectionCounts;
}

/// Wraps a factory and refuses connections beyond the limits (buildProtocol
/// returns nullptr, so the transport closes the connection at once), as
/// Twisted's policies.LimitConnectionsByPeer and LimitTotalConnectionsFactory
/// in one. Each accepted protocol is wrapped to count it down when its
/// connection is lost.
class ConnectionLimitingFactory : public ServerFactory {
public:
    /// Wraps `wrapped` (started and stopped with this factory); throws
    /// std::invalid_argument if it is null.
    ConnectionLimitingFactory(std::shared_ptr<Factory> wrapped, ConnectionLimits limits);
    ~ConnectionLimitingFactory() override;

    std::unique_ptr<Protocol> buildProtocol(const Address& address) override;
    void startFactory() override { wrapped_->doStart(); }
    void stopFactory() override { wrapped_->doStop(); }

    /// The limits given.
    const ConnectionLimits& limits() const { return limits_; }
    /// Connections open now, in all and from `host`.
    std::size_t connectionCount() const;
    /// Connections open now from `host` (an IP literal, as Address::host gives).
    std::size_t connectionCount(const std::string& host) const;

private:
    std::shared_ptr<Factory> wrapped_;
    ConnectionLimits limits_;
    // Shared with the protocols, which may outlive the factory.
    std::shared_ptr<detail::ConnectionCounts> counts_;
};

/// std::make_shared<ConnectionLimitingFactory>(wrapped, limits).
std::shared_ptr<ConnectionLimitingFactory> limitConnections(std::shared_ptr<Factory> wrapped,
                                                            ConnectionLimits limits);

}  // namespace twine
