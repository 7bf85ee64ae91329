#pragma once

#include <twine/core/failure.hpp>
#include <twine/core/transport.hpp>

#include <string_view>

namespace twine {

class Factory;

/// The base of every stream protocol, as twisted.internet.protocol.Protocol.
/// Subclass it and override the events you care about; write with
/// transport().write(...).
class Protocol {
public:
    virtual ~Protocol() = default;

    /// Binds the protocol to a transport and calls connectionMade. Does not
    /// take ownership (tests pass a StringTransport on the stack).
    void makeConnection(Transport& transport);

    /// The connection is up and transport() is usable: start talking here.
    virtual void connectionMade() {}
    /// Bytes from the peer, in whatever chunks they arrived (a message may
    /// be split or joined with the next). `data` is valid only during the call.
    virtual void dataReceived(std::string_view data) { (void)data; }
    /// Called exactly once per connection: ConnectionDone for a clean close,
    /// ConnectionLost for an error or reset, ConnectionAborted after
    /// abortConnection.
    virtual void connectionLost(const Failure& reason) { (void)reason; }

    /// The peer will send no more (it half-closed). The default closes our
    /// side too, after flushing; override to keep writing.
    virtual void readConnectionLost() { transport().loseConnection(); }
    /// Our write side is shut down (after loseWriteConnection).
    virtual void writeConnectionLost() {}

    /// The transport, from makeConnection until connectionLost returns.
    Transport& transport() const;
    /// True from makeConnection until connectionLost returns.
    bool connected() const { return transport_ != nullptr; }
    /// The factory that built this protocol; nullptr if none did (tests).
    Factory* factory() const { return factory_; }

    /// For transports and factories.
    void setFactory(Factory* factory) { factory_ = factory; }
    /// For transports: rebinds (startTLS) or unbinds (after connectionLost)
    /// without calling any event.
    void setTransport(Transport* transport) { transport_ = transport; }

private:
    Transport* transport_ = nullptr;
    Factory* factory_ = nullptr;
};

}  // namespace twine
