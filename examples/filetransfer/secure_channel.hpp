#pragma once

#include <twine/core/reactor.hpp>
#include <twine/transports/endpoints.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace twine_ft {

/// How twine-ft protects a tcp: or unix: endpoint (PROTOCOL.md, "Security"):
/// by default TLS 1.3 keyed by the token (HKDF, psk_dhe_ke); plain text only
/// when asked. Certificate endpoints (ssl:, tls:) are used as given.
enum class Channel { preSharedKey, plaintext };

/// The server endpoint for `description`, wrapped in token-keyed TLS unless
/// `channel` is plaintext or the endpoint has TLS of its own. Throws
/// std::invalid_argument for a malformed description.
std::unique_ptr<twine::ServerEndpoint> serverEndpoint(twine::Reactor& reactor,
                                                      std::string_view description,
                                                      const std::string& token, Channel channel);

/// For a ReactorPool worker serving `description` (the pool listens; this
/// worker serves what it is handed): `factory`, behind token-keyed TLS
/// wherever serverEndpoint would add it. Throws std::invalid_argument for a
/// malformed description.
std::shared_ptr<twine::Factory> servingFactory(twine::Reactor& reactor,
                                               std::string_view description,
                                               std::shared_ptr<twine::Factory> factory,
                                               const std::string& token, Channel channel);

/// The client side of the same.
std::unique_ptr<twine::ClientEndpoint> clientEndpoint(twine::Reactor& reactor,
                                                      std::string_view description,
                                                      const std::string& token, Channel channel);

/// The warning printed (on stderr) by both ends in plaintext mode.
void warnPlaintext();

/// A user's explanation of a failed connection or handshake: a wrong token,
/// or one end in plaintext mode, said plainly; other reasons unchanged.
std::string explainConnectFailure(const std::string& reason, Channel channel);

}  // namespace twine_ft
