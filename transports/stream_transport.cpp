#include <twine/core/copy_bytes.hpp>
#include <twine/core/error.hpp>
#include <twine/core/guard.hpp>
#include <twine/core/log.hpp>
#include <twine/core/protocol.hpp>
#include <twine/core/uv_close.hpp>
#include <twine/transports/stream_transport.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace twine::detail {
namespace {

// Small writes made while a write is in flight are merged into the last
// queued chunk up to this size: a chatty protocol then costs one allocation
// per chunk, not one per write.
constexpr std::size_t coalesceLimit = 16 * 1024;

StreamTransport* owner(void* data) {
    return static_cast<StreamTransport*>(data);
}

constexpr std::size_t cacheLine = 64;

// libuv buffer lengths are 32-bit: larger writes go out in pieces this big.
constexpr std::size_t maxPiece = std::size_t{1} << 30;

uv_buf_t bufferOf(std::string_view data) {
    return uv_buf_init(const_cast<char*>(data.data()),
                       static_cast<unsigned>(std::min(data.size(), maxPiece)));
}

ConnectionLost lostWith(int status) {
    return ConnectionLost("Connection to the other side was lost: " + uvErrorText(status));
}

}  // namespace

struct StreamTransport::Extras {
    uv_write_t writeRequest{};
    uv_shutdown_t shutdownRequest{};

    // The write queue: `queued` collects writes while `inFlight` is being
    // written by one vectored uv_write; then they swap.
    std::vector<Chunk> queued;
    std::vector<Chunk> inFlight;
    std::vector<uv_buf_t> bufs;
    std::size_t queuedBytes = 0;
    std::size_t highWater = 64 * 1024;
    std::size_t lowWater = 16 * 1024;

    Producer* producer = nullptr;
    bool streaming = false;
    bool producerPaused = false;

    LostHook onLost;
    std::optional<Failure> reason;
    // Kept when the connection closes: the socket is gone by connectionLost.
    std::optional<Address> host;
    std::optional<Address> peer;
};

namespace {

// A stream transport with the handle of its kind in the same allocation, last,
// so that StreamTransport reaches it at one offset whatever the kind.
template <class Handle>
class StreamTransportOn final : public StreamTransport {
public:
    StreamTransportOn(Reactor& reactor, StreamKind kind) : StreamTransport(kind) {
        // Neither init can fail: the TCP socket is created lazily at bind,
        // connect or accept time, and a pipe has no socket yet.
        if constexpr (std::is_same_v<Handle, uv_tcp_t>) {
            uv_tcp_init(reactor.uvLoop(), &handle_);
        } else {
            uv_pipe_init(reactor.uvLoop(), &handle_, 0);
        }
        handle_.data = static_cast<StreamTransport*>(this);
    }

    const uv_stream_t* streamOf() const { return reinterpret_cast<const uv_stream_t*>(&handle_); }

private:
    Handle handle_;
};

using TcpTransport = StreamTransportOn<uv_tcp_t>;
using UnixTransport = StreamTransportOn<uv_pipe_t>;

}  // namespace

StreamTransport* StreamTransport::create(Reactor& reactor, StreamKind kind) {
    if (kind == StreamKind::tcp) return new TcpTransport(reactor, kind);
    return new UnixTransport(reactor, kind);
}

StreamTransport::StreamTransport(StreamKind kind) : kind_(kind) {}

StreamTransport::~StreamTransport() = default;

// A branch, not a virtual call: the write path asks for the handle often.
const uv_stream_t* StreamTransport::stream() const {
    if (kind_ == StreamKind::tcp) return static_cast<const TcpTransport*>(this)->streamOf();
    return static_cast<const UnixTransport*>(this)->streamOf();
}

Reactor& StreamTransport::reactor() const {
    return Reactor::of(stream()->loop);
}

int StreamTransport::fileDescriptor() const {
    uv_os_fd_t fd = -1;
    return uv_fileno(reinterpret_cast<const uv_handle_t*>(stream()), &fd) == 0 ? fd : -1;
}

StreamTransport::Extras& StreamTransport::extras() {
    if (!extras_) extras_ = std::make_unique<Extras>();
    return *extras_;
}

void StreamTransport::start(std::unique_ptr<Protocol> protocol, LostHook onLost) {
    protocol_ = std::move(protocol);
    if (onLost) extras().onLost = std::move(onLost);
    started_ = true;
    reactor().track(*this);
    if (kind_ == StreamKind::tcp) uv_tcp_nodelay(tcpHandle(), 1);
    startReading();
    callProtocol("connectionMade", [this] { protocol_->makeConnection(*this); });
}

void StreamTransport::discard() {
    if (closing_) return;
    closing_ = true;
    detail::closeHandle(handle(), onClose);
}

// ---- Reading ----

void StreamTransport::startReading() {
    if (reading_ || readPaused_ || readEof_ || disconnecting_ || closing_) return;
    int status = uv_read_start(stream(), onAlloc, onRead);
    if (status < 0) {
        closeWith(lostWith(status));
        return;
    }
    reading_ = true;
}

void StreamTransport::stopReading() {
    if (!reading_) return;
    uv_read_stop(stream());
    reading_ = false;
}

void StreamTransport::onAlloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
    // Every connection reads into the reactor's one buffer: an idle
    // connection holds none, and dataReceived sees it only during the call.
    // Starts on a cache line: the kernel's copy into a misaligned buffer
    // (malloc gives 16-byte alignment) costs several times more per byte.
    std::span<char> buffer = owner(handle->data)->reactor().readBuffer();
    void* start = buffer.data();
    std::size_t size = buffer.size();
    std::align(cacheLine, size - cacheLine, start, size);
    *buf = uv_buf_init(static_cast<char*>(start), static_cast<unsigned>(size));
}

void StreamTransport::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    StreamTransport* self = owner(stream->data);
    guarded("StreamTransport read", [&] {
        if (self->closing_) return;
        if (nread > 0) {
            std::string_view data(buf->base, static_cast<std::size_t>(nread));
            self->callProtocol("dataReceived", [&] { self->protocol_->dataReceived(data); });
        } else if (nread == UV_EOF) {
            self->readEnded();
        } else if (nread < 0) {
            self->closeWith(lostWith(static_cast<int>(nread)));
        }
    });
}

void StreamTransport::readEnded() {
    readEof_ = true;
    stopReading();
    callProtocol("readConnectionLost", [this] { protocol_->readConnectionLost(); });
    // Both directions are finished: nothing more can happen on it.
    if (!closing_ && writeClosed_) closeWith(ConnectionDone());
}

void StreamTransport::pauseProducing() {
    readPaused_ = true;
    stopReading();
}

void StreamTransport::resumeProducing() {
    readPaused_ = false;
    if (started_) startReading();
}

// ---- Writing ----

// Writes go straight to the socket only when nothing is waiting before them.
// A uv_write that libuv finished at once reports only on the next loop turn:
// meanwhile its bytes are all in the kernel (write_queue_size is 0), so the
// next write need not be copied into the queue. A pull producer always goes
// through the queue so that it hears when it drains.
bool StreamTransport::canWriteDirectly() const {
    if (pullProducer_) return false;
    if (!writing_) return true;
    return stream()->write_queue_size == 0 && extras_->queued.empty();
}

std::size_t StreamTransport::tryWrite(const uv_buf_t* bufs, unsigned count) {
    int sent = uv_try_write(stream(), bufs, count);
    if (sent >= 0) return static_cast<std::size_t>(sent);
    // EAGAIN: the socket is full, the data is queued. Anything else is a dead
    // connection: it is reported asynchronously, never inside write().
    if (sent != UV_EAGAIN) closeWith(lostWith(sent));
    return 0;
}

void StreamTransport::write(std::string_view data) {
    if (!writable() || data.empty()) return;
    if (canWriteDirectly()) {
        uv_buf_t buf = bufferOf(data);
        data.remove_prefix(tryWrite(&buf, 1));
        if (data.empty() || closing_) return;
    }
    enqueueCopy(data);
}

void StreamTransport::write(std::string&& data) {
    if (!writable() || data.empty()) return;
    std::size_t sent = 0;
    if (canWriteDirectly()) {
        uv_buf_t buf = bufferOf(data);
        sent = tryWrite(&buf, 1);
        if (sent == data.size() || closing_) return;
    }
    enqueue(Chunk{std::move(data), sent});
}

void StreamTransport::writeSequence(std::span<const std::string_view> parts) {
    if (!writable()) return;
    std::size_t sent = 0;
    const bool small = std::all_of(parts.begin(), parts.end(),
                                   [](std::string_view part) { return part.size() <= maxPiece; });
    if (canWriteDirectly() && small) {
        // A few parts go out from the stack; many need the heap once.
        std::array<uv_buf_t, 16> local;
        uv_buf_t* bufs = local.data();
        if (parts.size() > local.size()) {
            extras().bufs.resize(parts.size());
            bufs = extras().bufs.data();
        }
        for (std::size_t i = 0; i < parts.size(); ++i) bufs[i] = bufferOf(parts[i]);
        sent = tryWrite(bufs, static_cast<unsigned>(parts.size()));
        if (closing_) return;
    }
    for (std::string_view part : parts) {
        std::size_t skip = std::min(sent, part.size());
        sent -= skip;
        if (skip < part.size()) enqueueCopy(part.substr(skip));
    }
}

void StreamTransport::enqueueCopy(std::string_view data) {
    Extras& state = extras();
    if (!state.queued.empty() && state.queued.back().data.size() + data.size() <= coalesceLimit) {
        appendBytes(state.queued.back().data, data);
        state.queuedBytes += data.size();
        pauseProducerIfFull();
        return;
    }
    std::string copy;
    copy.reserve(data.size());
    appendBytes(copy, data);
    enqueue(Chunk{std::move(copy), 0});
}

void StreamTransport::enqueue(Chunk chunk) {
    Extras& state = extras();
    state.queuedBytes += chunk.data.size() - chunk.offset;
    state.queued.push_back(std::move(chunk));
    flush();
    pauseProducerIfFull();
}

// Hands everything queued to one vectored uv_write. libuv writes what the
// socket takes at once and the rest when it becomes writable.
void StreamTransport::flush() {
    if (writing_ || closing_ || !extras_ || extras_->queued.empty()) return;
    Extras& state = *extras_;
    state.inFlight.swap(state.queued);
    state.queued.clear();
    state.queuedBytes = 0;
    state.bufs.clear();
    for (const Chunk& chunk : state.inFlight) {
        std::string_view rest = std::string_view(chunk.data).substr(chunk.offset);
        for (; !rest.empty(); rest.remove_prefix(state.bufs.back().len)) {
            state.bufs.push_back(bufferOf(rest));
        }
    }
    int status = uv_write(&state.writeRequest, stream(), state.bufs.data(),
                          static_cast<unsigned>(state.bufs.size()), onWrite);
    if (status < 0) {
        closeWith(lostWith(status));
        return;
    }
    writing_ = true;
}

void StreamTransport::onWrite(uv_write_t* request, int status) {
    StreamTransport* self = owner(request->handle->data);
    guarded("StreamTransport write", [&] { self->writeDone(status); });
}

void StreamTransport::writeDone(int status) {
    writing_ = false;
    Extras& state = *extras_;  // a write was in flight: it exists
    state.inFlight.clear();
    if (closing_) return;  // cancelled by the close
    if (status < 0) {
        closeWith(lostWith(status));
        return;
    }
    flush();
    if (state.producer != nullptr && state.streaming && state.producerPaused &&
        bufferSize() <= state.lowWater) {
        resumeProducer();
    }
    if (!writing_ && !closing_) drained();
}

// Everything written has reached the kernel: a pull producer gets its turn,
// else a pending loseConnection or loseWriteConnection goes ahead.
void StreamTransport::drained() {
    if (pullProducer_) {
        resumeProducer();
    } else if (disconnecting_) {
        closeWith(ConnectionDone());
    } else if (writeDisconnecting_ && !writeClosed_) {
        shutdownWrite();
    }
}

std::size_t StreamTransport::bufferSize() const {
    // libuv keeps the count of bytes handed to uv_write but not yet sent.
    const std::size_t queued = extras_ ? extras_->queuedBytes : 0;
    return queued + (closing_ ? 0 : stream()->write_queue_size);
}

void StreamTransport::setWriteBufferWaterMarks(std::size_t high, std::size_t low) {
    Extras& state = extras();
    state.highWater = high;
    state.lowWater = std::min(low, high);
}

// ---- Producers ----

void StreamTransport::registerProducer(Producer& producer, bool streaming) {
    if (extras_ && extras_->producer != nullptr) {
        throw std::logic_error("A producer is already registered");
    }
    if (!started_ || closing_) {
        producer.stopProducing();
        return;
    }
    Extras& state = extras();
    state.producer = &producer;
    state.streaming = streaming;
    state.producerPaused = false;
    pullProducer_ = !streaming;
    if (!streaming) {
        producer.resumeProducing();
    } else {
        pauseProducerIfFull();
    }
}

void StreamTransport::unregisterProducer() {
    if (extras_) {
        extras_->producer = nullptr;
        extras_->producerPaused = false;
    }
    pullProducer_ = false;
    // A loseConnection or loseWriteConnection that waited for a pull
    // producer can go ahead now.
    if (started_ && !writing_ && !closing_) drained();
}

void StreamTransport::pauseProducerIfFull() {
    if (!extras_) return;
    Extras& state = *extras_;
    if (state.producer == nullptr || !state.streaming || state.producerPaused) return;
    if (bufferSize() <= state.highWater) return;
    state.producerPaused = true;
    state.producer->pauseProducing();
}

void StreamTransport::resumeProducer() {
    extras_->producerPaused = false;
    Producer* producer = extras_->producer;
    if (!guarded("Producer.resumeProducing", [&] { producer->resumeProducing(); })) {
        closeWith(ConnectionAborted("Connection aborted: the producer's resumeProducing threw"));
    }
}

// ---- Closing ----

void StreamTransport::loseConnection() {
    if (!started_ || closing_ || disconnecting_) return;
    disconnecting_ = true;
    stopReading();
    if (!writing_) drained();
}

void StreamTransport::loseWriteConnection() {
    if (!started_ || closing_ || writeDisconnecting_) return;
    writeDisconnecting_ = true;
    if (!writing_) drained();
}

void StreamTransport::abortConnection() {
    if (!started_ || closing_) return;
    closeWith(ConnectionAborted());
}

void StreamTransport::shutdownWrite() {
    writeClosed_ = true;
    int status = uv_shutdown(&extras().shutdownRequest, stream(), onShutdown);
    if (status < 0) closeWith(lostWith(status));
}

void StreamTransport::onShutdown(uv_shutdown_t* request, int status) {
    StreamTransport* self = owner(request->handle->data);
    guarded("StreamTransport shutdown", [&] { self->writeShutDown(status); });
}

void StreamTransport::writeShutDown(int status) {
    if (closing_) return;
    if (status < 0) {
        closeWith(lostWith(status));
        return;
    }
    callProtocol("writeConnectionLost", [this] { protocol_->writeConnectionLost(); });
    if (!closing_ && readEof_) closeWith(ConnectionDone());
}

// A user callback that throws aborts its own connection only: the reactor
// and every other connection go on.
template <class F>
void StreamTransport::callProtocol(std::string_view event, F&& fn) {
    if (guarded(event, std::forward<F>(fn))) return;
    closeWith(ConnectionAborted("Connection aborted: " + std::string(event) + " threw"));
}

// Every way a started connection ends comes here; connectionLost is told
// from the close callback, so never from inside a call the protocol made.
void StreamTransport::closeWith(Failure reason) {
    if (closing_) return;
    Extras& state = extras();
    // The socket goes with the handle: keep its addresses for connectionLost.
    if (!state.host) state.host = socketAddress(false);
    if (!state.peer) state.peer = socketAddress(true);
    closing_ = true;
    reading_ = false;
    state.reason = std::move(reason);
    detail::closeHandle(handle(), onClose);
}

void StreamTransport::onClose(uv_handle_t* handle) {
    StreamTransport* self = owner(handle->data);
    guarded("StreamTransport close", [&] { self->finish(); });
    delete self;
}

void StreamTransport::finish() {
    if (!started_) return;  // discarded before it had a protocol
    reactor().untrack(*this);
    Extras& state = extras();
    pullProducer_ = false;
    if (Producer* producer = std::exchange(state.producer, nullptr)) {
        guarded("Producer.stopProducing", [&] { producer->stopProducing(); });
    }
    Failure reason = state.reason.value_or(Failure(ConnectionDone()));
    if (protocol_) {
        guarded("Protocol.connectionLost", [&] { protocol_->connectionLost(reason); });
        protocol_->setTransport(nullptr);
        protocol_.reset();
    }
    if (state.onLost) guarded("connection lost hook", [&] { state.onLost(reason); });
}

// ---- Addresses and options ----

// Read from the socket while it is open (a connection that never asks pays
// nothing), from what closeWith kept afterwards.
Address StreamTransport::socketAddress(bool peer) const {
    uv_os_fd_t fd = -1;
    if (uv_fileno(reinterpret_cast<const uv_handle_t*>(stream()), &fd) != 0) return Address();
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    auto* name = reinterpret_cast<sockaddr*>(&address);
    const int status = peer ? getpeername(fd, name, &length) : getsockname(fd, name, &length);
    return status == 0 ? Address::fromSockaddr(name, length) : Address();
}

Address StreamTransport::getPeer() const {
    return cachedAddress(true);
}

Address StreamTransport::getHost() const {
    return cachedAddress(false);
}

// A started connection keeps an address once asked for it (the peer's is
// gone after a reset); the port and connector ask before start, and an echo
// server never does, so neither pays for the copy.
Address StreamTransport::cachedAddress(bool peer) const {
    std::optional<Address>* kept = nullptr;
    if (extras_) kept = peer ? &extras_->peer : &extras_->host;
    if (kept != nullptr && *kept) return **kept;
    if (closing_) return Address();
    Address address = socketAddress(peer);
    if (started_ && address.family() != Address::Family::none) {
        Extras& state = const_cast<StreamTransport*>(this)->extras();
        (peer ? state.peer : state.host) = address;
    }
    return address;
}

bool StreamTransport::setTcpNoDelay(bool enabled) {
    if (kind_ != StreamKind::tcp || closing_) return false;
    return uv_tcp_nodelay(tcpHandle(), enabled ? 1 : 0) == 0;
}

bool StreamTransport::setTcpKeepAlive(bool enabled, std::chrono::seconds idle) {
    if (kind_ != StreamKind::tcp || closing_) return false;
    auto delay = static_cast<unsigned>(std::max<std::chrono::seconds::rep>(idle.count(), 1));
    return uv_tcp_keepalive(tcpHandle(), enabled ? 1 : 0, delay) == 0;
}

std::unique_ptr<Protocol> StreamTransport::exchangeProtocol(std::unique_ptr<Protocol> replacement) {
    if (!replacement) throw std::invalid_argument("exchangeProtocol needs a protocol");
    std::swap(protocol_, replacement);
    return replacement;
}

}  // namespace twine::detail
