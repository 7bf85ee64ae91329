#pragma once

#include <twine/core/delayed_call.hpp>
#include <twine/core/failure.hpp>
#include <twine/core/protocol.hpp>
#include <twine/core/reactor_time.hpp>
#include <twine/transports/tls_bio.hpp>
#include <twine/transports/tls_transport.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct ssl_st;

namespace twine {

class TLSOptions;

namespace detail {

class TLSContext;

/// Tells a connecting factory how the connection ended and whether the
/// handshake had completed (if not, the attempt failed).
using TLSClosedHook = std::function<void(bool handshakeDone, const Failure& reason)>;

/// TLS over any stream transport, as Twisted's TLSMemoryBIOProtocol: a
/// Protocol on the transport below (which owns it) that owns the user's
/// protocol and is its Transport. Ciphertext in, plaintext up; plaintext
/// down, records out.
///
/// On listenSSL / connectSSL connections the wrapped protocol's
/// connectionMade waits for the handshake, so a protocol only ever sees a
/// verified connection and a refused handshake reaches a client factory as
/// clientConnectionFailed. After startTLS the protocol is already connected:
/// what it writes before the handshake completes is sent after it.
class TLSProtocol final : public Protocol, public TLSTransport {
public:
    using Transport::write;
    using Transport::writeSequence;

    TLSProtocol(std::unique_ptr<Protocol> wrapped, std::shared_ptr<TLSContext> context,
                const std::string& hostname, ReactorTime& time, Duration handshakeTimeout);
    ~TLSProtocol() override;
    TLSProtocol(const TLSProtocol&) = delete;
    TLSProtocol& operator=(const TLSProtocol&) = delete;

    void setClosedHook(TLSClosedHook hook) { closedHook_ = std::move(hook); }
    /// STARTTLS: takes over `wrapped`, already connected, on `lower` (which
    /// now holds this layer) and starts the handshake.
    void startOn(Transport& lower, std::unique_ptr<Protocol> wrapped);

    // Events from the transport below.
    void connectionMade() override;
    void dataReceived(std::string_view data) override;
    void connectionLost(const Failure& reason) override;
    void readConnectionLost() override;
    void writeConnectionLost() override;

    // The wrapped protocol's transport.
    void write(std::string_view data) override;
    void write(std::string&& data) override;
    void writeSequence(std::span<const std::string_view> parts) override;
    void registerProducer(Producer& producer, bool streaming) override;
    void unregisterProducer() override;
    void loseConnection() override;
    void abortConnection() override;
    void loseWriteConnection() override;
    bool disconnecting() const override;
    Address getPeer() const override;
    Address getHost() const override;
    std::size_t bufferSize() const override;
    void setWriteBufferWaterMarks(std::size_t high, std::size_t low) override;
    bool setTcpNoDelay(bool enabled) override;
    bool setTcpKeepAlive(bool enabled, std::chrono::seconds idle) override;
    void startTLS(const TLSOptions& options) override;
    std::unique_ptr<Protocol> exchangeProtocol(std::unique_ptr<Protocol> replacement) override;
    void pauseProducing() override;
    void resumeProducing() override;

    // TLSTransport.
    bool handshakeDone() const override { return handshakeDone_; }
    std::string negotiatedProtocol() const override;
    std::string serverName() const override;
    std::string protocolVersion() const override;
    std::string cipherName() const override;
    std::string peerCertificateSubject() const override;
    std::string keyExchangeGroup() const override;
    bool usedPreSharedKey() const override;
    Transport& underlyingTransport() const override { return transport(); }

private:
    Transport& lower() const { return transport(); }
    void begin();
    void advanceHandshake();
    void onHandshakeDone();
    void attachProducer();
    void readRecords();
    bool deliver(std::string_view plaintext);
    void encrypt(std::string_view plaintext);
    void flushOutput();
    void sendCloseNotify();
    void closeTLS();
    void fail(Failure reason);
    void onDeadline();
    Failure finalReason(const Failure& lowerReason) const;
    void cancelTimers();

    std::unique_ptr<Protocol> wrapped_;
    std::shared_ptr<TLSContext> context_;
    ssl_st* ssl_ = nullptr;
    TLSBuffers buffers_;
    ReactorTime& time_;
    Duration handshakeTimeout_;
    std::optional<DelayedCall> deadline_;
    std::optional<DelayedCall> resumeCall_;
    TLSClosedHook closedHook_;
    Address peer_;
    Address host_;

    // Plaintext written before the handshake completed.
    std::string pending_;
    Producer* producer_ = nullptr;
    bool producerStreaming_ = false;
    bool producerOnLower_ = false;
    bool producerHeld_ = false;  // paused by us until the handshake completes

    std::optional<Failure> failure_;
    bool handshakeDone_ = false;
    bool wrappedConnected_ = false;
    bool disconnecting_ = false;
    bool writeShutdownAsked_ = false;
    bool closeNotifySent_ = false;
    bool closeNotifyReceived_ = false;
    bool aborted_ = false;
    bool lost_ = false;
    bool readPaused_ = false;
};

/// Starts TLS on a live connection: `transport` must own its protocol
/// (Transport::exchangeProtocol). For stream transports' startTLS.
void startTLS(Transport& transport, ReactorTime& time, const TLSOptions& options);

}  // namespace detail
}  // namespace twine
