#include <twine/core/connector.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/port.hpp>
#include <twine/core/reactor.hpp>
#include <twine/transports/stream_connector.hpp>
#include <twine/transports/stream_port.hpp>

#include <utility>

namespace twine {

// A path starting with '@' names a Linux abstract socket (no file).
std::shared_ptr<Port> Reactor::listenUNIX(const std::string& path, std::shared_ptr<Factory> factory,
                                          UNIXListenOptions options) {
    return detail::StreamPort::listenUNIX(*this, path, std::move(factory), options);
}

std::shared_ptr<Connector> Reactor::connectUNIX(const std::string& path,
                                                std::shared_ptr<ClientFactory> factory,
                                                ConnectOptions options) {
    auto connector = std::make_shared<detail::StreamConnector>(
        *this, detail::StreamKind::unixSocket, path, 0, std::move(factory), std::move(options));
    connector->connect();
    return connector;
}

}  // namespace twine
