#pragma once

#include <twine/core/reactor_time.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace twine {

namespace detail {
class TLSContext;
}

/// A TLS protocol version, for TLSOptions::minimumVersion and maximumVersion.
enum class TLSVersion { tls1_2, tls1_3 };

/// How one side of a TLS connection behaves, for listenSSL, connectSSL and
/// startTLS. The defaults are the secure ones: a client verifies the server's
/// chain against the system trust store and checks the host name (or IP);
/// TLS 1.2 is the minimum; renegotiation and compression are refused; TLS
/// 1.2 uses only ECDHE AEAD suites; session tickets are off.
///
///     auto server = TLSOptions::server("chain.pem", "key.pem").alpn({"h2", "http/1.1"});
///     auto client = TLSOptions::client("example.org").trustRoots("ca.pem");
///
/// Copies share the OpenSSL context built from them; a setter on a copy
/// gives that copy a fresh one.
class TLSOptions {
public:
    /// Client options; `hostname` is sent as SNI and verified against the
    /// certificate. connectSSL fills it from its host when left empty;
    /// startTLS from the peer's IP address.
    static TLSOptions client(std::string hostname = {});
    /// Server options: a PEM certificate chain (leaf first) and its key.
    static TLSOptions server(std::string certificateChainFile, std::string privateKeyFile);
    /// Server options authenticated by a TLS 1.3 external pre-shared key
    /// alone: no certificate. See preSharedKey().
    static TLSOptions pskServer(std::string identity, std::string key);
    /// Client options authenticated by a pre-shared key alone: the server
    /// proves it holds the key, no certificate is asked for or accepted.
    static TLSOptions pskClient(std::string identity, std::string key);

    /// Client: trust only the CA certificates in this PEM file instead of
    /// the system store.
    TLSOptions& trustRoots(std::string caFile);
    /// Client: present this certificate (mutual TLS).
    TLSOptions& clientCertificate(std::string certificateFile, std::string privateKeyFile);
    /// Server: require a client certificate signed by a CA in this file.
    TLSOptions& requireClientCertificate(std::string caFile);
    /// Client: turns certificate and host name checks off. For tests only.
    TLSOptions& insecureSkipVerify(bool skip = true);
    /// ALPN protocols, most preferred first (the server's order wins).
    TLSOptions& alpn(std::vector<std::string> protocols);
    /// Client: the name sent as SNI and verified (per connection: the
    /// context is kept).
    TLSOptions& hostname(std::string name);
    /// The oldest version accepted; TLS 1.2 by default.
    TLSOptions& minimumVersion(TLSVersion version);
    /// The newest version offered; TLS 1.3 by default.
    TLSOptions& maximumVersion(TLSVersion version);
    /// TLS 1.3 external pre-shared key (RFC 8446 section 2.2): both ends
    /// hold `key` (at least 16 bytes, e.g. from HKDF) under the name
    /// `identity`. The handshake always adds an ephemeral (EC)DHE key share
    /// (psk_dhe_ke), so recorded traffic stays secret if the key later
    /// leaks; it forces TLS 1.3, a SHA-256 suite (AES-128-GCM first) and no
    /// early data. A client with a key accepts no certificate-only server; a
    /// peer with another key fails the handshake with TLSError.
    TLSOptions& preSharedKey(std::string identity, std::string key);
    /// Session tickets (resumption); off by default.
    TLSOptions& sessionTickets(bool enabled);
    /// A handshake not complete this long after the connection is cut with
    /// TimeoutError. Default 30 s.
    TLSOptions& handshakeTimeout(Duration timeout);

    // What was set, for the TLS layer and for describing endpoints.

    /// Made by server() or pskServer().
    bool isServer() const { return server_; }
    /// The client's SNI and verified name; "" if not set.
    const std::string& hostname() const { return hostname_; }
    /// The trustRoots (client) or requireClientCertificate (server) file; "" if none.
    const std::string& caFile() const { return caFile_; }
    /// The certificate chain file presented; "" if none.
    const std::string& certificateFile() const { return certificateFile_; }
    /// Its private key file.
    const std::string& privateKeyFile() const { return privateKeyFile_; }
    /// False after insecureSkipVerify().
    bool verifyPeer() const { return verifyPeer_; }
    /// The ALPN list, most preferred first.
    const std::vector<std::string>& alpnProtocols() const { return alpn_; }
    /// The minimum version.
    TLSVersion minimum() const { return minimum_; }
    /// The maximum version.
    TLSVersion maximum() const { return maximum_; }
    /// Whether session tickets are on.
    bool tickets() const { return tickets_; }
    /// Whether a pre-shared key is set.
    bool hasPreSharedKey() const { return !pskKey_.empty(); }
    /// The pre-shared key's identity.
    const std::string& pskIdentity() const { return pskIdentity_; }
    /// The pre-shared key itself (secret).
    const std::string& pskKey() const { return pskKey_; }
    /// The handshake timeout.
    Duration handshakeDeadline() const { return handshakeTimeout_; }

    /// The OpenSSL context for these options, built on first use. Throws
    /// TLSError naming the file or setting that is wrong.
    std::shared_ptr<detail::TLSContext> context() const;

private:
    TLSOptions& changed();

    bool server_ = false;
    std::string hostname_;
    std::string caFile_;
    std::string certificateFile_;
    std::string privateKeyFile_;
    bool verifyPeer_ = true;
    std::vector<std::string> alpn_;
    TLSVersion minimum_ = TLSVersion::tls1_2;
    TLSVersion maximum_ = TLSVersion::tls1_3;
    bool tickets_ = false;
    std::string pskIdentity_;
    std::string pskKey_;
    Duration handshakeTimeout_ = std::chrono::seconds(30);
    mutable std::shared_ptr<detail::TLSContext> context_;
};

}  // namespace twine
