#pragma once

#include <twine/core/deferred.hpp>
#include <twine/core/port.hpp>
#include <twine/core/reactor.hpp>
#include <twine/transports/endpoint_parser.hpp>
#include <twine/transports/endpoints.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace twine {

class DatagramProtocol;

/// "udp:PORT:interface=ADDR:maxPacketSize=N", and "udp6:PORT" (interface "::").
/// A UDP endpoint serves one DatagramProtocol rather than a stream Factory:
/// start it with listenDatagram.
class UDPServerEndpoint final : public ServerEndpoint {
public:
    /// Binds on `reactor` (which must outlive the endpoint) when listenDatagram is called.
    UDPServerEndpoint(Reactor& reactor, std::uint16_t port, UDPListenOptions options = {});

    /// UDP carries datagrams, not streams: fails with std::invalid_argument
    /// naming listenDatagram.
    Deferred<std::shared_ptr<Port>> listen(std::shared_ptr<Factory> factory) override;
    /// Binds the port and starts `protocol` (Reactor::listenUDP); fails with
    /// CannotListenError or std::invalid_argument.
    Deferred<std::shared_ptr<Port>> listenDatagram(std::shared_ptr<DatagramProtocol> protocol);
    std::string describe() const override;
    std::string describeListening(const Address& bound) const override;

private:
    Reactor& reactor_;
    std::uint16_t port_;
    UDPListenOptions options_;
};

/// Starts `protocol` on a datagram endpoint (serverFromString of "udp:...");
/// fails with std::invalid_argument for a stream endpoint.
Deferred<std::shared_ptr<Port>> listenDatagram(ServerEndpoint& endpoint,
                                               std::shared_ptr<DatagramProtocol> protocol);

/// A bound UDP address as a description: "udp:9000:interface=127.0.0.1".
std::string describeUDPAddress(const Address& address);

namespace detail {
/// serverFromString's parser for "udp:" (defaultInterface "") and "udp6:" ("::").
std::unique_ptr<ServerEndpoint> parseUDPServer(Reactor& reactor, EndpointParameters& parameters,
                                               const std::string& defaultInterface);
}  // namespace detail

}  // namespace twine
