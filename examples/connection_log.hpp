#pragma once

// --log-connections: one line on stderr per connection, naming the client and
// the address it reached (behind a balancer, those its PROXY header names).

#include <twine/core/factory.hpp>
#include <twine/core/protocol_wrapper.hpp>

#include <cstdio>
#include <memory>
#include <utility>

namespace examples {

class LoggedConnection final : public twine::ProtocolWrapper {
public:
    using ProtocolWrapper::ProtocolWrapper;

    void connectionMade() override {
        // One fprintf per line: lines from several workers do not interleave.
        std::fprintf(stderr, "connection from %s to %s\n", transport().getPeer().toString().c_str(),
                     transport().getHost().toString().c_str());
        ProtocolWrapper::connectionMade();
    }
};

class ConnectionLogFactory final : public twine::ServerFactory {
public:
    explicit ConnectionLogFactory(std::shared_ptr<twine::Factory> inner)
        : inner_(std::move(inner)) {}

    std::unique_ptr<twine::Protocol> buildProtocol(const twine::Address& address) override {
        std::unique_ptr<twine::Protocol> protocol = inner_->buildProtocol(address);
        if (!protocol) return nullptr;
        return std::make_unique<LoggedConnection>(std::move(protocol));
    }
    void startFactory() override { inner_->doStart(); }
    void stopFactory() override { inner_->doStop(); }

private:
    std::shared_ptr<twine::Factory> inner_;
};

}  // namespace examples
