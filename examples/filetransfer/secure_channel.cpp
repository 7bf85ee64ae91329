#include "secure_channel.hpp"

#include <twine/protocols/filetransfer/session_key.hpp>
#include <twine/transports/tls_options.hpp>

#include <cstdio>

namespace twine_ft {
namespace {

namespace ft = twine::filetransfer;

bool contains(const std::string& text, const char* needle) {
    return text.find(needle) != std::string::npos;
}

}  // namespace

std::unique_ptr<twine::ServerEndpoint> serverEndpoint(twine::Reactor& reactor,
                                                      std::string_view description,
                                                      const std::string& token, Channel channel) {
    auto endpoint = twine::serverFromString(reactor, description);
    const bool stream = dynamic_cast<twine::TCPServerEndpoint*>(endpoint.get()) != nullptr ||
                        dynamic_cast<twine::UNIXServerEndpoint*>(endpoint.get()) != nullptr;
    if (!stream || channel == Channel::plaintext) return endpoint;
    return twine::wrapServerTLS(reactor, std::move(endpoint),
                                twine::TLSOptions::pskServer(std::string(ft::SessionKey::identity),
                                                             ft::SessionKey::derive(token)));
}

std::unique_ptr<twine::ClientEndpoint> clientEndpoint(twine::Reactor& reactor,
                                                      std::string_view description,
                                                      const std::string& token, Channel channel) {
    auto endpoint = twine::clientFromString(reactor, description);
    const bool stream = dynamic_cast<twine::TCPClientEndpoint*>(endpoint.get()) != nullptr ||
                        dynamic_cast<twine::UNIXClientEndpoint*>(endpoint.get()) != nullptr;
    if (!stream || channel == Channel::plaintext) return endpoint;
    return twine::wrapClientTLS(std::move(endpoint),
                                twine::TLSOptions::pskClient(std::string(ft::SessionKey::identity),
                                                             ft::SessionKey::derive(token)));
}

void warnPlaintext() {
    std::fprintf(stderr,
                 "twine-ft: warning: --insecure-plaintext: file contents and names cross the "
                 "network unencrypted and unauthenticated; anyone on the path can read or "
                 "change them\n");
}

std::string explainConnectFailure(const std::string& reason, Channel channel) {
    if (channel == Channel::preSharedKey) {
        if (contains(reason, "refused our pre-shared key")) {
            return "authentication failed: wrong token (the server refused it during the TLS "
                   "handshake; nothing was sent)";
        }
        if (contains(reason, "does not seem to speak TLS") ||
            contains(reason, "closed the connection during the TLS handshake")) {
            return "the server does not speak twine-ft's encrypted mode: it may run with "
                   "--insecure-plaintext (both ends must agree) (" +
                   reason + ")";
        }
        if (contains(reason, "TLS handshake failed")) {
            return "TLS handshake failed: wrong token, or not a twine-ft server (" + reason + ")";
        }
    }
    return reason;
}

}  // namespace twine_ft
