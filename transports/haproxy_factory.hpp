#pragma once

#include <twine/core/factory.hpp>
#include <twine/core/reactor_time.hpp>
#include <twine/transports/proxy_header.hpp>

#include <chrono>
#include <cstddef>
#include <memory>

namespace twine {

/// How a connection behind a load balancer must begin.
struct HAProxyOptions {
    /// A connection that has not sent its whole PROXY header by then is closed.
    Duration headerTimeout = std::chrono::seconds(3);
    /// The longest version 2 address-and-TLV section accepted.
    std::size_t maxV2Length = proxyV2DefaultMaxLength;
};

/// Twisted's HAProxyWrappingFactory: every connection must begin with a PROXY
/// protocol header (version 1 or 2, detected), sent by a load balancer such
/// as HAProxy (`send-proxy`, `send-proxy-v2`), nginx or a cloud balancer.
///
/// Only once the header is complete does `inner` build the protocol, for the
/// client's address; that protocol sees the bytes after the header (those in
/// the same read included) and a transport whose getPeer() is the client and
/// whose getHost() is the address the client connected to, as the balancer
/// reports them. A LOCAL or UNKNOWN header (health checks) keeps the socket's
/// own addresses. A missing, malformed, oversized or late header closes the
/// connection with a log line, and `inner` never builds a protocol for it.
///
/// `time` is the reactor whose connections it serves (the header deadline
/// runs on it). The `haproxy:` endpoint prefix serves with this factory.
class HAProxyWrappingFactory final : public ServerFactory {
public:
    /// Wraps `inner` (shared; started and stopped with this factory). `time`
    /// must outlive it. Throws std::invalid_argument for a null `inner`.
    HAProxyWrappingFactory(std::shared_ptr<Factory> inner, ReactorTime& time,
                           HAProxyOptions options = {});

    std::unique_ptr<Protocol> buildProtocol(const Address& address) override;
    void startFactory() override { inner_->doStart(); }
    void stopFactory() override { inner_->doStop(); }

private:
    std::shared_ptr<Factory> inner_;
    ReactorTime& time_;
    HAProxyOptions options_;
};

}  // namespace twine
