// Reactor::listenSSL and connectSSL: TCP with a factory that wraps each
// protocol it builds in a TLS layer.
#include <twine/core/connector.hpp>
#include <twine/core/error.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/port.hpp>
#include <twine/core/reactor.hpp>
#include <twine/transports/tls_context.hpp>
#include <twine/transports/tls_factory.hpp>
#include <twine/transports/tls_options.hpp>
#include <twine/transports/tls_protocol.hpp>
#include <twine/transports/tls_server_factory.hpp>

#include <memory>
#include <optional>
#include <utility>

namespace twine {

using detail::TLSClientFactory;
using detail::TLSServerFactory;

std::shared_ptr<Factory> tlsServerFactory(std::shared_ptr<Factory> inner, const TLSOptions& tls,
                                          ReactorTime& time) {
    if (!tls.isServer()) throw TLSError("listenSSL needs server options (TLSOptions::server)");
    return std::make_shared<TLSServerFactory>(std::move(inner), tls, time);
}

std::shared_ptr<Port> Reactor::listenSSL(std::uint16_t port, std::shared_ptr<Factory> factory,
                                         const TLSOptions& tls, TCPListenOptions options) {
    // Building the factory builds the context: a bad certificate fails here, not per connection.
    return listenTCP(port, tlsServerFactory(std::move(factory), tls, *this), std::move(options));
}

std::shared_ptr<Connector> Reactor::connectSSL(const std::string& host, std::uint16_t port,
                                               std::shared_ptr<ClientFactory> factory,
                                               const TLSOptions& tls, ConnectOptions options) {
    if (tls.isServer()) throw TLSError("connectSSL needs client options (TLSOptions::client)");
    TLSOptions client = tls;
    if (client.hostname().empty()) client.hostname(host);
    auto wrapper = std::make_shared<TLSClientFactory>(std::move(factory), client, *this);
    return connectTCP(host, port, std::move(wrapper), std::move(options));
}

}  // namespace twine
