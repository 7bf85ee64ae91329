#pragma once

#include <twine/core/address.hpp>
#include <twine/core/consumer.hpp>
#include <twine/core/producer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>

namespace twine {

class Protocol;
class TLSOptions;

/// A connection as a Protocol sees it, as Twisted's ITransport. As a Producer
/// it pauses and resumes reading, so it can itself be registered with another
/// consumer (a proxy pausing the side that reads too fast).
class Transport : public Consumer, public Producer {
public:
    using Consumer::write;          ///< Every Consumer::write overload.
    using Consumer::writeSequence;  ///< Every Consumer::writeSequence overload.

    /// Flushes everything queued, then closes: connectionLost(ConnectionDone).
    virtual void loseConnection() = 0;
    /// Closes now, dropping queued data: connectionLost(ConnectionAborted).
    virtual void abortConnection() = 0;
    /// Half-close: flushes, then shuts down the write side only.
    virtual void loseWriteConnection() = 0;
    /// True once loseConnection or abortConnection has been called.
    virtual bool disconnecting() const = 0;

    /// The other end's address (behind a PROXY header, the client's). Read
    /// lazily: a peer that reset before anyone asked may be Family::none.
    virtual Address getPeer() const = 0;
    /// Our end's address (behind a PROXY header, the one the client connected to).
    virtual Address getHost() const = 0;

    /// Bytes written but not yet handed to the kernel.
    virtual std::size_t bufferSize() const = 0;
    /// Where a registered streaming producer is paused (above high) and
    /// resumed (at or below low). Default 64 KiB and 16 KiB.
    virtual void setWriteBufferWaterMarks(std::size_t high, std::size_t low) {
        (void)high;
        (void)low;
    }

    /// TCP options; return false where they do not apply (Unix sockets, tests).
    virtual bool setTcpNoDelay(bool enabled) {
        (void)enabled;
        return false;
    }
    /// Keepalive probes after `idle` seconds of silence; false where it does not apply.
    virtual bool setTcpKeepAlive(bool enabled,
                                 std::chrono::seconds idle = std::chrono::seconds(60)) {
        (void)enabled;
        (void)idle;
        return false;
    }

    /// The OS socket under this connection, or -1 where bytes must go through
    /// write() (TLS, test transports). A file sender uses it for sendfile,
    /// only while nothing is queued and nothing else writes.
    virtual int fileDescriptor() const { return -1; }

    /// Starts TLS on this live connection (STARTTLS). Data written before the
    /// handshake completes is sent after it. Defined by the TLS part.
    virtual void startTLS(const TLSOptions& options);

    /// For layering (TLS): hands out the protocol this transport owns and
    /// installs `replacement` in its place, without connectionMade. Transports
    /// that do not own their protocol return nullptr and change nothing.
    virtual std::unique_ptr<Protocol> exchangeProtocol(std::unique_ptr<Protocol> replacement);

    /// As a Producer: pauseProducing / resumeProducing stop and restart
    /// reading; stopProducing loses the connection.
    void stopProducing() override { loseConnection(); }
};

}  // namespace twine
