// echo_server: writes back whatever each client sends, on every endpoint given.
//
//     echo_server --listen tcp:1234 --listen unix:/tmp/echo.sock --listen udp:1234
//     echo_server --listen tcp:1234 --workers 4

#include "serve_endpoints.hpp"

#include <twine/protocols/datagram_echo.hpp>
#include <twine/protocols/echo.hpp>

int main(int argc, char** argv) {
    return examples::serveEndpoints(
        argc, argv,
        {.name = "echo_server",
         .summary = "Echo server: sends back everything it receives.",
         .defaultEndpoint = "tcp:1234",
         .datagramProtocol =
             [](twine::Reactor& reactor) { return std::make_shared<twine::DatagramEcho>(reactor); },
         .workerFactory = [](twine::Reactor&) -> std::shared_ptr<twine::Factory> {
             return twine::ServerFactory::forProtocol<twine::Echo>();
         }},
        twine::ServerFactory::forProtocol<twine::Echo>());
}
