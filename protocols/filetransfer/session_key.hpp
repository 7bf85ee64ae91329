#pragma once

#include <string>
#include <string_view>

namespace twine::filetransfer {

/// The TLS 1.3 external pre-shared key a twine-ft session runs under, made
/// from the token alone (PROTOCOL.md, "Security"). Both ends derive the same
/// key; the token itself never reaches TLS or the wire.
struct SessionKey {
    /// The PSK identity both ends name: a fixed label, so a wrong token is
    /// a key that fails the handshake's binder check (a clear "wrong key"),
    /// not an unknown identity. It says nothing about the token.
    static constexpr std::string_view identity = "twine-ft/2 token";
    /// Key bytes: HKDF-SHA256 (RFC 5869) of the token.
    static constexpr std::size_t size = 32;

    /// HKDF-SHA256(salt = "twine-ft v2 psk salt", IKM = token,
    /// info = "twine-ft v2 tls13 external psk", 32 bytes), with OpenSSL's
    /// EVP_KDF "HKDF". Throws std::invalid_argument for an empty token and
    /// std::runtime_error if OpenSSL fails.
    static std::string derive(std::string_view token);
};

}  // namespace twine::filetransfer
