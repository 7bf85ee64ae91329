#include "secure_channel.hpp"

#include <twine/protocols/filetransfer/session_key.hpp>
#include <twine/transports/haproxy_endpoint.hpp>
#include <twine/transports/tls_options.hpp>
#include <twine/transports/tls_server_factory.hpp>

#include <cstdio>

namespace twine_ft {
namespace {

namespace ft = twine::filetransfer;

bool contains(const std::string& text, const char* needle) {
    return text.find(needle) != std::string::npos;
}

// tcp: and unix: carry token-keyed TLS unless plaintext was asked for;
// ssl: has TLS of its own. Behind a balancer (haproxy:) the endpoint it
// connects to decides.
bool wantsPreSharedKey(const twine::ServerEndpoint& endpoint, Channel channel) {
    if (const auto* balanced = dynamic_cast<const twine::HAProxyServerEndpoint*>(&endpoint)) {
        return wantsPreSharedKey(balanced->inner(), channel);
    }
    const bool stream = dynamic_cast<const twine::TCPServerEndpoint*>(&endpoint) != nullptr ||
                        dynamic_cast<const twine::UNIXServerEndpoint*>(&endpoint) != nullptr;
    return stream && channel == Channel::preSharedKey;
}

twine::TLSOptions preSharedKeyServer(const std::string& token) {
    return twine::TLSOptions::pskServer(std::string(ft::SessionKey::identity),
                                        ft::SessionKey::derive(token));
}

}  // namespace

std::unique_ptr<twine::ServerEndpoint> serverEndpoint(twine::Reactor& reactor,
                                                      std::string_view description,
                                                      const std::string& token, Channel channel) {
    auto endpoint = twine::serverFromString(reactor, description);
    if (!wantsPreSharedKey(*endpoint, channel)) return endpoint;
    return twine::wrapServerTLS(reactor, std::move(endpoint), preSharedKeyServer(token));
}

std::shared_ptr<twine::Factory> servingFactory(twine::Reactor& reactor,
                                               std::string_view description,
                                               std::shared_ptr<twine::Factory> factory,
                                               const std::string& token, Channel channel) {
    if (!wantsPreSharedKey(*twine::serverFromString(reactor, description), channel)) {
        return factory;
    }
    return twine::tlsServerFactory(std::move(factory), preSharedKeyServer(token), reactor);
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
