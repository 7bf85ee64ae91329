#include <twine/core/connector.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/port.hpp>
#include <twine/core/reactor.hpp>
#include <twine/transports/stream_connector.hpp>
#include <twine/transports/stream_port.hpp>

#include <utility>

namespace twine {

std::shared_ptr<Port> Reactor::listenTCP(std::uint16_t port, std::shared_ptr<Factory> factory,
                                         TCPListenOptions options) {
    return detail::StreamPort::listenTCP(*this, port, std::move(factory), options);
}

std::shared_ptr<Connector> Reactor::connectTCP(const std::string& host, std::uint16_t port,
                                               std::shared_ptr<ClientFactory> factory,
                                               ConnectOptions options) {
    auto connector = std::make_shared<detail::StreamConnector>(
        *this, detail::StreamKind::tcp, host, port, std::move(factory), std::move(options));
    connector->connect();
    return connector;
}

}  // namespace twine
