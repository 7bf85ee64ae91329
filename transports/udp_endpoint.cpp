#include <twine/core/datagram_protocol.hpp>
#include <twine/transports/udp_endpoint.hpp>

#include <stdexcept>
#include <utility>

namespace twine {

UDPServerEndpoint::UDPServerEndpoint(Reactor& reactor, std::uint16_t port, UDPListenOptions options)
    : reactor_(reactor), port_(port), options_(std::move(options)) {}

Deferred<std::shared_ptr<Port>> UDPServerEndpoint::listen(std::shared_ptr<Factory> factory) {
    (void)factory;
    return fail<std::shared_ptr<Port>>(std::invalid_argument(
        describe() +
        " is a datagram endpoint: it serves a DatagramProtocol (listenDatagram), "
        "not a stream Factory"));
}

Deferred<std::shared_ptr<Port>> UDPServerEndpoint::listenDatagram(
    std::shared_ptr<DatagramProtocol> protocol) {
    try {
        return succeed(reactor_.listenUDP(port_, std::move(protocol), options_));
    } catch (...) {
        return fail<std::shared_ptr<Port>>(Failure());
    }
}

std::string UDPServerEndpoint::describe() const {
    const bool ipv6 = options_.interface.find(':') != std::string::npos;
    std::string text = (ipv6 ? "udp6:" : "udp:") + std::to_string(port_);
    if (!options_.interface.empty() && options_.interface != "::") {
        text += ":interface=" + escapeEndpointValue(options_.interface);
    }
    if (options_.maxPacketSize != UDPListenOptions{}.maxPacketSize) {
        text += ":maxPacketSize=" + std::to_string(options_.maxPacketSize);
    }
    return text;
}

Deferred<std::shared_ptr<Port>> listenDatagram(ServerEndpoint& endpoint,
                                               std::shared_ptr<DatagramProtocol> protocol) {
    auto* udp = dynamic_cast<UDPServerEndpoint*>(&endpoint);
    if (udp == nullptr) {
        return fail<std::shared_ptr<Port>>(std::invalid_argument(
            endpoint.describe() + " is a stream endpoint: a DatagramProtocol needs udp:PORT"));
    }
    return udp->listenDatagram(std::move(protocol));
}

std::string UDPServerEndpoint::describeListening(const Address& bound) const {
    return describeUDPAddress(bound);
}

std::string describeUDPAddress(const Address& address) {
    const bool ipv6 = address.family() == Address::Family::ipv6;
    return (ipv6 ? "udp6:" : "udp:") + std::to_string(address.port()) +
           ":interface=" + escapeEndpointValue(address.host());
}

namespace detail {

std::unique_ptr<ServerEndpoint> parseUDPServer(Reactor& reactor, EndpointParameters& parameters,
                                               const std::string& defaultInterface) {
    parameters.bindPositional({"port"});
    auto port = parameters.takePort("port", true);
    if (!port) parameters.fail("missing port");
    UDPListenOptions options;
    options.interface = parameters.take("interface").value_or(defaultInterface);
    if (auto size = parameters.takeInteger("maxPacketSize", 1, 65535)) {
        options.maxPacketSize = static_cast<std::size_t>(*size);
    }
    parameters.finish();
    return std::make_unique<UDPServerEndpoint>(reactor, *port, std::move(options));
}

}  // namespace detail
}  // namespace twine
