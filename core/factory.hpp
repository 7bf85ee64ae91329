#pragma once

#include <twine/core/address.hpp>
#include <twine/core/failure.hpp>
#include <twine/core/protocol.hpp>

#include <functional>
#include <memory>
#include <utility>

namespace twine {

class Connector;

/// Builds one Protocol per connection, as twisted.internet.protocol.Factory.
/// Ports and connectors hold factories by shared_ptr.
class Factory {
public:
    using Builder = std::function<std::unique_ptr<Protocol>()>;

    Factory() = default;
    explicit Factory(Builder builder) : builder_(std::move(builder)) {}
    virtual ~Factory() = default;
    Factory(const Factory&) = delete;
    Factory& operator=(const Factory&) = delete;

    /// Returns the protocol for a new connection from `address`, or nullptr
    /// to refuse it (the connection is closed at once). The default uses the
    /// builder given at construction.
    virtual std::unique_ptr<Protocol> buildProtocol(const Address& address);

    /// Called when the first port or connector starts using the factory, and
    /// when the last one stops.
    virtual void startFactory() {}
    virtual void stopFactory() {}

    /// Reference counting over ports and connectors: the first doStart calls
    /// startFactory, the matching last doStop calls stopFactory.
    void doStart();
    void doStop();
    int numPorts() const { return numPorts_; }

protected:
    template <class P, class... Args>
    static Builder builderFor(Args&&... args) {
        return [... args = std::forward<Args>(args)]() -> std::unique_ptr<Protocol> {
            return std::make_unique<P>(args...);
        };
    }

private:
    Builder builder_;
    int numPorts_ = 0;
};

/// The factory for listening ports.
class ServerFactory : public Factory {
public:
    using Factory::Factory;

    /// A factory whose connections each get a new P(args...).
    template <class P, class... Args>
    static std::shared_ptr<ServerFactory> forProtocol(Args&&... args) {
        return std::make_shared<ServerFactory>(builderFor<P>(std::forward<Args>(args)...));
    }
};

/// The factory for outgoing connections, told how connecting went.
class ClientFactory : public Factory {
public:
    using Factory::Factory;

    template <class P, class... Args>
    static std::shared_ptr<ClientFactory> forProtocol(Args&&... args) {
        return std::make_shared<ClientFactory>(builderFor<P>(std::forward<Args>(args)...));
    }

    virtual void startedConnecting(Connector& connector) { (void)connector; }
    /// Refused, timed out, or the name did not resolve.
    virtual void clientConnectionFailed(Connector& connector, const Failure& reason) {
        (void)connector;
        (void)reason;
    }
    /// An established connection ended.
    virtual void clientConnectionLost(Connector& connector, const Failure& reason) {
        (void)connector;
        (void)reason;
    }
};

}  // namespace twine
