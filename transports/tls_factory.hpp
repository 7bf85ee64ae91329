#pragma once

// The factories that put a TLS layer over every connection of a port or
// connector: listenSSL / connectSSL and the TLS-wrapping endpoints use them.

#include <twine/core/factory.hpp>
#include <twine/core/reactor_time.hpp>
#include <twine/transports/tls_options.hpp>
#include <twine/transports/tls_protocol.hpp>

#include <memory>
#include <optional>
#include <string>

namespace twine::detail {

class TLSContext;

class TLSServerFactory final : public ServerFactory {
public:
    TLSServerFactory(std::shared_ptr<Factory> inner, const TLSOptions& options, ReactorTime& time)
        : inner_(std::move(inner)),
          context_(options.context()),
          timeout_(options.handshakeDeadline()),
          time_(time) {}

    std::unique_ptr<Protocol> buildProtocol(const Address& address) override {
        std::unique_ptr<Protocol> wrapped = inner_->buildProtocol(address);
        if (!wrapped) return nullptr;
        return std::make_unique<TLSProtocol>(std::move(wrapped), context_, "", time_, timeout_);
    }
    void startFactory() override { inner_->doStart(); }
    void stopFactory() override { inner_->doStop(); }

private:
    std::shared_ptr<Factory> inner_;
    std::shared_ptr<TLSContext> context_;
    Duration timeout_;
    ReactorTime& time_;
};

// A connection whose handshake did not complete is, to the user's factory, a
// connection that failed: clientConnectionFailed with the TLS reason.
class TLSClientFactory final : public ClientFactory,
                               public std::enable_shared_from_this<TLSClientFactory> {
public:
    TLSClientFactory(std::shared_ptr<ClientFactory> inner, const TLSOptions& options,
                     ReactorTime& time)
        : inner_(std::move(inner)),
          context_(options.context()),
          hostname_(options.hostname()),
          timeout_(options.handshakeDeadline()),
          time_(time) {}

    std::unique_ptr<Protocol> buildProtocol(const Address& address) override {
        std::unique_ptr<Protocol> wrapped = inner_->buildProtocol(address);
        if (!wrapped) return nullptr;
        auto tls =
            std::make_unique<TLSProtocol>(std::move(wrapped), context_, hostname_, time_, timeout_);
        tls->setClosedHook([self = weak_from_this()](bool handshakeDone, const Failure& reason) {
            if (auto factory = self.lock()) factory->ended_ = Ended{handshakeDone, reason};
        });
        return tls;
    }
    void startFactory() override { inner_->doStart(); }
    void stopFactory() override { inner_->doStop(); }
    void startedConnecting(Connector& connector) override { inner_->startedConnecting(connector); }
    void clientConnectionFailed(Connector& connector, const Failure& reason) override {
        inner_->clientConnectionFailed(connector, reason);
    }
    void clientConnectionLost(Connector& connector, const Failure& reason) override {
        std::optional<Ended> ended = std::exchange(ended_, std::nullopt);
        if (!ended) {
            inner_->clientConnectionLost(connector, reason);
        } else if (ended->handshakeDone) {
            inner_->clientConnectionLost(connector, ended->reason);
        } else {
            inner_->clientConnectionFailed(connector, ended->reason);
        }
    }

private:
    struct Ended {
        bool handshakeDone;
        Failure reason;
    };

    std::shared_ptr<ClientFactory> inner_;
    std::shared_ptr<TLSContext> context_;
    std::string hostname_;
    Duration timeout_;
    ReactorTime& time_;
    std::optional<Ended> ended_;
};

}  // namespace twine::detail
