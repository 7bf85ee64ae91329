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
    /// Makes one protocol; called once per accepted or made connection.
    using Builder = std::function<std::unique_ptr<Protocol>()>;

    /// A factory with no builder: a subclass overrides buildProtocol.
    Factory() = default;
    /// A factory whose buildProtocol calls `builder`.
    explicit Factory(Builder builder) : builder_(std::move(builder)) {}
    virtual ~Factory() = default;
    Factory(const Factory&) = delete;
    Factory& operator=(const Factory&) = delete;

    /// Returns the protocol for a new connection from `address`, or nullptr
    /// to refuse it (the connection is closed at once). The default uses the
    /// builder given at construction and throws std::logic_error without one;
    /// a throw refuses the connection, with a log line.
    virtual std::unique_ptr<Protocol> buildProtocol(const Address& address);

    /// Called when the first port or connector starts using the factory.
    virtual void startFactory() {}
    /// Called when the last port or connector using the factory stops.
    virtual void stopFactory() {}

    /// Reference counting over ports and connectors: the first doStart calls
    /// startFactory, the matching last doStop calls stopFactory.
    void doStart();
    /// The matching stop; an unbalanced one does nothing.
    void doStop();
    /// How many ports and connectors are using the factory.
    int numPorts() const { return numPorts_; }

protected:
    /// A builder making P(args...), `args` copied into it: forProtocol's helper.
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

    /// A factory whose connections each get a new P(args...).
    template <class P, class... Args>
    static std::shared_ptr<ClientFactory> forProtocol(Args&&... args) {
        return std::make_shared<ClientFactory>(builderFor<P>(std::forward<Args>(args)...));
    }

    /// An attempt has begun; connector.stopConnecting() may abort it.
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
