#include <twine/core/error.hpp>
#include <twine/core/guard.hpp>
#include <twine/core/log.hpp>
#include <twine/transports/tls_context.hpp>
#include <twine/transports/tls_errors.hpp>
#include <twine/transports/tls_options.hpp>
#include <twine/transports/tls_protocol.hpp>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdexcept>
#include <utility>
#include <vector>

namespace twine::detail {
namespace {

constexpr std::size_t kPlaintextChunk = 256 * 1024;

// Decrypted data is gathered from many records into one buffer per thread
// and delivered in one dataReceived, so an idle connection holds none. A
// protocol that feeds another TLS connection from inside dataReceived gets a
// buffer of its own.
class PlaintextBuffer {
public:
    PlaintextBuffer() {
        if (shared().inUse) {
            local_.resize(kPlaintextChunk);
            data_ = local_.data();
        } else {
            shared().inUse = true;
            if (shared().bytes.empty()) shared().bytes.resize(kPlaintextChunk);
            data_ = shared().bytes.data();
            owner_ = true;
        }
    }
    ~PlaintextBuffer() {
        if (owner_) shared().inUse = false;
    }
    PlaintextBuffer(const PlaintextBuffer&) = delete;
    PlaintextBuffer& operator=(const PlaintextBuffer&) = delete;
    char* data() const { return data_; }
    static std::size_t size() { return kPlaintextChunk; }

private:
    struct Shared {
        std::vector<char> bytes;
        bool inUse = false;
    };
    static Shared& shared() {
        thread_local Shared buffer;
        return buffer;
    }
    std::vector<char> local_;
    char* data_ = nullptr;
    bool owner_ = false;
};

std::string seconds(Duration duration) {
    std::string text = std::to_string(duration.count());
    text.erase(text.find_last_not_of('0') + 1);
    if (!text.empty() && text.back() == '.') text.pop_back();
    return text + " s";
}

}  // namespace

TLSProtocol::TLSProtocol(std::unique_ptr<Protocol> wrapped, std::shared_ptr<TLSContext> context,
                         const std::string& hostname, ReactorTime& time, Duration handshakeTimeout)
    : wrapped_(std::move(wrapped)),
      context_(std::move(context)),
      ssl_(context_->newConnection(hostname)),
      time_(time),
      handshakeTimeout_(handshakeTimeout) {
    BIO* bio = newTLSBio(buffers_);
    if (bio == nullptr) {
        SSL_free(ssl_);
        throw TLSError("cannot create the TLS buffers");
    }
    SSL_set_bio(ssl_, bio, bio);  // one BIO both ways: the SSL owns it
}

TLSProtocol::~TLSProtocol() {
    cancelTimers();
    SSL_free(ssl_);
}

void TLSProtocol::cancelTimers() {
    for (auto* call : {&deadline_, &resumeCall_}) {
        if (*call && (*call)->active()) (*call)->cancel();
        call->reset();
    }
}

void TLSProtocol::startOn(Transport& lower, std::unique_ptr<Protocol> wrapped) {
    wrapped_ = std::move(wrapped);
    wrapped_->setTransport(this);
    wrappedConnected_ = true;
    setTransport(&lower);
    begin();
}

void TLSProtocol::connectionMade() {
    begin();
}

void TLSProtocol::begin() {
    peer_ = lower().getPeer();
    host_ = lower().getHost();
    deadline_ = time_.callLater(
        handshakeTimeout_, [this] { guarded("TLS handshake deadline", [this] { onDeadline(); }); });
    if (!context_->isServer()) advanceHandshake();
}

void TLSProtocol::onDeadline() {
    deadline_.reset();
    if (handshakeDone_ || lost_) return;
    fail(TimeoutError("TLS handshake not completed within " + seconds(handshakeTimeout_)));
}

void TLSProtocol::advanceHandshake() {
    ERR_clear_error();
    const int result = SSL_do_handshake(ssl_);
    flushOutput();
    if (result == 1) {
        if (context_->usesPreSharedKey() && !context_->isServer() &&
            SSL_session_reused(ssl_) != 1) {
            // The refusing verify callback makes this unreachable; kept so a
            // change there cannot let a server that lacks the key through.
            fail(TLSError("TLS handshake failed: the server did not use the pre-shared key"));
            return;
        }
        onHandshakeDone();
        return;
    }
    const int error = SSL_get_error(ssl_, result);
    if (error == SSL_ERROR_WANT_READ) return;
    std::string reason = describeTLSFailure(ssl_, error);
    if (context_->usesPreSharedKey() && !context_->isServer()) {
        if (reason.find("application verification failure") != std::string::npos) {
            reason = "the server sent a certificate instead of proving the pre-shared key";
        } else if (reason.find("alert illegal parameter") != std::string::npos ||
                   reason.find("alert decrypt error") != std::string::npos) {
            // What OpenSSL and RFC 8446 servers answer to a binder made with another key.
            reason += " (the server refused our pre-shared key)";
        }
    }
    fail(TLSError("TLS handshake failed: " + reason));
}

void TLSProtocol::onHandshakeDone() {
    handshakeDone_ = true;
    if (deadline_ && deadline_->active()) deadline_->cancel();
    deadline_.reset();
    if (!wrappedConnected_) {
        wrappedConnected_ = true;
        wrapped_->makeConnection(*this);
        if (lost_) return;
    }
    if (!pending_.empty()) {
        std::string early = std::move(pending_);
        pending_.clear();
        encrypt(early);
    }
    attachProducer();
    if (auto* listener = dynamic_cast<TLSHandshakeListener*>(wrapped_.get())) {
        listener->handshakeCompleted();
    }
    if (lost_) return;
    if (disconnecting_ && !aborted_) {
        closeTLS();
    } else if (writeShutdownAsked_) {
        sendCloseNotify();
        lower().loseWriteConnection();
    }
    flushOutput();
}

void TLSProtocol::dataReceived(std::string_view data) {
    if (lost_ || failure_) return;
    buffers_.input = data;
    if (!handshakeDone_) advanceHandshake();
    if (handshakeDone_ && !lost_ && !failure_) readRecords();
    // The reactor reuses its read buffer: keep any partial record.
    buffers_.keepUnread();
    flushOutput();
}

void TLSProtocol::readRecords() {
    PlaintextBuffer buffer;
    while (!lost_ && !failure_ && !readPaused_) {
        std::size_t filled = 0;
        int error = SSL_ERROR_NONE;
        ERR_clear_error();
        while (filled < buffer.size()) {
            std::size_t got = 0;
            const int result =
                SSL_read_ex(ssl_, buffer.data() + filled, buffer.size() - filled, &got);
            if (result != 1) {
                error = SSL_get_error(ssl_, result);
                break;
            }
            filled += got;
        }
        if (filled > 0 && !deliver(std::string_view(buffer.data(), filled))) return;
        if (error == SSL_ERROR_NONE) continue;  // the buffer filled up: there may be more
        if (error == SSL_ERROR_WANT_READ) return;
        if (error == SSL_ERROR_ZERO_RETURN) {
            // close_notify: the peer will send no more (TLS half-close).
            closeNotifyReceived_ = true;
            flushOutput();
            if (wrappedConnected_) wrapped_->readConnectionLost();
            return;
        }
        fail(TLSError("TLS connection failed: " + describeTLSFailure(ssl_, error)));
        return;
    }
}

bool TLSProtocol::deliver(std::string_view plaintext) {
    if (!wrappedConnected_) return false;
    wrapped_->dataReceived(plaintext);
    return !lost_ && !failure_;
}

void TLSProtocol::write(std::string_view data) {
    if (lost_ || closeNotifySent_ || failure_ || data.empty()) return;
    if (!handshakeDone_) {
        pending_.append(data);
        return;
    }
    encrypt(data);
    flushOutput();
}

void TLSProtocol::write(std::string&& data) {
    if (!handshakeDone_ && pending_.empty() && !lost_ && !closeNotifySent_ && !failure_) {
        pending_ = std::move(data);
        return;
    }
    write(std::string_view(data));
}

void TLSProtocol::writeSequence(std::span<const std::string_view> parts) {
    if (lost_ || closeNotifySent_ || failure_) return;
    for (std::string_view part : parts) {
        if (!handshakeDone_) {
            pending_.append(part);
        } else {
            encrypt(part);
        }
    }
    flushOutput();
}

void TLSProtocol::encrypt(std::string_view plaintext) {
    // Room for the records' headers and tags up front: no regrowth while OpenSSL appends.
    buffers_.output.reserve(buffers_.output.size() + plaintext.size() +
                            (plaintext.size() / 16384 + 1) * 64);
    ERR_clear_error();
    while (!plaintext.empty()) {
        std::size_t written = 0;
        const int result = SSL_write_ex(ssl_, plaintext.data(), plaintext.size(), &written);
        if (result != 1) {
            const int error = SSL_get_error(ssl_, result);
            fail(TLSError("TLS write failed: " + describeTLSFailure(ssl_, error)));
            return;
        }
        plaintext.remove_prefix(written);
    }
}

void TLSProtocol::flushOutput() {
    if (buffers_.output.empty() || lost_ || !connected()) return;
    std::string records = std::move(buffers_.output);
    buffers_.output.clear();
    lower().write(std::move(records));
}

void TLSProtocol::registerProducer(Producer& producer, bool streaming) {
    if (producer_ != nullptr) throw std::logic_error("a producer is already registered");
    producer_ = &producer;
    producerStreaming_ = streaming;
    if (handshakeDone_) {
        attachProducer();
    } else if (streaming) {
        // Nothing can be sent before the handshake: hold it back until then.
        producer.pauseProducing();
        producerHeld_ = true;
    }
}

void TLSProtocol::attachProducer() {
    if (producer_ == nullptr || producerOnLower_ || !connected()) return;
    producerOnLower_ = true;
    // Only a producer we paused for the handshake is resumed: one registered
    // after it is producing already (resuming it would run it re-entrantly).
    if (std::exchange(producerHeld_, false)) producer_->resumeProducing();
    // The transport below pauses and resumes it by its own water marks: our
    // records go straight into its buffer.
    if (producer_ != nullptr) lower().registerProducer(*producer_, producerStreaming_);
}

void TLSProtocol::unregisterProducer() {
    if (producer_ == nullptr) return;
    if (producerOnLower_ && connected()) lower().unregisterProducer();
    producer_ = nullptr;
    producerOnLower_ = false;
    producerHeld_ = false;
}

void TLSProtocol::sendCloseNotify() {
    if (closeNotifySent_) return;
    closeNotifySent_ = true;
    ERR_clear_error();
    SSL_shutdown(ssl_);
    ERR_clear_error();
    flushOutput();
}

void TLSProtocol::closeTLS() {
    sendCloseNotify();
    if (connected()) lower().loseConnection();
}

void TLSProtocol::loseConnection() {
    if (disconnecting_ || lost_) return;
    disconnecting_ = true;
    // Before the handshake completes, onHandshakeDone closes (or the deadline does).
    if (handshakeDone_ && !failure_) closeTLS();
}

void TLSProtocol::abortConnection() {
    if (lost_) return;
    aborted_ = true;
    disconnecting_ = true;
    if (connected()) lower().abortConnection();
}

void TLSProtocol::loseWriteConnection() {
    if (writeShutdownAsked_ || lost_) return;
    writeShutdownAsked_ = true;
    if (!handshakeDone_ || failure_) return;
    sendCloseNotify();
    lower().loseWriteConnection();
}

bool TLSProtocol::disconnecting() const {
    return disconnecting_ || (connected() && lower().disconnecting());
}

void TLSProtocol::fail(Failure reason) {
    if (failure_ || lost_) return;
    failure_ = std::move(reason);
    // Send the alert OpenSSL queued, then close.
    flushOutput();
    if (connected()) lower().loseConnection();
}

void TLSProtocol::readConnectionLost() {
    if (closeNotifyReceived_ || lost_) return;  // the protocol has been told already
    if (!failure_ && !closeNotifySent_) {
        if (!handshakeDone_) {
            failure_ = TLSError("the peer closed the connection during the TLS handshake");
        } else {
            failure_ = ConnectionLost(
                "the peer closed the TLS connection without close_notify (truncation)");
        }
    }
    if (connected()) lower().loseConnection();
}

void TLSProtocol::writeConnectionLost() {
    if (wrappedConnected_ && !lost_) wrapped_->writeConnectionLost();
}

Failure TLSProtocol::finalReason(const Failure& lowerReason) const {
    if (failure_) return *failure_;
    if (aborted_) return lowerReason;
    if (!handshakeDone_) {
        return TLSError("the connection closed during the TLS handshake: " + lowerReason.what());
    }
    if (lowerReason.check<ConnectionDone>() && !closeNotifyReceived_ && !closeNotifySent_) {
        return ConnectionLost(
            "the peer closed the TLS connection without close_notify (truncation)");
    }
    return lowerReason;
}

void TLSProtocol::connectionLost(const Failure& reason) {
    if (lost_) return;
    const Failure final = finalReason(reason);
    lost_ = true;
    cancelTimers();
    producer_ = nullptr;
    producerOnLower_ = false;
    if (context_->isServer() && !handshakeDone_) {
        log::warn("TLS connection from " + peer_.toString() + " refused: " + final.what());
    }
    if (wrappedConnected_) {
        guarded("TLS connectionLost", [&] { wrapped_->connectionLost(final); });
        wrapped_->setTransport(nullptr);
    }
    if (closedHook_) closedHook_(handshakeDone_, final);
}

void TLSProtocol::pauseProducing() {
    readPaused_ = true;
    if (connected()) lower().pauseProducing();
}

void TLSProtocol::resumeProducing() {
    readPaused_ = false;
    if (lost_ || !connected()) return;
    lower().resumeProducing();
    // Records that arrived while paused are still undecrypted: deliver them
    // from the loop, not from inside the caller.
    if ((buffers_.unread() > 0 || SSL_pending(ssl_) > 0) &&
        !(resumeCall_ && resumeCall_->active())) {
        resumeCall_ = time_.callLater(
            Duration(0), [this] { guarded("TLS resume", [this] { dataReceived({}); }); });
    }
}

Address TLSProtocol::getPeer() const {
    return connected() ? lower().getPeer() : peer_;
}

Address TLSProtocol::getHost() const {
    return connected() ? lower().getHost() : host_;
}

std::size_t TLSProtocol::bufferSize() const {
    return pending_.size() + buffers_.output.size() + (connected() ? lower().bufferSize() : 0);
}

void TLSProtocol::setWriteBufferWaterMarks(std::size_t high, std::size_t low) {
    if (connected()) lower().setWriteBufferWaterMarks(high, low);
}

bool TLSProtocol::setTcpNoDelay(bool enabled) {
    return connected() && lower().setTcpNoDelay(enabled);
}

bool TLSProtocol::setTcpKeepAlive(bool enabled, std::chrono::seconds idle) {
    return connected() && lower().setTcpKeepAlive(enabled, idle);
}

void TLSProtocol::startTLS(const TLSOptions&) {
    throw TLSError("TLS is already running on this connection");
}

std::unique_ptr<Protocol> TLSProtocol::exchangeProtocol(std::unique_ptr<Protocol> replacement) {
    std::unique_ptr<Protocol> previous = std::move(wrapped_);
    wrapped_ = std::move(replacement);
    if (wrapped_) wrapped_->setTransport(this);
    return previous;
}

std::string TLSProtocol::negotiatedProtocol() const {
    const unsigned char* name = nullptr;
    unsigned length = 0;
    SSL_get0_alpn_selected(ssl_, &name, &length);
    return name != nullptr ? std::string(reinterpret_cast<const char*>(name), length) : "";
}

std::string TLSProtocol::serverName() const {
    const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
    return name != nullptr ? name : "";
}

std::string TLSProtocol::protocolVersion() const {
    return SSL_get_version(ssl_);
}

std::string TLSProtocol::cipherName() const {
    const char* name = SSL_get_cipher_name(ssl_);
    return name != nullptr ? name : "";
}

std::string TLSProtocol::keyExchangeGroup() const {
    const int group = SSL_get_negotiated_group(ssl_);
    if (group == 0) return "";
    const char* name = OBJ_nid2sn(group & ~TLSEXT_nid_unknown);
    return name != nullptr ? name : "group " + std::to_string(group);
}

bool TLSProtocol::usedPreSharedKey() const {
    return handshakeDone_ && SSL_session_reused(ssl_) == 1;
}

std::string TLSProtocol::peerCertificateSubject() const {
    X509* certificate = SSL_get0_peer_certificate(ssl_);
    if (certificate == nullptr) return "";
    std::unique_ptr<BIO, decltype(&BIO_free)> text(BIO_new(BIO_s_mem()), &BIO_free);
    if (!text) return "";
    X509_NAME_print_ex(text.get(), X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long size = BIO_get_mem_data(text.get(), &data);
    return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : "";
}

void startTLS(Transport& transport, ReactorTime& time, const TLSOptions& options) {
    std::string hostname = options.hostname();
    if (!options.isServer() && hostname.empty()) {
        // Verify the address we connected to, as a browser does for an IP URL.
        const Address peer = transport.getPeer();
        if (peer.isIp()) hostname = peer.host();
    }
    auto layer = std::make_unique<TLSProtocol>(nullptr, options.context(), hostname, time,
                                               options.handshakeDeadline());
    TLSProtocol& tls = *layer;
    std::unique_ptr<Protocol> wrapped = transport.exchangeProtocol(std::move(layer));
    if (!wrapped) throw TLSError("this transport cannot start TLS (it does not own its protocol)");
    tls.startOn(transport, std::move(wrapped));
}

}  // namespace twine::detail
