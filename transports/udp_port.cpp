#include <twine/core/error.hpp>
#include <twine/core/guard.hpp>
#include <twine/core/log.hpp>
#include <twine/core/uv_close.hpp>
#include <twine/transports/udp_port.hpp>

#include <uv.h>

#include <netinet/in.h>

#include <cstring>
#include <exception>
#include <stdexcept>
#include <utility>

namespace twine {
namespace detail {

namespace {

/// A datagram the kernel could not take at once: a copy, sent by libuv later.
struct SendRequest {
    uv_udp_send_t request{};
    std::string data;
};

std::string uvMessage(int error) {
    return uv_strerror(error);
}

/// recvmmsg cuts the read buffer into 64 KiB slots; with fewer than two slots
/// it gains nothing (and with none libuv would spin), so it needs 128 KiB.
constexpr std::size_t minimumBatchBuffer = 2 * 64 * 1024;

}  // namespace

/// The entry points from libuv: each one is noexcept and catches everything.
struct UDPCallbacks {
    static UDPPort& portOf(const uv_handle_t* handle) {
        return *static_cast<UDPPort*>(handle->data);
    }

    static void alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) noexcept {
        std::span<char> buffer = portOf(handle).reactor_.readBuffer();
        *buf = uv_buf_init(buffer.data(), static_cast<unsigned>(buffer.size()));
    }

    static void receive(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
                        unsigned flags) noexcept {
        // The buffer is the reactor's: nothing to free at the end of a batch.
        if ((flags & UV_UDP_MMSG_FREE) != 0) return;
        UDPPort& port = portOf(reinterpret_cast<uv_handle_t*>(handle));
        guarded("UDPPort receive", [&] { port.received(nread, buf->base, from, flags); });
    }

    static void sent(uv_udp_send_t* request, int status) noexcept {
        std::unique_ptr<SendRequest> owned(static_cast<SendRequest*>(request->data));
        UDPPort& port = portOf(reinterpret_cast<uv_handle_t*>(request->handle));
        guarded("UDPPort send", [&] { port.sendCompleted(status); });
    }

    static void closed(uv_handle_t* handle) noexcept {
        UDPPort* port = static_cast<UDPPort*>(handle->data);
        delete reinterpret_cast<uv_udp_t*>(handle);
        if (port != nullptr) guarded("UDPPort close", [&] { port->closed(); });
    }
};

}  // namespace detail

using detail::UDPCallbacks;

std::shared_ptr<Port> Reactor::listenUDP(std::uint16_t port,
                                         std::shared_ptr<DatagramProtocol> protocol,
                                         UDPListenOptions options) {
    return UDPPort::listen(*this, port, std::move(protocol), options);
}

// --- Listening and closing ---------------------------------------------------

std::shared_ptr<UDPPort> UDPPort::listen(Reactor& reactor, std::uint16_t port,
                                         std::shared_ptr<DatagramProtocol> protocol,
                                         const UDPListenOptions& options) {
    if (!protocol) throw std::invalid_argument("listenUDP: the protocol is null");
    if (options.maxPacketSize == 0 || options.maxPacketSize > 65535) {
        throw std::invalid_argument("listenUDP: maxPacketSize must be 1 to 65535, not " +
                                    std::to_string(options.maxPacketSize));
    }
    std::shared_ptr<UDPPort> self(new UDPPort(reactor, std::move(protocol), options.maxPacketSize));
    self->bind(port, options.interface);
    self->keepAlive_ = self;
    reactor.track(*self);
    self->start();
    return self;
}

UDPPort::UDPPort(Reactor& reactor, std::shared_ptr<DatagramProtocol> protocol,
                 std::size_t maxPacketSize)
    : reactor_(reactor), protocol_(std::move(protocol)), maxPacketSize_(maxPacketSize) {}

UDPPort::~UDPPort() = default;

void UDPPort::bind(std::uint16_t port, const std::string& interface) {
    const std::string host = interface.empty() ? "0.0.0.0" : interface;
    const Address local = Address::fromIp(host, port);
    if (!local.isIp()) {
        throw std::invalid_argument("listenUDP: interface '" + host +
                                    "' is not an IPv4 or IPv6 address");
    }
    sockaddr_storage storage{};
    local.toSockaddr(storage);
    ipv6_ = local.family() == Address::Family::ipv6;

    unsigned flags = ipv6_ ? AF_INET6 : AF_INET;
    if (reactor_.readBuffer().size() >= detail::minimumBatchBuffer) flags |= UV_UDP_RECVMMSG;
    auto* handle = new uv_udp_t;
    int rc = uv_udp_init_ex(reactor_.uvLoop(), handle, flags);
    if (rc < 0) {
        delete handle;
        throw CannotListenError("Couldn't listen on " + local.toString() + ": " +
                                detail::uvMessage(rc));
    }
    handle->data = nullptr;  // not yet ours: a failed bind just frees it
    rc = uv_udp_bind(handle, reinterpret_cast<const sockaddr*>(&storage), 0);
    if (rc < 0) {
        detail::closeHandle(reinterpret_cast<uv_handle_t*>(handle), UDPCallbacks::closed);
        throw CannotListenError("Couldn't listen on " + local.toString() + ": " +
                                detail::uvMessage(rc));
    }
    handle->data = this;
    handle_ = handle;

    int length = sizeof storage;
    uv_udp_getsockname(handle_, reinterpret_cast<sockaddr*>(&storage), &length);
    host_ = Address::fromSockaddr(reinterpret_cast<const sockaddr*>(&storage),
                                  static_cast<unsigned>(length));
}

// Twisted's order: the protocol starts, then the port reads. A protocol that
// fails to start (say, joinGroup threw) closes the port and fails listenUDP.
void UDPPort::start() {
    try {
        protocol_->makeConnection(*this);
    } catch (...) {
        std::exception_ptr error = std::current_exception();
        stopListening();
        std::rethrow_exception(error);
    }
    if (state_ != State::listening) return;  // startProtocol stopped it
    int rc = uv_udp_recv_start(handle_, UDPCallbacks::alloc, UDPCallbacks::receive);
    if (rc < 0) {
        stopListening();
        throw CannotListenError("Couldn't read on " + host_.toString() + ": " +
                                detail::uvMessage(rc));
    }
}

Deferred<void> UDPPort::stopListening() {
    if (state_ == State::closed) return succeed();
    Deferred<void> done;
    stopWaiters_.push_back(done);
    if (state_ == State::listening) {
        state_ = State::closing;
        uv_udp_recv_stop(handle_);
        // stopProtocol may still write; those datagrams go out before the close.
        detail::guarded("UDPPort stopProtocol", [&] { protocol_->doStop(); });
        closeWhenDrained();
    }
    return done;
}

void UDPPort::closeWhenDrained() {
    if (closeRequested_ || handle_->send_queue_count > 0) return;
    closeRequested_ = true;
    detail::closeHandle(reinterpret_cast<uv_handle_t*>(handle_), UDPCallbacks::closed);
}

void UDPPort::abort() {
    stopListening();
    if (closeRequested_ || handle_ == nullptr) return;
    closeRequested_ = true;  // queued datagrams are cancelled by the close
    detail::closeHandle(reinterpret_cast<uv_handle_t*>(handle_), UDPCallbacks::closed);
}

void UDPPort::closed() {
    std::shared_ptr<UDPPort> self = std::move(keepAlive_);  // released when this returns
    handle_ = nullptr;
    state_ = State::closed;
    std::vector<Deferred<void>> waiters = std::move(stopWaiters_);
    for (Deferred<void>& waiter : waiters) {
        detail::guarded("UDPPort stopListening callback", [&] { waiter.callback(); });
    }
    reactor_.untrack(*this);
}

// --- Sending -------------------------------------------------------------------

std::size_t UDPPort::maxDatagramSize() const {
    return ipv6_ ? maxIPv6Datagram : maxIPv4Datagram;
}

void UDPPort::destination(const Address& to, sockaddr_storage& out) const {
    if (!to.isIp()) {
        throw std::invalid_argument("UDP write: " + to.toString() + " is not an IP address");
    }
    if (to.port() == 0) {
        throw std::invalid_argument("UDP write: " + to.toString() + " has no port (port 0)");
    }
    if (to.family() == Address::Family::ipv6 && !ipv6_) {
        throw std::invalid_argument("UDP write: cannot send to IPv6 address " + to.toString() +
                                    " from IPv4 socket " + host_.toString());
    }
    // An IPv6 socket reaches IPv4 peers through IPv4-mapped addresses.
    const bool mapped = to.family() == Address::Family::ipv4 && ipv6_;
    const Address target = mapped ? Address::ipv6("::ffff:" + to.host(), to.port()) : to;
    if (target.toSockaddr(out) == 0) {
        throw std::invalid_argument("UDP write: '" + to.host() + "' is not a numeric IP address");
    }
}

void UDPPort::write(std::string_view datagram, const Address& to) {
    if (peer_.isIp()) {
        if (to != peer_) {
            throw std::invalid_argument("UDP write: this port is connected to " + peer_.toString() +
                                        "; cannot send to " + to.toString());
        }
        write(datagram);
        return;
    }
    // Echoing to the last source (the common case) reuses its sockaddr.
    if (lastSourceLength_ != 0 && to == lastSourceAddress_) {
        send(datagram, reinterpret_cast<const sockaddr*>(&lastSource_), to);
        return;
    }
    sockaddr_storage storage;
    destination(to, storage);
    send(datagram, reinterpret_cast<const sockaddr*>(&storage), to);
}

void UDPPort::write(std::string_view datagram) {
    if (!peer_.isIp()) {
        throw std::logic_error("UDP write without an address: the port is not connected");
    }
    send(datagram, nullptr, peer_);
}

void UDPPort::send(std::string_view datagram, const sockaddr* to, const Address& toAddress) {
    if (closeRequested_) throw std::logic_error("UDP write on a closed port");
    if (datagram.size() > maxDatagramSize()) {
        throw MessageLengthError("UDP datagram of " + std::to_string(datagram.size()) +
                                 " bytes is too long: at most " +
                                 std::to_string(maxDatagramSize()) + " bytes fit in one " +
                                 (ipv6_ ? "IPv6" : "IPv4") + " datagram");
    }
    uv_buf_t buf =
        uv_buf_init(const_cast<char*>(datagram.data()), static_cast<unsigned>(datagram.size()));
    const int rc = uv_udp_try_send(handle_, &buf, 1, to);
    if (rc >= 0) return;
    if (rc == UV_EAGAIN || rc == UV_ENOBUFS) {
        queue(datagram, to);
        return;
    }
    sendFailed(rc, datagram.size(), toAddress);
}

// The slow path: the kernel's buffer is full (or datagrams are already queued,
// which keeps them in order). The queue is bounded; beyond it we drop, as a
// congested network would.
void UDPPort::queue(std::string_view datagram, const sockaddr* to) {
    if (handle_->send_queue_size + datagram.size() > maxQueuedBytes) {
        ++dropped_;
        return;
    }
    auto request = std::make_unique<detail::SendRequest>();
    request->data.assign(datagram);
    request->request.data = request.get();
    uv_buf_t buf = uv_buf_init(request->data.data(), static_cast<unsigned>(request->data.size()));
    const int rc = uv_udp_send(&request->request, handle_, &buf, 1, to, UDPCallbacks::sent);
    if (rc < 0) {
        sendFailed(rc, datagram.size(), to == nullptr ? peer_ : Address::fromSockaddr(to));
        return;
    }
    request.release();  // UDPCallbacks::sent frees it
}

void UDPPort::sendFailed(int error, std::size_t size, const Address& to) {
    switch (error) {
        case UV_EMSGSIZE:
            throw MessageLengthError("UDP datagram of " + std::to_string(size) + " bytes to " +
                                     to.toString() + " is too long: " + detail::uvMessage(error));
        case UV_ECONNREFUSED:
            refused();
            return;
        default:
            throw Error("UDP write of " + std::to_string(size) + " bytes to " + to.toString() +
                        " failed: " + detail::uvMessage(error));
    }
}

// A queued datagram has gone (or failed): nobody is waiting on it any more,
// so a failure is only logged; the close waits for the queue to drain.
void UDPPort::sendCompleted(int status) {
    if (status == UV_ECONNREFUSED) {
        refused();
    } else if (status < 0 && status != UV_ECANCELED) {
        ++dropped_;
        log::warn("UDP datagram from " + host_.toString() +
                  " dropped: " + detail::uvMessage(status));
    }
    if (state_ == State::closing) closeWhenDrained();
}

// --- Receiving -----------------------------------------------------------------

void UDPPort::received(long nread, const char* data, const sockaddr* from, unsigned flags) {
    if (nread < 0) {
        if (nread == UV_ECONNREFUSED) {
            refused();
        } else {
            log::warn("UDP receive on " + host_.toString() +
                      " failed: " + detail::uvMessage(static_cast<int>(nread)));
        }
        return;
    }
    if (from == nullptr || state_ != State::listening) return;  // nothing more to read now
    const auto size = static_cast<std::size_t>(nread);
    if ((flags & UV_UDP_PARTIAL) != 0 || size > maxPacketSize_) {
        ++dropped_;  // a datagram is whole or nothing: never deliver a truncated one
        if (log::enabled(log::Level::debug)) {
            log::debug("UDP datagram of " + std::to_string(size) + " bytes on " + host_.toString() +
                       " exceeds maxPacketSize; dropped");
        }
        return;
    }
    const Address& source = sourceOf(from);
    detail::guarded("UDP datagramReceived",
                    [&] { protocol_->datagramReceived(std::string_view(data, size), source); });
}

const Address& UDPPort::sourceOf(const sockaddr* from) {
    const unsigned length =
        from->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (length != lastSourceLength_ || std::memcmp(&lastSource_, from, length) != 0) {
        std::memcpy(&lastSource_, from, length);
        lastSourceLength_ = length;
        lastSourceAddress_ = Address::fromSockaddr(from, length);
    }
    return lastSourceAddress_;
}

void UDPPort::refused() {
    // Only a connected socket learns of refusals (Linux reports ICMP errors to
    // unconnected sockets only with IP_RECVERR), and only it knows who refused.
    if (!peer_.isIp() || state_ != State::listening) return;
    detail::guarded("UDP connectionRefused", [&] { protocol_->connectionRefused(); });
}

// --- Connected mode and socket options ------------------------------------------

void UDPPort::connect(const std::string& host, std::uint16_t port) {
    if (peer_.isIp()) {
        throw std::logic_error("UDP port is already connected to " + peer_.toString() +
                               "; reconnecting is not supported");
    }
    if (closeRequested_) throw std::logic_error("UDP connect on a closed port");
    const Address target = Address::fromIp(host, port);
    if (!target.isIp()) {
        throw std::invalid_argument("UDP connect: '" + host +
                                    "' is not an IP address (resolve names first)");
    }
    sockaddr_storage storage;
    destination(target, storage);
    const int rc = uv_udp_connect(handle_, reinterpret_cast<const sockaddr*>(&storage));
    if (rc < 0) {
        throw ConnectError("UDP connect to " + target.toString() +
                           " failed: " + detail::uvMessage(rc));
    }
    peer_ = target;
}

void UDPPort::setOption(const char* what, int result) {
    if (result == UV_EINVAL) throw std::invalid_argument(std::string(what) + ": invalid argument");
    if (result < 0) throw Error(std::string(what) + " failed: " + detail::uvMessage(result));
}

void UDPPort::joinGroup(const std::string& group, const std::string& interface) {
    if (closeRequested_) throw std::logic_error("joinGroup on a closed UDP port");
    const int rc = uv_udp_set_membership(
        handle_, group.c_str(), interface.empty() ? nullptr : interface.c_str(), UV_JOIN_GROUP);
    if (rc == UV_EINVAL) {
        throw std::invalid_argument("joinGroup: '" + group +
                                    "' is not a multicast group address (or the interface '" +
                                    interface + "' is not an address)");
    }
    if (rc < 0) {
        throw MulticastJoinError("joinGroup " + group + " on " + host_.toString() +
                                 " failed: " + detail::uvMessage(rc));
    }
}

void UDPPort::leaveGroup(const std::string& group, const std::string& interface) {
    if (closeRequested_) throw std::logic_error("leaveGroup on a closed UDP port");
    const int rc = uv_udp_set_membership(
        handle_, group.c_str(), interface.empty() ? nullptr : interface.c_str(), UV_LEAVE_GROUP);
    if (rc == UV_EINVAL) {
        throw std::invalid_argument("leaveGroup: '" + group + "' is not a multicast group address");
    }
    if (rc < 0) {
        throw MulticastJoinError("leaveGroup " + group + " on " + host_.toString() +
                                 " failed: " + detail::uvMessage(rc));
    }
}

void UDPPort::setLoopbackMode(bool enabled) {
    if (closeRequested_) throw std::logic_error("setLoopbackMode on a closed UDP port");
    setOption("setLoopbackMode", uv_udp_set_multicast_loop(handle_, enabled ? 1 : 0));
    loopback_ = enabled;
}

void UDPPort::setTTL(int ttl) {
    if (closeRequested_) throw std::logic_error("setTTL on a closed UDP port");
    if (ttl < 0 || ttl > 255) {
        throw std::invalid_argument("setTTL: " + std::to_string(ttl) + " is not 0 to 255");
    }
    setOption("setTTL", uv_udp_set_multicast_ttl(handle_, ttl));
    ttl_ = ttl;
}

void UDPPort::setBroadcastAllowed(bool enabled) {
    if (closeRequested_) throw std::logic_error("setBroadcastAllowed on a closed UDP port");
    setOption("setBroadcastAllowed", uv_udp_set_broadcast(handle_, enabled ? 1 : 0));
    broadcast_ = enabled;
}

void UDPPort::setOutgoingInterface(const std::string& interface) {
    if (closeRequested_) throw std::logic_error("setOutgoingInterface on a closed UDP port");
    const int rc = uv_udp_set_multicast_interface(handle_, interface.c_str());
    if (rc == UV_EINVAL) {
        throw std::invalid_argument("setOutgoingInterface: '" + interface +
                                    "' is not an interface address of this socket's family");
    }
    setOption("setOutgoingInterface", rc);
}

}  // namespace twine
