// Reactor::listenSSL and connectSSL: TCP with a factory that wraps each
// protocol it builds in a TLS layer.
#include <twine/core/connector.hpp>
#include <twine/core/error.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/port.hpp>
#include <twine/core/reactor.hpp>
#include <twine/transports/tls_context.hpp>
#include <twine/transports/tls_options.hpp>
#include <twine/transports/tls_protocol.hpp>
#include <twine/transports/tls_server_factory.hpp>

#include <memory>
#include <optional>
#include <utility>

namespace twine {
namespace {

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
        return std::make_unique<detail::TLSProtocol>(std::move(wrapped), context_, "", time_,
                                                     timeout_);
    }
    void startFactory() override { inner_->doStart(); }
    void stopFactory() override { inner_->doStop(); }

private:
    std::shared_ptr<Factory> inner_;
    std::shared_ptr<detail::TLSContext> context_;
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
        auto tls = std::make_unique<detail::TLSProtocol>(std::move(wrapped), context_, hostname_,
                                                         time_, timeout_);
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
    std::shared_ptr<detail::TLSContext> context_;
    std::string hostname_;
    Duration timeout_;
    ReactorTime& time_;
    std::optional<Ended> ended_;
};

}  // namespace

std::shared_ptr<Factory> detail::tlsServerFactory(std::shared_ptr<Factory> inner,
                                                  const TLSOptions& tls, ReactorTime& time) {
    if (!tls.isServer()) throw TLSError("listenSSL needs server options (TLSOptions::server)");
    return std::make_shared<TLSServerFactory>(std::move(inner), tls, time);
}

std::shared_ptr<Port> Reactor::listenSSL(std::uint16_t port, std::shared_ptr<Factory> factory,
                                         const TLSOptions& tls, TCPListenOptions options) {
    // Building the factory builds the context: a bad certificate fails here, not per connection.
    return listenTCP(port, detail::tlsServerFactory(std::move(factory), tls, *this),
                     std::move(options));
}

std::shared_ptr<Connector> Reactor::connectSSL(const std::string& host, std::uint16_t port,
                                               std::shared_ptr<ClientFactory> factory,
                                               const TLSOptions& tls, ConnectOptions options) {
    if (tls.isServer()) throw TLSError("connectSSL needs client options (TLSOptions::client)");
    TLSOptions client = tls;
    if (client.hostname().empty()) client.hostname(host);
    auto wrapper = std::make_shared<TLSClientFactory>(std::move(factory), client, *this);
    return connectTCP(host, port, std::move(wrapper), std::move(options));
}

}  // namespace twine
