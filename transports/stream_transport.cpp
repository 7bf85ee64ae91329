#include <twine/core/error.hpp>
#include <twine/core/guard.hpp>
#include <twine/core/log.hpp>
#include <twine/core/protocol.hpp>
#include <twine/transports/stream_transport.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <stdexcept>
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

std::string uvErrorText(int status) {
    return std::string(uv_strerror(status)) + " (" + uv_err_name(status) + ")";
}

StreamTransport* StreamTransport::create(Reactor& reactor, StreamKind kind) {
    return new StreamTransport(reactor, kind);
}

StreamTransport::StreamTransport(Reactor& reactor, StreamKind kind)
    : reactor_(reactor), kind_(kind) {
    // Neither init can fail: the TCP socket is created lazily at bind,
    // connect or accept time, and a pipe has no socket yet.
    if (kind_ == StreamKind::tcp) {
        uv_tcp_init(reactor_.uvLoop(), &handle_.tcp);
    } else {
        uv_pipe_init(reactor_.uvLoop(), &handle_.pipe, 0);
    }
    handle()->data = this;
}

void StreamTransport::start(std::unique_ptr<Protocol> protocol, LostHook onLost) {
    protocol_ = std::move(protocol);
    onLost_ = std::move(onLost);
    started_ = true;
    reactor_.track(*this);
    readAddresses();
    if (kind_ == StreamKind::tcp) uv_tcp_nodelay(&handle_.tcp, 1);
    startReading();
    callProtocol("connectionMade", [this] { protocol_->makeConnection(*this); });
}

void StreamTransport::discard() {
    if (closing_) return;
    closing_ = true;
    uv_close(handle(), onClose);
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
    std::span<char> buffer = owner(handle->data)->reactor_.readBuffer();
    *buf = uv_buf_init(buffer.data(), static_cast<unsigned>(buffer.size()));
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
        bufs_.clear();
        for (std::string_view part : parts) bufs_.push_back(bufferOf(part));
        sent = tryWrite(bufs_.data(), static_cast<unsigned>(bufs_.size()));
        if (closing_) return;
    }
    for (std::string_view part : parts) {
        std::size_t skip = std::min(sent, part.size());
        sent -= skip;
        if (skip < part.size()) enqueueCopy(part.substr(skip));
    }
}

void StreamTransport::enqueueCopy(std::string_view data) {
    if (!queued_.empty() && queued_.back().data.size() + data.size() <= coalesceLimit) {
        queued_.back().data.append(data);
        queuedBytes_ += data.size();
        pauseProducerIfFull();
        return;
    }
    enqueue(Chunk{std::string(data), 0});
}

void StreamTransport::enqueue(Chunk chunk) {
    queuedBytes_ += chunk.data.size() - chunk.offset;
    queued_.push_back(std::move(chunk));
    flush();
    pauseProducerIfFull();
}

// Hands everything queued to one vectored uv_write. libuv writes what the
// socket takes at once and the rest when it becomes writable.
void StreamTransport::flush() {
    if (writing_ || queued_.empty() || closing_) return;
    inFlight_.swap(queued_);
    queued_.clear();
    queuedBytes_ = 0;
    bufs_.clear();
    for (const Chunk& chunk : inFlight_) {
        std::string_view rest = std::string_view(chunk.data).substr(chunk.offset);
        for (; !rest.empty(); rest.remove_prefix(bufs_.back().len)) {
            bufs_.push_back(bufferOf(rest));
        }
    }
    int status = uv_write(&writeRequest_, stream(), bufs_.data(),
                          static_cast<unsigned>(bufs_.size()), onWrite);
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
    inFlight_.clear();
    if (closing_) return;  // cancelled by the close
    if (status < 0) {
        closeWith(lostWith(status));
        return;
    }
    flush();
    if (producer_ != nullptr && streaming_ && producerPaused_ && bufferSize() <= lowWater_) {
        resumeProducer();
    }
    if (!writing_ && !closing_) drained();
}

// Everything written has reached the kernel: a pull producer gets its turn,
// else a pending loseConnection or loseWriteConnection goes ahead.
void StreamTransport::drained() {
    if (producer_ != nullptr && !streaming_) {
        resumeProducer();
    } else if (disconnecting_) {
        closeWith(ConnectionDone());
    } else if (writeDisconnecting_ && !writeClosed_) {
        shutdownWrite();
    }
}

std::size_t StreamTransport::bufferSize() const {
    // libuv keeps the count of bytes handed to uv_write but not yet sent.
    const auto* stream = reinterpret_cast<const uv_stream_t*>(&handle_);
    return queuedBytes_ + (closing_ ? 0 : stream->write_queue_size);
}

void StreamTransport::setWriteBufferWaterMarks(std::size_t high, std::size_t low) {
    highWater_ = high;
    lowWater_ = std::min(low, high);
}

// ---- Producers ----

void StreamTransport::registerProducer(Producer& producer, bool streaming) {
    if (producer_ != nullptr) throw std::logic_error("A producer is already registered");
    if (!started_ || closing_) {
        producer.stopProducing();
        return;
    }
    producer_ = &producer;
    streaming_ = streaming;
    producerPaused_ = false;
    if (!streaming) {
        producer.resumeProducing();
    } else {
        pauseProducerIfFull();
    }
}

void StreamTransport::unregisterProducer() {
    producer_ = nullptr;
    producerPaused_ = false;
    // A loseConnection or loseWriteConnection that waited for a pull
    // producer can go ahead now.
    if (started_ && !writing_ && !closing_) drained();
}

void StreamTransport::pauseProducerIfFull() {
    if (producer_ == nullptr || !streaming_ || producerPaused_) return;
    if (bufferSize() <= highWater_) return;
    producerPaused_ = true;
    producer_->pauseProducing();
}

void StreamTransport::resumeProducer() {
    producerPaused_ = false;
    Producer* producer = producer_;
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
    int status = uv_shutdown(&shutdownRequest_, stream(), onShutdown);
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
    closing_ = true;
    reading_ = false;
    reason_ = std::move(reason);
    uv_close(handle(), onClose);
}

void StreamTransport::onClose(uv_handle_t* handle) {
    StreamTransport* self = owner(handle->data);
    guarded("StreamTransport close", [&] { self->finish(); });
    delete self;
}

void StreamTransport::finish() {
    if (!started_) return;  // discarded before it had a protocol
    reactor_.untrack(*this);
    if (Producer* producer = std::exchange(producer_, nullptr)) {
        guarded("Producer.stopProducing", [&] { producer->stopProducing(); });
    }
    Failure reason = reason_.value_or(Failure(ConnectionDone()));
    if (protocol_) {
        guarded("Protocol.connectionLost", [&] { protocol_->connectionLost(reason); });
        protocol_->setTransport(nullptr);
        protocol_.reset();
    }
    if (onLost_) guarded("connection lost hook", [&] { onLost_(reason); });
}

// ---- Addresses and options ----

void StreamTransport::readAddresses() const {
    if (addressesRead_) return;
    uv_os_fd_t fd = -1;
    if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&handle_), &fd) != 0) return;
    addressesRead_ = true;
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
        host_ = Address::fromSockaddr(reinterpret_cast<sockaddr*>(&address), length);
    }
    length = sizeof address;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
        peer_ = Address::fromSockaddr(reinterpret_cast<sockaddr*>(&address), length);
    }
}

Address StreamTransport::getPeer() const {
    if (!closing_) readAddresses();
    return peer_;
}

Address StreamTransport::getHost() const {
    if (!closing_) readAddresses();
    return host_;
}

bool StreamTransport::setTcpNoDelay(bool enabled) {
    if (kind_ != StreamKind::tcp || closing_) return false;
    return uv_tcp_nodelay(&handle_.tcp, enabled ? 1 : 0) == 0;
}

bool StreamTransport::setTcpKeepAlive(bool enabled, std::chrono::seconds idle) {
    if (kind_ != StreamKind::tcp || closing_) return false;
    auto delay = static_cast<unsigned>(std::max<std::chrono::seconds::rep>(idle.count(), 1));
    return uv_tcp_keepalive(&handle_.tcp, enabled ? 1 : 0, delay) == 0;
}

std::unique_ptr<Protocol> StreamTransport::exchangeProtocol(std::unique_ptr<Protocol> replacement) {
    if (!replacement) throw std::invalid_argument("exchangeProtocol needs a protocol");
    std::swap(protocol_, replacement);
    return replacement;
}

}  // namespace twine::detail
