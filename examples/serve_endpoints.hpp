#pragma once

// What every example server shares: "--listen ENDPOINT" (repeatable), one
// "listening on <where>" line per endpoint, then the reactor runs until
// SIGINT / SIGTERM stops it gracefully. "--workers N" serves the stream
// endpoints from a ReactorPool of N worker threads (0: one per CPU) instead.

#include <twine/core/factory.hpp>
#include <twine/core/failure.hpp>
#include <twine/core/port.hpp>
#include <twine/core/reactor.hpp>
#include <twine/transports/endpoints.hpp>
#include <twine/transports/reactor_pool.hpp>
#include <twine/transports/udp_endpoint.hpp>

#include "connection_log.hpp"

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
    /// With --workers: each worker's factory, made on its thread.
    twine::ReactorPool::FactoryMaker workerFactory = {};
};

/// With --log-connections, a factory that logs each connection first.
inline std::shared_ptr<twine::Factory> maybeLogged(std::shared_ptr<twine::Factory> factory,
                                                   bool logConnections) {
    if (!logConnections) return factory;
    return std::make_shared<ConnectionLogFactory>(std::move(factory));
}

/// --workers: every endpoint through one pool; the same lines and exit codes.
inline int servePool(const ServerProgram& program, const std::vector<std::string>& descriptions,
                     std::size_t workers, bool logConnections) {
    twine::ReactorPool pool(workers);
    std::vector<std::unique_ptr<twine::ServerEndpoint>> endpoints;
    try {
        for (const auto& description : descriptions) {
            endpoints.push_back(twine::serverFromString(pool.mainReactor(), description));
        }
    } catch (const std::invalid_argument& error) {
        std::cerr << program.name << ": " << error.what() << "\n";
        return 2;
    }
    bool failed = false;
    for (std::size_t i = 0; i < descriptions.size(); ++i) {
        const auto& endpoint = endpoints[i];
        pool.listen(descriptions[i],
                    [&program, logConnections](twine::Reactor& reactor) {
                        return maybeLogged(program.workerFactory(reactor), logConnections);
                    })
            .addCallbacks(
                [&endpoint](const std::shared_ptr<twine::Port>& port) {
                    std::cout << "listening on " << endpoint->describeListening(port->getHost())
                              << std::endl;
                },
                [&](const twine::Failure& failure) {
                    std::cerr << program.name << ": cannot listen on " << endpoint->describe()
                              << ": " << failure.what() << "\n";
                    failed = true;
                    pool.stop();
                });
    }
    pool.run();
    return failed ? 1 : 0;
}

/// Exit codes: 0 after a graceful stop, 1 if an endpoint cannot listen, 2
/// for bad arguments or a malformed endpoint.
inline int serveEndpoints(int argc, char** argv, const ServerProgram& program,
                          const std::shared_ptr<twine::Factory>& factory) {
    CLI::App app(program.summary, program.name);
    std::vector<std::string> descriptions{program.defaultEndpoint};
    app.add_option("-l,--listen", descriptions,
                   "Where to listen, as an endpoint (tcp:PORT[:interface=ADDR], "
                   "tcp6:PORT, unix:PATH[:mode=660], udp:PORT; haproxy: before a stream "
                   "endpoint behind a load balancer); repeat for several")
        ->capture_default_str();
    bool logConnections = false;
    app.add_flag("--log-connections", logConnections,
                 "Print 'connection from CLIENT to ADDRESS' on stderr for each connection");
    std::size_t workers = 1;
    auto* workersOption = app.add_option("-w,--workers", workers,
                                         "Serve from N worker threads, one reactor each (0: one "
                                         "per CPU); stream endpoints only. Without it, one "
                                         "reactor on the main thread");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? 0 : 2;
    }
    if (workersOption->count() > 0 && program.workerFactory) {
        return servePool(program, descriptions, workers, logConnections);
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
                             : endpoint->listen(maybeLogged(factory, logConnections));
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
