#pragma once

#include <twine/core/address.hpp>
#include <twine/core/datagram_protocol.hpp>
#include <twine/core/deferred.hpp>
#include <twine/core/port.hpp>
#include <twine/core/reactor.hpp>

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct uv_udp_s;

namespace twine {

namespace detail {
struct UDPCallbacks;
}

/// A bound UDP socket: the Port that Reactor::listenUDP returns and the
/// DatagramTransport its protocol writes to, as Twisted's udp.Port.
///
/// Reads use recvmmsg batches into the reactor's shared read buffer; writes
/// try the socket at once (no copy, no allocation) and queue a copy only when
/// the kernel cannot take the datagram now. The port keeps itself alive until
/// its socket is closed, so dropping the returned handle does not close it.
class UDPPort final : public Port,
                      public DatagramTransport,
                      public detail::Resource,
                      public std::enable_shared_from_this<UDPPort> {
public:
    /// The largest UDP payload over IPv4 and IPv6 (without jumbograms).
    static constexpr std::size_t maxIPv4Datagram = 65507;
    static constexpr std::size_t maxIPv6Datagram = 65527;  ///< As maxIPv4Datagram, for IPv6.
    /// Beyond this many bytes waiting in the send queue, datagrams are dropped.
    static constexpr std::size_t maxQueuedBytes = 4 * 1024 * 1024;

    /// Binds `port` on options.interface ("" = every IPv4 address, "::" =
    /// IPv6 and IPv4) and starts `protocol`. Throws std::invalid_argument for
    /// a malformed interface or size, CannotListenError if the bind fails.
    static std::shared_ptr<UDPPort> listen(Reactor& reactor, std::uint16_t port,
                                           std::shared_ptr<DatagramProtocol> protocol,
                                           const UDPListenOptions& options);
    ~UDPPort() override;
    UDPPort(const UDPPort&) = delete;
    UDPPort& operator=(const UDPPort&) = delete;

    // Port
    Deferred<void> stopListening() override;
    Address getHost() const override { return host_; }

    // DatagramTransport
    void write(std::string_view datagram, const Address& to) override;
    void write(std::string_view datagram) override;
    void connect(const std::string& host, std::uint16_t port) override;
    Address getPeer() const override { return peer_; }
    void loseConnection() override { stopListening(); }
    void joinGroup(const std::string& group, const std::string& interface = "") override;
    void leaveGroup(const std::string& group, const std::string& interface = "") override;
    void setLoopbackMode(bool enabled) override;
    bool getLoopbackMode() const override { return loopback_; }
    void setTTL(int ttl) override;
    int getTTL() const override { return ttl_; }
    void setBroadcastAllowed(bool enabled) override;
    bool getBroadcastAllowed() const override { return broadcast_; }
    void setOutgoingInterface(const std::string& interface) override;

    // detail::Resource

    /// The reactor is shutting down: stopListening().
    void shutdown() override { stopListening(); }
    /// Closes at once, dropping datagrams still queued.
    void abort() override;

    /// The largest datagram write() accepts on this socket.
    std::size_t maxDatagramSize() const;
    /// Datagrams dropped: too long for maxPacketSize, or the send queue full.
    std::uint64_t droppedDatagrams() const { return dropped_; }

private:
    friend struct detail::UDPCallbacks;
    enum class State { listening, closing, closed };

    UDPPort(Reactor& reactor, std::shared_ptr<DatagramProtocol> protocol,
            std::size_t maxPacketSize);
    void bind(std::uint16_t port, const std::string& interface);
    void start();

    /// Fills `out` for sending to `to`; throws std::invalid_argument.
    void destination(const Address& to, sockaddr_storage& out) const;
    void send(std::string_view datagram, const sockaddr* to, const Address& toAddress);
    void queue(std::string_view datagram, const sockaddr* to);
    void sendFailed(int error, std::size_t size, const Address& to);
    void sendCompleted(int status);

    void received(long nread, const char* data, const sockaddr* from, unsigned flags);
    const Address& sourceOf(const sockaddr* from);
    void refused();

    void closeWhenDrained();
    void closed();
    void setOption(const char* what, int result);

    Reactor& reactor_;
    std::shared_ptr<DatagramProtocol> protocol_;
    std::size_t maxPacketSize_;
    uv_udp_s* handle_ = nullptr;  // owned; freed by libuv's close callback
    std::shared_ptr<UDPPort> keepAlive_;
    State state_ = State::listening;
    bool closeRequested_ = false;
    std::vector<Deferred<void>> stopWaiters_;

    Address host_;
    Address peer_;
    bool ipv6_ = false;
    bool loopback_ = true;
    int ttl_ = 1;
    bool broadcast_ = false;
    std::uint64_t dropped_ = 0;

    // The last source seen, so a steady peer costs no address conversion.
    sockaddr_storage lastSource_{};
    unsigned lastSourceLength_ = 0;
    Address lastSourceAddress_;
};

}  // namespace twine
