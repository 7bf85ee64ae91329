#pragma once

#include <twine/core/delayed_call.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/protocol.hpp>
#include <twine/core/reactor_time.hpp>
#include <twine/core/transport.hpp>
#include <twine/transports/haproxy_factory.hpp>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace twine::detail {

/// One connection behind a load balancer, as Twisted's HAProxyProtocol: a
/// Protocol on the socket's transport that reads the PROXY header, then
/// builds the user's protocol and is its Transport, passing everything
/// through but the addresses.
class HAProxyProtocol final : public Protocol, public Transport {
public:
    using Transport::write;
    using Transport::writeSequence;

    HAProxyProtocol(std::shared_ptr<Factory> inner, ReactorTime& time,
                    const HAProxyOptions& options);
    ~HAProxyProtocol() override;
    HAProxyProtocol(const HAProxyProtocol&) = delete;
    HAProxyProtocol& operator=(const HAProxyProtocol&) = delete;

    // Events from the socket's transport.
    void connectionMade() override;
    void dataReceived(std::string_view data) override;
    void connectionLost(const Failure& reason) override;
    void readConnectionLost() override;
    void writeConnectionLost() override;

    // The wrapped protocol's transport.
    void write(std::string_view data) override { lower().write(data); }
    void write(std::string&& data) override { lower().write(std::move(data)); }
    void writeSequence(std::span<const std::string_view> parts) override {
        lower().writeSequence(parts);
    }
    void registerProducer(Producer& producer, bool streaming) override {
        lower().registerProducer(producer, streaming);
    }
    void unregisterProducer() override { lower().unregisterProducer(); }
    void loseConnection() override { lower().loseConnection(); }
    void abortConnection() override { lower().abortConnection(); }
    void loseWriteConnection() override { lower().loseWriteConnection(); }
    bool disconnecting() const override { return !connected() || lower().disconnecting(); }
    // The wrapped protocol exists only once the header set these.
    Address getPeer() const override { return peer_; }
    Address getHost() const override { return host_; }
    std::size_t bufferSize() const override { return connected() ? lower().bufferSize() : 0; }
    void setWriteBufferWaterMarks(std::size_t high, std::size_t low) override {
        lower().setWriteBufferWaterMarks(high, low);
    }
    bool setTcpNoDelay(bool enabled) override { return lower().setTcpNoDelay(enabled); }
    bool setTcpKeepAlive(bool enabled, std::chrono::seconds idle) override {
        return lower().setTcpKeepAlive(enabled, idle);
    }
    int fileDescriptor() const override { return connected() ? lower().fileDescriptor() : -1; }
    void startTLS(const TLSOptions& options) override { lower().startTLS(options); }
    std::unique_ptr<Protocol> exchangeProtocol(std::unique_ptr<Protocol> replacement) override;
    void pauseProducing() override { lower().pauseProducing(); }
    void resumeProducing() override { lower().resumeProducing(); }

private:
    Transport& lower() const { return transport(); }
    void readHeader(std::string_view data);
    void accept(const ProxyHeader& header, std::string_view rest);
    void refuse(const std::string& reason);
    void onDeadline();
    void stopDeadline();

    std::shared_ptr<Factory> inner_;
    ReactorTime& time_;
    HAProxyOptions options_;
    std::optional<DelayedCall> deadline_;
    std::string received_;  // the header so far, when it spans reads
    std::unique_ptr<Protocol> wrapped_;
    Address peer_;
    Address host_;
};

}  // namespace twine::detail
