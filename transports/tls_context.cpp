#include <twine/core/address.hpp>
#include <twine/core/error.hpp>
#include <twine/transports/tls_context.hpp>
#include <twine/transports/tls_errors.hpp>
#include <twine/transports/tls_options.hpp>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <memory>

namespace twine::detail {
namespace {

// TLS 1.2 suites: forward secrecy and AEAD only. TLS 1.3 suites are all AEAD.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Every twine context's session id context; a PSK session carries it too.
constexpr unsigned char kSessionContext[] = "twine";

[[noreturn]] void fail(const std::string& what) {
    std::string reason = takeOpenSSLErrors();
    throw TLSError("TLS configuration: " + what + (reason.empty() ? "" : ": " + reason));
}

int protocolVersion(TLSVersion version) {
    return version == TLSVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

std::string alpnWireFormat(const std::vector<std::string>& protocols) {
    std::string wire;
    for (const std::string& name : protocols) {
        if (name.empty() || name.size() > 255) {
            throw TLSError("TLS configuration: ALPN protocol names must be 1 to 255 bytes");
        }
        wire += static_cast<char>(name.size());
        wire += name;
    }
    return wire;
}

// The server picks the first of its own preferences the client offers; with
// no overlap the handshake goes on without ALPN, as most servers do.
int selectAlpn(SSL*, const unsigned char** out, unsigned char* outLength,
               const unsigned char* offered, unsigned offeredLength, void* arg) {
    const auto* context = static_cast<const TLSContext*>(arg);
    const std::string& wire = context->alpnWire();
    unsigned char* chosen = nullptr;
    const int result = SSL_select_next_proto(
        &chosen, outLength, reinterpret_cast<const unsigned char*>(wire.data()),
        static_cast<unsigned>(wire.size()), offered, offeredLength);
    if (result != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

void applyDefaults(SSL_CTX* context, const TLSOptions& options) {
    if (SSL_CTX_set_min_proto_version(context, protocolVersion(options.minimum())) != 1 ||
        SSL_CTX_set_max_proto_version(context, protocolVersion(options.maximum())) != 1) {
        fail("cannot set the protocol versions");
    }
    uint64_t flags = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION;
    if (options.isServer()) flags |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    if (!options.tickets()) flags |= SSL_OP_NO_TICKET;
    SSL_CTX_set_options(context, flags);
    if (!options.tickets()) SSL_CTX_set_num_tickets(context, 0);
    if (SSL_CTX_set_cipher_list(context, kTls12Ciphers) != 1) fail("cannot set the cipher list");
    // Our output buffer never blocks, but a large write may be retried in parts.
    SSL_CTX_set_mode(context, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_id_context(context, kSessionContext, sizeof kSessionContext - 1);
}

void loadIdentity(SSL_CTX* context, const TLSOptions& options) {
    if (options.certificateFile().empty()) {
        if (options.isServer() && !options.hasPreSharedKey()) {
            throw TLSError("TLS configuration: a server needs a certificate or a pre-shared key");
        }
        return;
    }
    if (SSL_CTX_use_certificate_chain_file(context, options.certificateFile().c_str()) != 1) {
        fail("cannot load the certificate chain " + options.certificateFile());
    }
    if (SSL_CTX_use_PrivateKey_file(context, options.privateKeyFile().c_str(), SSL_FILETYPE_PEM) !=
        1) {
        std::string reason = takeOpenSSLErrors();
        if (reason.find("mismatch") != std::string::npos) {
            throw TLSError("TLS configuration: the private key " + options.privateKeyFile() +
                           " does not match the certificate " + options.certificateFile());
        }
        throw TLSError("TLS configuration: cannot load the private key " +
                       options.privateKeyFile() + (reason.empty() ? "" : ": " + reason));
    }
    if (SSL_CTX_check_private_key(context) != 1) {
        fail("the private key " + options.privateKeyFile() + " does not match the certificate");
    }
}

void loadTrust(SSL_CTX* context, const TLSOptions& options) {
    if (!options.verifyPeer()) {
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
        return;
    }
    if (!options.caFile().empty()) {
        if (SSL_CTX_load_verify_locations(context, options.caFile().c_str(), nullptr) != 1) {
            fail("cannot load the CA certificates " + options.caFile());
        }
    } else if (options.isServer()) {
        throw TLSError("TLS configuration: client certificates need a CA file");
    } else if (SSL_CTX_set_default_verify_paths(context) != 1) {
        fail("cannot load the system trust store");
    }
    int mode = SSL_VERIFY_PEER;
    if (options.isServer()) {
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        // Tell clients which CAs we accept, so they pick the right certificate.
        if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.caFile().c_str())) {
            SSL_CTX_set_client_CA_list(context, names);
        }
    }
    SSL_CTX_set_verify(context, mode, nullptr);
}

// --- TLS 1.3 external pre-shared keys ------------------------------------

// Suites whose hash is SHA-256, the hash the key is bound to: a server
// preferring a SHA-384 suite would otherwise ignore the key.
constexpr const char* kPskSuites = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";
constexpr unsigned char kAes128GcmSha256[] = {0x13, 0x01};

const TLSContext& contextOf(SSL* ssl) {
    return *static_cast<const TLSContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
}

// A fresh session holding the key, for OpenSSL to take ownership of: the
// "resumption" secret of RFC 8446's external PSK, with no early data allowed.
SSL_SESSION* pskSession(SSL* ssl, const std::string& key) {
    const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, kAes128GcmSha256);
    SSL_SESSION* session = SSL_SESSION_new();
    if (cipher == nullptr || session == nullptr ||
        SSL_SESSION_set1_master_key(session, reinterpret_cast<const unsigned char*>(key.data()),
                                    key.size()) != 1 ||
        SSL_SESSION_set_cipher(session, cipher) != 1 ||
        SSL_SESSION_set_protocol_version(session, TLS1_3_VERSION) != 1 ||
        SSL_SESSION_set_max_early_data(session, 0) != 1 ||
        // The context every twine SSL_CTX sets (a session from another is refused).
        SSL_SESSION_set1_id_context(session, kSessionContext, sizeof kSessionContext - 1) != 1) {
        SSL_SESSION_free(session);
        return nullptr;
    }
    return session;
}

// Client: offer our key (OpenSSL asks again with the chosen suite's hash
// after a HelloRetryRequest; the key only fits SHA-256).
int usePskSession(SSL* ssl, const EVP_MD* md, const unsigned char** id, std::size_t* idLength,
                  SSL_SESSION** session) {
    *id = nullptr;
    *idLength = 0;
    *session = nullptr;
    if (md != nullptr && EVP_MD_get_type(md) != NID_sha256) return 1;
    const TLSContext& context = contextOf(ssl);
    SSL_SESSION* made = pskSession(ssl, context.pskKey());
    if (made == nullptr) return 0;
    *session = made;
    *id = reinterpret_cast<const unsigned char*>(context.pskIdentity().data());
    *idLength = context.pskIdentity().size();
    return 1;
}

// Server: the key for the identity the client names, if it is ours. An
// unknown identity (or a client offering none) finds no key; with no
// certificate either, that handshake fails.
int findPskSession(SSL* ssl, const unsigned char* identity, std::size_t identityLength,
                   SSL_SESSION** session) {
    *session = nullptr;
    const TLSContext& context = contextOf(ssl);
    const std::string& ours = context.pskIdentity();
    if (identityLength != ours.size() ||
        CRYPTO_memcmp(identity, ours.data(), identityLength) != 0) {
        return 1;
    }
    SSL_SESSION* made = pskSession(ssl, context.pskKey());
    if (made == nullptr) return 0;
    *session = made;
    return 1;
}

// A PSK client never settles for a certificate instead: a server that does
// not know the key could present any.
int refuseCertificate(int, X509_STORE_CTX* store) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
}

void applyPreSharedKey(SSL_CTX* context, const TLSOptions& options) {
    if (!options.hasPreSharedKey()) return;
    if (options.pskKey().size() < 16) {
        throw TLSError("TLS configuration: a pre-shared key needs at least 16 bytes");
    }
    if (options.pskIdentity().empty()) {
        throw TLSError("TLS configuration: a pre-shared key needs an identity");
    }
    if (SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(context, TLS1_3_VERSION) != 1) {
        fail("cannot require TLS 1.3 for a pre-shared key");
    }
    if (SSL_CTX_set_ciphersuites(context, kPskSuites) != 1) fail("cannot set the PSK suites");
    // psk_dhe_ke only: OpenSSL offers and accepts psk_ke (no forward secrecy)
    // only with this option, which must stay off.
    SSL_CTX_clear_options(context, SSL_OP_ALLOW_NO_DHE_KEX);
    // No 0-RTT: early data could be replayed.
    SSL_CTX_set_max_early_data(context, 0);
    SSL_CTX_set_recv_max_early_data(context, 0);
    if (options.isServer()) {
        SSL_CTX_set_psk_find_session_callback(context, findPskSession);
    } else {
        SSL_CTX_set_psk_use_session_callback(context, usePskSession);
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, refuseCertificate);
    }
}

}  // namespace

std::shared_ptr<TLSContext> TLSContext::create(const TLSOptions& options) {
    ERR_clear_error();
    std::string alpnWire = alpnWireFormat(options.alpnProtocols());
    SSL_CTX* raw = SSL_CTX_new(TLS_method());
    if (raw == nullptr) fail("cannot create an SSL context");
    // Owned at once, so every throw below frees it.
    std::shared_ptr<TLSContext> context(new TLSContext(raw, options, std::move(alpnWire)));
    applyDefaults(raw, options);
    SSL_CTX_set_app_data(raw, context.get());
    loadIdentity(raw, options);
    loadTrust(raw, options);
    applyPreSharedKey(raw, options);
    if (!context->alpnWire_.empty()) {
        if (options.isServer()) {
            SSL_CTX_set_alpn_select_cb(raw, selectAlpn, context.get());
        } else if (SSL_CTX_set_alpn_protos(
                       raw, reinterpret_cast<const unsigned char*>(context->alpnWire_.data()),
                       static_cast<unsigned>(context->alpnWire_.size())) != 0) {
            fail("cannot set the ALPN protocols");
        }
    }
    return context;
}

TLSContext::TLSContext(SSL_CTX* context, const TLSOptions& options, std::string alpnWire)
    : context_(context),
      server_(options.isServer()),
      verifyPeer_(options.verifyPeer()),
      alpnWire_(std::move(alpnWire)),
      pskIdentity_(options.pskIdentity()),
      pskKey_(options.pskKey()) {}

TLSContext::~TLSContext() {
    OPENSSL_cleanse(pskKey_.data(), pskKey_.size());
    SSL_CTX_free(context_);
}

SSL* TLSContext::newConnection(const std::string& hostname) const {
    ERR_clear_error();
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(context_), &SSL_free);
    if (!ssl) fail("cannot create a TLS connection");
    if (server_) {
        SSL_set_accept_state(ssl.get());
        return ssl.release();
    }
    SSL_set_connect_state(ssl.get());
    const bool isIp = Address::fromIp(hostname, 0).isIp();
    // SNI carries names only, never IP literals (RFC 6066).
    if (!hostname.empty() && !isIp && SSL_set_tlsext_host_name(ssl.get(), hostname.c_str()) != 1) {
        fail("cannot send the server name " + hostname);
    }
    if (!verifyPeer_) return ssl.release();
    if (hostname.empty()) {
        throw TLSError("TLS configuration: a client needs a host name to verify the server");
    }
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int set = isIp ? X509_VERIFY_PARAM_set1_ip_asc(param, hostname.c_str())
                         : X509_VERIFY_PARAM_set1_host(param, hostname.c_str(), 0);
    if (set != 1) fail("cannot verify the host name " + hostname);
    return ssl.release();
}

}  // namespace twine::detail
