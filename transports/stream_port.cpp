#include <twine/core/error.hpp>
#include <twine/core/guard.hpp>
#include <twine/core/log.hpp>
#include <twine/core/uv_close.hpp>
#include <twine/transports/stream_port.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <utility>

namespace twine::detail {
namespace {

int reserveDescriptor() {
    return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

// A socket file nobody listens on any more (its server died without removing
// it) would make bind fail: probe it, and remove it only if the connection is
// refused. Returns UV_EADDRINUSE when someone is listening.
int removeStaleSocket(const std::string& path, const sockaddr_storage& address, unsigned length) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0 || !S_ISSOCK(info.st_mode)) return 0;
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (probe < 0) return -errno;
    int result = ::connect(probe, reinterpret_cast<const sockaddr*>(&address), length);
    int error = result == 0 ? 0 : errno;
    ::close(probe);
    if (error == ECONNREFUSED) {
        ::unlink(path.c_str());
        return 0;
    }
    if (result == 0 || error == EAGAIN || error == EINPROGRESS) return UV_EADDRINUSE;
    return 0;  // anything else: let bind report it
}

Address socketName(const uv_handle_t* handle) {
    uv_os_fd_t fd = -1;
    if (uv_fileno(handle, &fd) != 0) return Address();
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return Address();
    return Address::fromSockaddr(reinterpret_cast<sockaddr*>(&address), length);
}

}  // namespace

std::shared_ptr<StreamPort> StreamPort::listenTCP(Reactor& reactor, std::uint16_t port,
                                                  std::shared_ptr<Factory> factory,
                                                  const TCPListenOptions& options,
                                                  Handoff handoff) {
    const std::string interface = options.interface.empty() ? "0.0.0.0" : options.interface;
    Address address = Address::fromIp(interface, port);
    if (address.family() == Address::Family::none) {
        throw CannotListenError("Couldn't listen on " + interface + ":" + std::to_string(port) +
                                ": the interface is not a numeric IPv4 or IPv6 address.");
    }
    auto listener = std::make_shared<StreamPort>(reactor, StreamKind::tcp, std::move(factory),
                                                 std::move(handoff));
    listener->open();
    int status = listener->bindTCP(address);
    if (status < 0) listener->fail(address.toString(), uvErrorText(status));
    listener->listen(options.backlog, address.toString());
    return listener;
}

std::shared_ptr<StreamPort> StreamPort::listenUNIX(Reactor& reactor, const std::string& path,
                                                   std::shared_ptr<Factory> factory,
                                                   const UNIXListenOptions& options,
                                                   Handoff handoff) {
    Address address = Address::unixPath(path);
    sockaddr_storage probe{};
    if (path.empty() || path == "@" || address.toSockaddr(probe) == 0) {
        throw CannotListenError("Couldn't listen on unix:" + path +
                                ": the socket path is empty or too long.");
    }
    auto listener = std::make_shared<StreamPort>(reactor, StreamKind::unixSocket,
                                                 std::move(factory), std::move(handoff));
    listener->open();
    int status = listener->bindUNIX(address, options.mode);
    if (status < 0) listener->fail(address.toString(), uvErrorText(status));
    listener->listen(options.backlog, address.toString());
    return listener;
}

StreamPort::StreamPort(Reactor& reactor, StreamKind kind, std::shared_ptr<Factory> factory,
                       Handoff handoff)
    : reactor_(reactor), kind_(kind), factory_(std::move(factory)), handoff_(std::move(handoff)) {
    if (!factory_ && !handoff_) throw std::invalid_argument("listening needs a factory");
}

StreamPort::~StreamPort() {
    if (spareFd_ >= 0) ::close(spareFd_);
}

// The handle lives in this object, which must outlive it: the port holds
// itself until libuv's close callback.
void StreamPort::open() {
    if (kind_ == StreamKind::tcp) {
        uv_tcp_init(reactor_.uvLoop(), &handle_.tcp);
    } else {
        uv_pipe_init(reactor_.uvLoop(), &handle_.pipe, 0);
    }
    handle()->data = this;
    self_ = shared_from_this();
}

int StreamPort::bindTCP(const Address& address) {
    sockaddr_storage storage{};
    address.toSockaddr(storage);
    // No UV_TCP_IPV6ONLY: "::" then also serves IPv4 where the OS allows.
    return uv_tcp_bind(&handle_.tcp, reinterpret_cast<const sockaddr*>(&storage), 0);
}

// libuv 1.44 binds pipes by C string only, which cannot name an abstract
// socket: the socket is made here and handed to libuv.
int StreamPort::bindUNIX(const Address& address, int mode) {
    sockaddr_storage storage{};
    unsigned length = address.toSockaddr(storage);
    const std::string& path = address.path();
    const bool abstract = path[0] == '@';
    if (!abstract) {
        if (int status = removeStaleSocket(path, storage, length); status < 0) return status;
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&storage), length) != 0) {
        int error = errno;
        ::close(fd);
        return -error;
    }
    if (!abstract) {
        struct stat info {};
        ::chmod(path.c_str(), static_cast<mode_t>(mode));
        if (::lstat(path.c_str(), &info) == 0) {
            socketPath_ = path;
            socketDevice_ = info.st_dev;
            socketInode_ = info.st_ino;
        }
    }
    int status = uv_pipe_open(&handle_.pipe, fd);
    if (status < 0) ::close(fd);
    return status;
}

void StreamPort::listen(int backlog, const std::string& where) {
    int status = uv_listen(stream(), backlog > 0 ? backlog : SOMAXCONN, onConnection);
    if (status < 0) fail(where, uvErrorText(status));
    host_ = socketName(handle());
    spareFd_ = reserveDescriptor();
    listening_ = true;
    reactor_.track(*this);
    if (!factory_) return;
    try {
        factory_->doStart();
    } catch (...) {
        stopListening();  // its close undoes the doStart
        throw;
    }
}

void StreamPort::fail(const std::string& where, const std::string& reason) {
    closing_ = true;
    detail::closeHandle(handle(), onClose);
    throw CannotListenError("Couldn't listen on " + where + ": " + reason + ".");
}

// ---- Accepting ----

void StreamPort::onConnection(uv_stream_t* server, int status) {
    auto* port = static_cast<StreamPort*>(server->data);
    guarded("StreamPort accept", [&] {
        if (status < 0) {
            port->acceptFailed(status);
        } else {
            port->acceptOne();
        }
    });
}

void StreamPort::acceptOne() {
    if (closing_) return;
    shedding_ = false;
    StreamTransport* transport = StreamTransport::create(reactor_, kind_);
    if (int status = uv_accept(stream(), transport->stream()); status < 0) {
        transport->discard();
        log::warn("Port " + host_.toString() + ": accept failed: " + uvErrorText(status));
        return;
    }
    if (handoff_) {
        handOff(transport);
    } else {
        serve(transport, factory_);
    }
}

void StreamPort::serve(StreamTransport* transport, const std::shared_ptr<Factory>& factory) {
    std::unique_ptr<Protocol> protocol;
    const Address peer = transport->getPeer();
    guarded("Factory.buildProtocol", [&] { protocol = factory->buildProtocol(peer); });
    if (!protocol) {
        transport->discard();  // refused by the factory (or it threw)
        return;
    }
    if (protocol->factory() == nullptr) protocol->setFactory(factory.get());
    transport->start(std::move(protocol));
}

void StreamPort::adopt(Reactor& reactor, StreamKind kind, const std::shared_ptr<Factory>& factory,
                       int fd) {
    StreamTransport* transport = StreamTransport::create(reactor, kind);
    const int status = kind == StreamKind::tcp
                           ? uv_tcp_open(reinterpret_cast<uv_tcp_t*>(transport->stream()), fd)
                           : uv_pipe_open(reinterpret_cast<uv_pipe_t*>(transport->stream()), fd);
    if (status < 0) {
        ::close(fd);
        transport->discard();
        log::warn(std::string("Cannot adopt an accepted connection: ") + uvErrorText(status));
        return;
    }
    serve(transport, factory);
}

// libuv accepts only into a handle of this loop: the handed-off descriptor is
// a duplicate, and closing the handle here leaves the connection open.
void StreamPort::handOff(StreamTransport* transport) {
    uv_os_fd_t fd = -1;
    int copy = -1;
    if (uv_fileno(transport->handle(), &fd) == 0) copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    const int error = errno;
    transport->discard();
    if (copy < 0) {
        log::warn("Port " + host_.toString() +
                  ": cannot hand a connection over: " + uvErrorText(-error));
        return;
    }
    guarded("StreamPort handoff", [&] { handoff_(copy); });
}

// What the kernel has accepted but nobody has taken yet would be reset when
// the socket closes: take it now, without waiting for the loop.
void StreamPort::drainAcceptQueue() {
    uv_os_fd_t fd = -1;
    if (uv_fileno(handle(), &fd) != 0) return;
    for (;;) {
        int connection = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (connection < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                log::warn("Port " + host_.toString() +
                          ": draining the accept queue: " + uvErrorText(-errno));
            }
            return;
        }
        guarded("StreamPort handoff", [&] { handoff_(connection); });
    }
}

void StreamPort::acceptFailed(int status) {
    if (status == UV_EMFILE || status == UV_ENFILE) {
        shed();
        return;
    }
    log::warn("Port " + host_.toString() + ": accept failed: " + uvErrorText(status));
}

// Out of descriptors, the waiting connections cannot be accepted, and the
// listening socket stays readable: retrying would spin. Free the reserve,
// accept and drop what is waiting, and take the reserve back.
void StreamPort::shed() {
    if (!shedding_) {
        shedding_ = true;
        log::warn("Port " + host_.toString() +
                  ": out of file descriptors; dropping new connections until some close");
    }
    if (spareFd_ >= 0) {
        ::close(spareFd_);
        spareFd_ = -1;
    }
    uv_os_fd_t fd = -1;
    if (uv_fileno(handle(), &fd) == 0) {
        for (;;) {
            int connection = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (connection >= 0) {
                ::close(connection);
            } else if (errno != EINTR) {
                break;
            }
        }
    }
    spareFd_ = reserveDescriptor();
}

// ---- Closing ----

Deferred<void> StreamPort::stopListening() {
    if (closed_) return succeed();
    Deferred<void> done;
    waiters_.push_back(done);
    if (!closing_) {
        closing_ = true;
        if (handoff_ && listening_) drainAcceptQueue();
        detail::closeHandle(handle(), onClose);
    }
    return done;
}

void StreamPort::onClose(uv_handle_t* handle) {
    auto* port = static_cast<StreamPort*>(handle->data);
    std::shared_ptr<StreamPort> keepAlive = std::move(port->self_);
    guarded("StreamPort close", [&] { port->closed(); });
}

void StreamPort::closed() {
    closed_ = true;
    if (spareFd_ >= 0) {
        ::close(spareFd_);
        spareFd_ = -1;
    }
    struct stat info {};
    if (!socketPath_.empty() && ::lstat(socketPath_.c_str(), &info) == 0 &&
        info.st_dev == socketDevice_ && info.st_ino == socketInode_) {
        ::unlink(socketPath_.c_str());
    }
    if (listening_) {
        listening_ = false;
        reactor_.untrack(*this);
        if (factory_) guarded("Factory.doStop", [&] { factory_->doStop(); });
    }
    std::vector<Deferred<void>> waiters = std::move(waiters_);
    for (Deferred<void>& done : waiters) done.callback();
}

}  // namespace twine::detail
