#pragma once

// What every example server shares: "--listen ENDPOINT" (repeatable), one
// "listening on <where>" line per endpoint, then the reactor runs until
// SIGINT / SIGTERM stops it gracefully.

#include <twine/core/factory.hpp>
#include <twine/core/failure.hpp>
#include <twine/core/port.hpp>
#include <twine/core/reactor.hpp>
#include <twine/transports/endpoints.hpp>
#include <twine/transports/udp_endpoint.hpp>

#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace examples {

struct ServerProgram {
    std::string name;
    std::string summary;
    std::string defaultEndpoint;
    /// What udp: endpoints serve (without it they are refused).
    std::function<std::shared_ptr<twine::DatagramProtocol>(twine::Reactor&)> datagramProtocol = {};
};

/// Exit codes: 0 after a graceful stop, 1 if an endpoint cannot listen, 2
/// for bad arguments or a malformed endpoint.
inline int serveEndpoints(int argc, char** argv, const ServerProgram& program,
                          const std::shared_ptr<twine::Factory>& factory) {
    CLI::App app(program.summary, program.name);
    std::vector<std::string> descriptions{program.defaultEndpoint};
    app.add_option("-l,--listen", descriptions,
                   "Where to listen, as an endpoint (tcp:PORT[:interface=ADDR], "
                   "tcp6:PORT, unix:PATH[:mode=660], udp:PORT); repeat for several")
        ->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? 0 : 2;
    }

    twine::Reactor reactor;
    std::vector<std::unique_ptr<twine::ServerEndpoint>> endpoints;
    try {
        for (const auto& description : descriptions) {
            endpoints.push_back(twine::serverFromString(reactor, description));
        }
    } catch (const std::invalid_argument& error) {
        std::cerr << program.name << ": " << error.what() << "\n";
        return 2;
    }

    bool failed = false;
    for (const auto& endpoint : endpoints) {
        const bool udp = dynamic_cast<twine::UDPServerEndpoint*>(endpoint.get()) != nullptr;
        auto listening = udp && program.datagramProtocol
                             ? twine::listenDatagram(*endpoint, program.datagramProtocol(reactor))
                             : endpoint->listen(factory);
        listening.addCallbacks(
            [&endpoint](const std::shared_ptr<twine::Port>& port) {
                std::cout << "listening on " << endpoint->describeListening(port->getHost())
                          << std::endl;
            },
            [&](const twine::Failure& failure) {
                std::cerr << program.name << ": cannot listen on " << endpoint->describe() << ": "
                          << failure.what() << "\n";
                failed = true;
            });
        if (failed) return 1;
    }
    reactor.run();
    return 0;
}

}  // namespace examples
