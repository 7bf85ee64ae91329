#pragma once

#include <twine/core/address.hpp>
#include <twine/core/failure.hpp>
#include <twine/core/reactor.hpp>
#include <twine/core/transport.hpp>
#include <twine/core/uv_error.hpp>

#include <uv.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace twine::detail {

/// Which kind of socket a stream transport, port or connector works on.
enum class StreamKind { tcp, unixSocket };

/// One connection over a libuv stream, shared by TCP and Unix sockets (TLS
/// layers on top by exchanging the protocol). It owns its protocol, lives on
/// the heap and deletes itself in libuv's close callback, after telling the
/// protocol connectionLost exactly once.
class StreamTransport : public Transport, public Resource {
public:
    /// Called after the protocol's connectionLost (a connector uses it to
    /// tell its factory clientConnectionLost).
    using LostHook = std::function<void(const Failure&)>;

    /// A new, unconnected handle on the reactor's loop. The caller accepts or
    /// connects into stream(), then calls start() or discard().
    static StreamTransport* create(Reactor& reactor, StreamKind kind);

    /// The libuv handle: a uv_tcp_t or a uv_pipe_t, as kind() says.
    uv_stream_t* stream() { return const_cast<uv_stream_t*>(std::as_const(*this).stream()); }
    const uv_stream_t* stream() const;
    uv_handle_t* handle() { return reinterpret_cast<uv_handle_t*>(stream()); }
    StreamKind kind() const { return kind_; }

    /// Takes the protocol, registers with the reactor, starts reading and
    /// calls makeConnection.
    void start(std::unique_ptr<Protocol> protocol, LostHook onLost = {});
    /// Closes a handle that never got a protocol (a failed connect, a
    /// connection the factory refused): no event is delivered.
    void discard();

    // Transport.
    void write(std::string_view data) override;
    void write(std::string&& data) override;
    void writeSequence(std::span<const std::string_view> parts) override;
    void loseConnection() override;
    void abortConnection() override;
    void loseWriteConnection() override;
    bool disconnecting() const override { return disconnecting_ || closing_; }
    Address getPeer() const override;
    Address getHost() const override;
    std::size_t bufferSize() const override;
    void setWriteBufferWaterMarks(std::size_t high, std::size_t low) override;
    bool setTcpNoDelay(bool enabled) override;
    bool setTcpKeepAlive(bool enabled, std::chrono::seconds idle) override;
    std::unique_ptr<Protocol> exchangeProtocol(std::unique_ptr<Protocol> replacement) override;
    int fileDescriptor() const override;
    /// Defined by the TLS part (transports/tls_start.cpp).
    void startTLS(const TLSOptions& options) override;

    // Consumer: producers.
    void registerProducer(Producer& producer, bool streaming) override;
    void unregisterProducer() override;

    // Producer: reading.
    void pauseProducing() override;
    void resumeProducing() override;

    // Resource: the reactor's shutdown closes gracefully, and aborts what
    // has not closed a few seconds later (a peer that never reads).
    void shutdown() override { loseConnection(); }
    void abort() override { abortConnection(); }

private:
    // Bytes handed to write, `offset` of them already sent by a try-write.
    struct Chunk {
        std::string data;
        std::size_t offset = 0;
    };
    // What only some connections need (a write queue, a producer, a write
    // shutdown, a lost hook, the close reason and addresses), made on first
    // use: an idle connection is then little more than its libuv handle.
    struct Extras;

protected:
    explicit StreamTransport(StreamKind kind);
    ~StreamTransport() override;

private:
    static void onAlloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
    static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
    static void onWrite(uv_write_t* request, int status);
    static void onShutdown(uv_shutdown_t* request, int status);
    static void onClose(uv_handle_t* handle);

    Reactor& reactor() const;
    uv_tcp_t* tcpHandle() { return reinterpret_cast<uv_tcp_t*>(stream()); }
    Extras& extras();
    void readEnded();
    void startReading();
    void stopReading();

    bool writable() const { return started_ && !closing_ && !writeClosed_; }
    bool canWriteDirectly() const;
    std::size_t tryWrite(const uv_buf_t* bufs, unsigned count);
    void enqueueCopy(std::string_view data);
    void enqueue(Chunk chunk);
    void flush();
    void writeDone(int status);
    void drained();
    void pauseProducerIfFull();
    void resumeProducer();
    void shutdownWrite();
    void writeShutDown(int status);

    template <class F>
    void callProtocol(std::string_view event, F&& fn);
    void closeWith(Failure reason);
    void finish();
    Address socketAddress(bool peer) const;
    Address cachedAddress(bool peer) const;

    std::unique_ptr<Protocol> protocol_;
    std::unique_ptr<Extras> extras_;

    StreamKind kind_;
    bool started_ : 1 = false;
    bool reading_ : 1 = false;
    bool readPaused_ : 1 = false;
    bool readEof_ : 1 = false;
    bool writing_ : 1 = false;
    bool disconnecting_ : 1 = false;
    bool writeDisconnecting_ : 1 = false;
    bool writeClosed_ : 1 = false;
    bool closing_ : 1 = false;
    bool pullProducer_ : 1 = false;  // a non-streaming producer is registered
    // The handle itself lives in the subclass made for its kind (a uv_pipe_t
    // is 16 bytes larger than a uv_tcp_t): stream_transport.cpp.
};

}  // namespace twine::detail
