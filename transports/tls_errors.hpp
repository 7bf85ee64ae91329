#pragma once

#include <string>

struct ssl_st;

namespace twine::detail {

/// Drains OpenSSL's error queue for this thread into one readable line
/// ("wrong version number; ..."), or "" if it was empty.
std::string takeOpenSSLErrors();

/// Why a handshake or record operation failed, in words a user can act on:
/// the certificate check that failed (from X509_verify_cert_error_string),
/// the alert the peer sent, or a peer that does not speak TLS.
std::string describeTLSFailure(ssl_st* ssl, int sslError);

}  // namespace twine::detail
