#pragma once

#include <memory>
#include <string>

struct ssl_ctx_st;
struct ssl_st;

namespace twine {

class TLSOptions;

namespace detail {

/// An OpenSSL SSL_CTX built from TLSOptions, shared by every connection made
/// with those options.
class TLSContext {
public:
    /// Throws TLSError naming the file or setting OpenSSL refused.
    static std::shared_ptr<TLSContext> create(const TLSOptions& options);
    ~TLSContext();
    TLSContext(const TLSContext&) = delete;
    TLSContext& operator=(const TLSContext&) = delete;

    /// A new connection's SSL object, in client or server mode, with SNI and
    /// host name (or IP) verification set for `hostname` on a client.
    /// Throws TLSError.
    ssl_st* newConnection(const std::string& hostname) const;

    bool isServer() const { return server_; }
    bool verifiesPeer() const { return verifyPeer_; }
    /// ALPN preferences in wire format (length-prefixed names).
    const std::string& alpnWire() const { return alpnWire_; }
    /// The TLS 1.3 external pre-shared key; empty key if none.
    bool usesPreSharedKey() const { return !pskKey_.empty(); }
    const std::string& pskIdentity() const { return pskIdentity_; }
    const std::string& pskKey() const { return pskKey_; }

private:
    TLSContext(ssl_ctx_st* context, const TLSOptions& options, std::string alpnWire);

    ssl_ctx_st* context_;
    bool server_;
    bool verifyPeer_;
    std::string alpnWire_;
    std::string pskIdentity_;
    std::string pskKey_;
};

}  // namespace detail
}  // namespace twine
