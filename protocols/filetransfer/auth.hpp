#pragma once

#include <string>
#include <string_view>

namespace twine::filetransfer {

/// Shared-secret authentication by HMAC-SHA256 challenge-response: each side
/// sends a fresh random nonce, and each proves it knows the token by a MAC
/// over both nonces, so the token never crosses the wire and a recorded
/// exchange cannot be replayed (PROTOCOL.md, "Authentication").
namespace auth {

/// Bytes in each side's nonce.
inline constexpr std::size_t nonceSize = 32;

/// Fresh random bytes (OpenSSL RAND_bytes).
std::string randomBytes(std::size_t count);
/// A new token to print for the user: 32 random bytes in hex.
std::string generateToken();
/// Reads a token file: its first line, trimmed; throws std::runtime_error
/// if it cannot be read or the token is empty.
std::string readTokenFile(const std::string& path);

/// The client's proof: HMAC(token, "twine-ft client" | serverNonce | clientNonce).
std::string clientProof(std::string_view token, std::string_view serverNonce,
                        std::string_view clientNonce);
/// The server's proof, with a different label so one cannot stand for the other.
std::string serverProof(std::string_view token, std::string_view serverNonce,
                        std::string_view clientNonce);

/// Compares in constant time (CRYPTO_memcmp).
bool equal(std::string_view a, std::string_view b);

}  // namespace auth
}  // namespace twine::filetransfer
