#pragma once

#include <twine/transports/endpoints.hpp>
#include <twine/transports/haproxy_factory.hpp>

#include <memory>
#include <string>

namespace twine {

/// "haproxy:" before a stream server description ("haproxy:tcp:8080",
/// "haproxy:unix:/run/x.sock", "haproxy:ssl:8443:privateKey=key.pem"), as
/// Twisted's: every connection comes from a load balancer and begins with a
/// PROXY protocol header (v1 or v2), read before anything else, TLS
/// included; protocols see the client's addresses (HAProxyWrappingFactory).
/// A ReactorPool serves it like the endpoint it wraps.
class HAProxyServerEndpoint final : public ServerEndpoint, public detail::HandoffEndpoint {
public:
    /// Throws std::invalid_argument unless `inner` is a stream endpoint
    /// (tcp:, tcp6:, unix:, ssl: or one wrapped by wrapServerTLS).
    HAProxyServerEndpoint(Reactor& reactor, std::unique_ptr<ServerEndpoint> inner,
                          HAProxyOptions options = {});

    /// The endpoint the balancer connects to.
    ServerEndpoint& inner() const { return *inner_; }
    /// Gives up the inner endpoint (to rebuild this one around a changed one).
    std::unique_ptr<ServerEndpoint> releaseInner() { return std::move(inner_); }
    /// The header deadline and size limit every connection gets.
    const HAProxyOptions& options() const { return options_; }

    Deferred<std::shared_ptr<Port>> listen(std::shared_ptr<Factory> factory) override;
    std::string describe() const override;
    std::string describeListening(const Address& bound) const override;
    /// @{
    /// For ReactorPool (detail::HandoffEndpoint, internal): the inner
    /// endpoint's, with the PROXY header layer outside its TLS.
    std::shared_ptr<Port> listenHandingOff(std::function<void(int fd)> accepted) override;
    std::shared_ptr<Factory> servingFactory(std::shared_ptr<Factory> factory) override;
    void adopt(const std::shared_ptr<Factory>& serving, int fd) override;
    std::shared_ptr<Port> listenServing(std::shared_ptr<Factory> serving) override;
    /// @}

private:
    Reactor& reactor_;
    std::unique_ptr<ServerEndpoint> inner_;
    detail::HandoffEndpoint* stream_;
    HAProxyOptions options_;
};

}  // namespace twine
