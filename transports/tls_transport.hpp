#pragma once

#include <twine/core/transport.hpp>

#include <string>

namespace twine {

/// The transport a protocol sees on a TLS connection (listenSSL, connectSSL,
/// or after startTLS). Reach it with tlsTransport(transport()).
class TLSTransport : public Transport {
public:
    /// True once the handshake has completed.
    virtual bool handshakeDone() const = 0;
    /// The ALPN protocol agreed on, "" if none. Valid after the handshake.
    virtual std::string negotiatedProtocol() const = 0;
    /// The host name the client asked for (SNI), "" if none.
    virtual std::string serverName() const = 0;
    /// "TLSv1.3", "TLSv1.2".
    virtual std::string protocolVersion() const = 0;
    /// The cipher suite agreed on, in OpenSSL's naming ("TLS_AES_128_GCM_SHA256").
    virtual std::string cipherName() const = 0;
    /// The peer certificate's subject ("CN=client,O=twine"), "" if none.
    virtual std::string peerCertificateSubject() const = 0;
    /// The ephemeral key exchange's group ("X25519", "prime256v1"), "" if
    /// the handshake had none.
    virtual std::string keyExchangeGroup() const = 0;
    /// True if the handshake was authenticated by a pre-shared key
    /// (TLSOptions::preSharedKey) rather than by certificates.
    virtual bool usedPreSharedKey() const = 0;
    /// The transport the TLS records travel on.
    virtual Transport& underlyingTransport() const = 0;
};

/// The TLS view of a transport, or nullptr if it does not carry TLS.
inline TLSTransport* tlsTransport(Transport& transport) {
    return dynamic_cast<TLSTransport*>(&transport);
}

/// A Protocol that also derives from this is told when the handshake has
/// completed (after connectionMade on listenSSL / connectSSL connections,
/// whose connectionMade waits for the handshake; on a startTLS connection,
/// when the connection becomes encrypted).
class TLSHandshakeListener {
public:
    virtual ~TLSHandshakeListener() = default;
    /// The handshake has completed: the TLSTransport's queries are valid.
    virtual void handshakeCompleted() = 0;
};

}  // namespace twine
