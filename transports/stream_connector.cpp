#include <twine/core/error.hpp>
#include <twine/core/guard.hpp>
#include <twine/core/log.hpp>
#include <twine/core/protocol.hpp>
#include <twine/transports/stream_connector.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace twine::detail {

struct StreamConnector::Attempt {
    uv_connect_t request{};
    std::shared_ptr<StreamConnector> connector;
    std::uint64_t attempt = 0;
};

namespace {

Failure connectError(const std::string& where, int status) {
    const std::string detail = where + ": " + uvErrorText(status);
    if (status == UV_ECONNREFUSED) {
        return ConnectionRefusedError("Connection was refused by other side: " + detail);
    }
    if (status == UV_ETIMEDOUT) return TimeoutError("Connection timed out: " + detail);
    return ConnectError("An error occurred while connecting to " + detail);
}

}  // namespace

StreamConnector::StreamConnector(Reactor& reactor, StreamKind kind, std::string destination,
                                 std::uint16_t port, std::shared_ptr<ClientFactory> factory,
                                 ConnectOptions options)
    : reactor_(reactor),
      kind_(kind),
      destination_(std::move(destination)),
      port_(port),
      factory_(std::move(factory)),
      options_(std::move(options)) {
    if (!factory_) throw std::invalid_argument("connecting needs a client factory");
}

// Not untracked here: while connecting, pending callbacks hold the connector.
StreamConnector::~StreamConnector() = default;

Address StreamConnector::getDestination() const {
    if (kind_ == StreamKind::unixSocket) return Address::unixPath(destination_);
    Address literal = Address::fromIp(destination_, port_);
    // A host name is kept as given, as Twisted's IPv4Address('TCP', name, port).
    return literal.family() != Address::Family::none ? literal : Address::ipv4(destination_, port_);
}

void StreamConnector::connect() {
    if (state_ != State::disconnected) {
        throw std::logic_error("Connector.connect: can't connect in this state");
    }
    state_ = State::connecting;
    const std::uint64_t generation = ++generation_;
    if (!factoryStarted_) {
        factoryStarted_ = true;
        factory_->doStart();
    }
    if (!tracked_) {
        tracked_ = true;
        reactor_.track(*this);
    }
    // Starting on the loop's next turn keeps every outcome asynchronous: the
    // factory hears startedConnecting first, and never a failure from inside
    // connect().
    reactor_.callLater(Duration(0),
                       [self = shared_from_this(), generation] { self->begin(generation); });
    if (options_.timeout.count() > 0) {
        timeout_ = reactor_.callLater(options_.timeout, [weak = weak_from_this(), generation] {
            auto self = weak.lock();
            if (!self || self->generation_ != generation || self->state_ != State::connecting)
                return;
            char seconds[32];
            std::snprintf(seconds, sizeof seconds, "%g", self->options_.timeout.count());
            self->failed(TimeoutError("Connection to " + self->getDestination().toString() +
                                      " timed out after " + seconds + " s"));
        });
    }
    factory_->startedConnecting(*this);
}

void StreamConnector::begin(std::uint64_t generation) {
    if (generation != generation_ || state_ != State::connecting) return;
    addresses_.clear();
    nextAddress_ = 0;
    lastError_ = UV_ECONNREFUSED;
    if (kind_ == StreamKind::unixSocket) {
        addresses_.push_back(Address::unixPath(destination_));
        startNextAttempt();
        return;
    }
    if (Address literal = Address::fromIp(destination_, port_);
        literal.family() != Address::Family::none) {
        addresses_.push_back(literal);
        startNextAttempt();
        return;
    }
    resolve();
}

// ---- Resolving ----

// The pending lookup holds the connector, as a pending attempt does; it is
// cancelled with the connect (stopAttempt).
void StreamConnector::resolve() {
    lookup_.start(
        reactor_.uvLoop(), destination_, port_, HostLookup::Families::any,
        [self = shared_from_this()](std::vector<Address> addresses, const Failure* error) {
            self->resolved(std::move(addresses), error);
        });
}

void StreamConnector::resolved(std::vector<Address> addresses, const Failure* error) {
    if (error != nullptr) {
        failed(*error);
        return;
    }
    addresses_ = std::move(addresses);
    interleaveFamilies(addresses_);
    startNextAttempt();
}

// ---- Attempts ----

// Starts an attempt on the next address (skipping those that fail at once).
// The attempts race: the one after starts when an attempt fails or when the
// attempt delay passes. The connect fails, with the last error, only when
// no address is left and no attempt is pending.
void StreamConnector::startNextAttempt() {
    if (nextAttempt_.active()) nextAttempt_.cancel();
    while (nextAddress_ < addresses_.size()) {
        const Address address = addresses_[nextAddress_++];
        int status = kind_ == StreamKind::tcp ? attemptTCP(address) : attemptUNIX(address);
        if (status == 0) {
            scheduleNextAttempt();
            return;
        }
        lastError_ = status;
    }
    if (pending_.empty()) failed(connectError(getDestination().toString(), lastError_));
}

void StreamConnector::scheduleNextAttempt() {
    if (nextAddress_ >= addresses_.size()) return;
    nextAttempt_ = reactor_.callLater(
        options_.attemptDelay, [weak = weak_from_this(), generation = generation_] {
            auto self = weak.lock();
            if (!self || self->generation_ != generation || self->state_ != State::connecting)
                return;
            self->startNextAttempt();
        });
}

int StreamConnector::attemptTCP(const Address& address) {
    StreamTransport* transport = StreamTransport::create(reactor_, StreamKind::tcp);
    auto* tcp = reinterpret_cast<uv_tcp_t*>(transport->stream());
    int status = 0;
    if (options_.bindAddress) {
        sockaddr_storage local{};
        status = options_.bindAddress->toSockaddr(local) == 0
                     ? UV_EINVAL
                     : uv_tcp_bind(tcp, reinterpret_cast<const sockaddr*>(&local), 0);
    }
    auto attempt = std::make_unique<Attempt>();
    attempt->connector = shared_from_this();
    attempt->attempt = ++attempt_;
    attempt->request.data = attempt.get();
    sockaddr_storage remote{};
    address.toSockaddr(remote);
    if (status == 0) {
        status = uv_tcp_connect(&attempt->request, tcp, reinterpret_cast<const sockaddr*>(&remote),
                                onConnect);
    }
    if (status < 0) {
        transport->discard();
        return status;
    }
    pending_.push_back(Pending{transport, attempt->attempt});
    attempt.release();
    return 0;
}

// libuv 1.44 connects pipes by C string only, which cannot name an abstract
// socket: the socket is connected here and handed to libuv. A Unix socket
// connects (or fails) at once; the outcome is still told on the next turn.
int StreamConnector::attemptUNIX(const Address& address) {
    sockaddr_storage remote{};
    const unsigned length = address.toSockaddr(remote);
    if (destination_.empty() || destination_ == "@" || length == 0) return UV_EINVAL;
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&remote), length) != 0) {
        int error = errno;
        ::close(fd);
        return -error;
    }
    StreamTransport* transport = StreamTransport::create(reactor_, StreamKind::unixSocket);
    if (int status = uv_pipe_open(reinterpret_cast<uv_pipe_t*>(transport->stream()), fd);
        status < 0) {
        ::close(fd);
        transport->discard();
        return status;
    }
    const std::uint64_t attempt = ++attempt_;
    pending_.push_back(Pending{transport, attempt});
    reactor_.callLater(Duration(0),
                       [self = shared_from_this(), attempt] { self->attemptDone(attempt, 0); });
    return 0;
}

void StreamConnector::onConnect(uv_connect_t* request, int status) {
    std::unique_ptr<Attempt> attempt(static_cast<Attempt*>(request->data));
    guarded("Connector connect",
            [&] { attempt->connector->attemptDone(attempt->attempt, status); });
}

void StreamConnector::attemptDone(std::uint64_t attempt, int status) {
    auto it = std::find_if(pending_.begin(), pending_.end(),
                           [attempt](const Pending& p) { return p.attempt == attempt; });
    if (it == pending_.end() || state_ != State::connecting) return;
    StreamTransport* transport = it->transport;
    pending_.erase(it);
    if (status < 0) {
        transport->discard();
        lastError_ = status;
        startNextAttempt();
        return;
    }
    connected(transport);
}

void StreamConnector::connected(StreamTransport* transport) {
    stopAttempt();  // the attempts that lost the race
    if (timeout_.active()) timeout_.cancel();
    state_ = State::connected;
    transport_ = transport;
    if (tracked_) {
        tracked_ = false;
        reactor_.untrack(*this);
    }
    std::unique_ptr<Protocol> protocol;
    const Address peer = transport->getPeer();
    guarded("Factory.buildProtocol", [&] { protocol = factory_->buildProtocol(peer); });
    // As in Twisted, a refused connection gets a stand-in protocol and is
    // closed at once: the factory still hears clientConnectionLost.
    const bool refused = !protocol;
    if (refused) protocol = std::make_unique<Protocol>();
    if (protocol->factory() == nullptr) protocol->setFactory(factory_.get());
    transport->start(std::move(protocol),
                     [self = shared_from_this()](const Failure& reason) { self->lost(reason); });
    if (refused) transport->loseConnection();
}

// ---- Endings ----

// Gives up the attempts in progress: their callbacks become stale.
void StreamConnector::stopAttempt() {
    if (nextAttempt_.active()) nextAttempt_.cancel();
    for (const Pending& pending : std::exchange(pending_, {})) pending.transport->discard();
    lookup_.cancel();
}

void StreamConnector::failed(const Failure& reason) {
    stopAttempt();
    if (timeout_.active()) timeout_.cancel();
    state_ = State::disconnected;
    if (tracked_) {
        tracked_ = false;
        reactor_.untrack(*this);
    }
    guarded("ClientFactory.clientConnectionFailed",
            [&] { factory_->clientConnectionFailed(*this, reason); });
    factoryDone();
}

void StreamConnector::lost(const Failure& reason) {
    transport_ = nullptr;
    state_ = State::disconnected;
    guarded("ClientFactory.clientConnectionLost",
            [&] { factory_->clientConnectionLost(*this, reason); });
    factoryDone();
}

// The factory stops unless it connected again from its callback.
void StreamConnector::factoryDone() {
    if (state_ != State::disconnected || !factoryStarted_) return;
    factoryStarted_ = false;
    guarded("Factory.doStop", [&] { factory_->doStop(); });
}

void StreamConnector::stopConnecting() {
    if (state_ != State::connecting) {
        throw std::logic_error("Connector.stopConnecting: not connecting");
    }
    failed(UserError());
}

void StreamConnector::disconnect() {
    if (state_ == State::connecting) {
        stopConnecting();
    } else if (state_ == State::connected && transport_ != nullptr) {
        transport_->loseConnection();
    }
}

void StreamConnector::shutdown() {
    if (state_ == State::connecting) {
        failed(UserError("Connection attempt stopped: the reactor is shutting down"));
    }
}

}  // namespace twine::detail
