#pragma once

#include <twine/core/protocol.hpp>

#include <memory>
#include <string_view>
#include <utility>

namespace twine {

/// A protocol that owns another and passes every event on to it, as Twisted's
/// policies.ProtocolWrapper. Wrapping factories (endpoints, connection
/// limits) subclass it to observe a connection without the wrapped protocol
/// knowing: the wrapped protocol sees the real transport.
class ProtocolWrapper : public Protocol {
public:
    /// Takes ownership of `wrapped` (not null).
    explicit ProtocolWrapper(std::unique_ptr<Protocol> wrapped) : wrapped_(std::move(wrapped)) {}

    /// The protocol passed on to.
    Protocol& wrapped() const { return *wrapped_; }

    /// Binds the wrapped protocol to this transport: its connectionMade runs.
    void connectionMade() override { wrapped_->makeConnection(transport()); }
    /// Each event is passed on to the wrapped protocol.
    void dataReceived(std::string_view data) override {
        rebind();
        wrapped_->dataReceived(data);
    }
    void connectionLost(const Failure& reason) override {
        rebind();
        wrapped_->connectionLost(reason);
        wrapped_->setTransport(nullptr);
    }
    void readConnectionLost() override {
        rebind();
        wrapped_->readConnectionLost();
    }
    void writeConnectionLost() override {
        rebind();
        wrapped_->writeConnectionLost();
    }

private:
    // startTLS rebinds only the protocol the transport holds (this one): pass
    // the new transport on before each event.
    void rebind() {
        if (connected()) wrapped_->setTransport(&transport());
    }

    std::unique_ptr<Protocol> wrapped_;
};

}  // namespace twine
