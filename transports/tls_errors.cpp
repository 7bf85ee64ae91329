#include <twine/transports/tls_errors.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace twine::detail {

std::string takeOpenSSLErrors() {
    std::string text;
    while (unsigned long code = ERR_get_error()) {
        const char* reason = ERR_reason_error_string(code);
        if (!text.empty()) text += "; ";
        text += reason != nullptr ? reason : "error " + std::to_string(code);
    }
    return text;
}

namespace {

// What a user should read after OpenSSL's terse reason, when it has a likely cause.
std::string hint(const std::string& reason) {
    if (reason.find("wrong version number") != std::string::npos ||
        reason.find("http request") != std::string::npos ||
        reason.find("packet length too long") != std::string::npos ||
        reason.find("record layer failure") != std::string::npos) {
        return " (the peer does not seem to speak TLS)";
    }
    if (reason.find("binder does not verify") != std::string::npos) {
        return " (the peer holds a different pre-shared key)";
    }
    if (reason.find("unknown ca") != std::string::npos) {
        return " (the peer does not trust our certificate's CA)";
    }
    return "";
}

}  // namespace

std::string describeTLSFailure(ssl_st* ssl, int sslError) {
    // A pre-shared-key handshake checks no certificate (and OpenSSL leaves
    // its session's verify result "unspecified").
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK && (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) != 0 &&
        SSL_session_reused(ssl) == 0) {
        ERR_clear_error();
        return std::string("certificate verification failed: ") +
               X509_verify_cert_error_string(verify);
    }
    std::string reason = takeOpenSSLErrors();
    if (reason.empty()) {
        if (sslError == SSL_ERROR_SYSCALL) return "the connection failed during TLS";
        return "TLS protocol error " + std::to_string(sslError);
    }
    return reason + hint(reason);
}

}  // namespace twine::detail
