#pragma once

#include <twine/core/address.hpp>
#include <twine/core/error.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace twine {

/// Joining or leaving a multicast group failed, as twisted.internet.error.MulticastJoinError.
class MulticastJoinError : public Error {
public:
    /// The error, with what failed in `message`.
    explicit MulticastJoinError(const std::string& message = "Could not join the multicast group.")
        : Error(message) {}
};

/// A UDP socket as a DatagramProtocol sees it, as Twisted's IUDPTransport and
/// IMulticastTransport. Errors are thrown from the call that caused them:
/// a datagram that is too long throws MessageLengthError (as Twisted's
/// write does), an address that is not an IP literal of this socket's family
/// throws std::invalid_argument. In connected mode an ICMP "port unreachable"
/// reaches the protocol's connectionRefused().
class DatagramTransport {
public:
    virtual ~DatagramTransport() = default;

    /// Sends one datagram to `to` (an IPv4 or IPv6 literal and a port).
    /// A datagram the kernel cannot take at once is queued (a bounded queue;
    /// beyond it the datagram is dropped, as the network would drop it).
    virtual void write(std::string_view datagram, const Address& to) = 0;
    /// Sends one datagram to the connected address (after connect()).
    virtual void write(std::string_view datagram) = 0;

    /// Connected mode: only `host`:`port` may send to us, write(datagram)
    /// goes there, and a refusal reaches connectionRefused(). `host` must be
    /// an IP literal; connecting twice throws std::logic_error.
    virtual void connect(const std::string& host, std::uint16_t port) = 0;

    /// The bound address (the real port when 0 was asked for).
    virtual Address getHost() const = 0;
    /// The connected address; Family::none when not connected.
    virtual Address getPeer() const = 0;

    /// Stops listening (as Port::stopListening): stopProtocol is called and
    /// the socket closes once queued datagrams are sent.
    virtual void loseConnection() = 0;

    // Multicast and broadcast (IPv4 and IPv6). Transports that cannot do
    // them (test fakes) throw std::logic_error.

    /// Joins `group` on the interface with address `interface` (IPv4), or
    /// named by a scope such as "::%lo" (IPv6); "" lets the kernel choose.
    /// Throws MulticastJoinError (std::invalid_argument for a malformed group).
    virtual void joinGroup(const std::string& group, const std::string& interface = "");
    /// Leaves a group joined with joinGroup, with the same arguments. Throws
    /// MulticastJoinError (std::invalid_argument for a malformed group).
    virtual void leaveGroup(const std::string& group, const std::string& interface = "");
    /// Whether our own multicast datagrams are delivered back to this host.
    virtual void setLoopbackMode(bool enabled);
    /// The loopback mode in force.
    virtual bool getLoopbackMode() const { return true; }
    /// The multicast time-to-live (hops), 0 to 255.
    virtual void setTTL(int ttl);
    /// The multicast time-to-live in force.
    virtual int getTTL() const { return 1; }
    /// Allows sending to broadcast addresses (SO_BROADCAST; IPv4).
    virtual void setBroadcastAllowed(bool enabled);
    /// Whether broadcast is allowed.
    virtual bool getBroadcastAllowed() const { return false; }
    /// The interface multicast datagrams leave by (its address, or "::%name").
    virtual void setOutgoingInterface(const std::string& interface);
};

inline void DatagramTransport::joinGroup(const std::string&, const std::string&) {
    throw std::logic_error("joinGroup is not supported by this transport");
}
inline void DatagramTransport::leaveGroup(const std::string&, const std::string&) {
    throw std::logic_error("leaveGroup is not supported by this transport");
}
inline void DatagramTransport::setLoopbackMode(bool) {
    throw std::logic_error("setLoopbackMode is not supported by this transport");
}
inline void DatagramTransport::setTTL(int) {
    throw std::logic_error("setTTL is not supported by this transport");
}
inline void DatagramTransport::setBroadcastAllowed(bool) {
    throw std::logic_error("setBroadcastAllowed is not supported by this transport");
}
inline void DatagramTransport::setOutgoingInterface(const std::string&) {
    throw std::logic_error("setOutgoingInterface is not supported by this transport");
}

/// The base of every UDP protocol, as twisted.internet.protocol.DatagramProtocol.
/// One protocol serves one port: Reactor::listenUDP binds it and calls
/// startProtocol; stopListening calls stopProtocol. An exception thrown by
/// any of these events is logged and the port keeps serving.
class DatagramProtocol {
public:
    virtual ~DatagramProtocol() = default;

    /// The port is listening: transport() is usable (join groups here).
    virtual void startProtocol() {}
    /// The port is closing; transport() is still usable until this returns.
    virtual void stopProtocol() {}
    /// One datagram, whole. `data` is valid only during the call.
    virtual void datagramReceived(std::string_view data, const Address& from) {
        (void)data;
        (void)from;
    }
    /// Connected mode only: the peer answered with ICMP "port unreachable".
    virtual void connectionRefused() {}

    /// Binds the protocol to a transport and calls startProtocol. Does not
    /// take ownership (tests pass a fake transport). Throws std::logic_error
    /// if the protocol is already bound.
    void makeConnection(DatagramTransport& transport) {
        if (transport_ != nullptr) {
            throw std::logic_error("DatagramProtocol is already bound to a transport");
        }
        transport_ = &transport;
        startProtocol();
    }
    /// Calls stopProtocol, then unbinds (even if stopProtocol throws).
    void doStop() {
        struct Unbind {
            DatagramTransport*& transport;
            ~Unbind() { transport = nullptr; }
        } unbind{transport_};
        if (transport_ != nullptr) stopProtocol();
    }

    /// The transport, from makeConnection until stopProtocol returns.
    DatagramTransport& transport() const {
        if (transport_ == nullptr) {
            throw std::logic_error("DatagramProtocol has no transport (not listening)");
        }
        return *transport_;
    }
    /// Whether the protocol is bound (transport() would not throw).
    bool hasTransport() const { return transport_ != nullptr; }

private:
    DatagramTransport* transport_ = nullptr;
};

}  // namespace twine
