#include <twine/transports/haproxy_endpoint.hpp>

#include <twine/core/factory.hpp>
#include <twine/core/port.hpp>

#include <stdexcept>
#include <utility>

namespace twine {

HAProxyServerEndpoint::HAProxyServerEndpoint(Reactor& reactor,
                                             std::unique_ptr<ServerEndpoint> inner,
                                             HAProxyOptions options)
    : reactor_(reactor),
      inner_(std::move(inner)),
      stream_(dynamic_cast<detail::HandoffEndpoint*>(inner_.get())),
      options_(options) {
    if (stream_ == nullptr) {
        throw std::invalid_argument(
            "haproxy: wraps stream endpoints (tcp:, tcp6:, unix:, ssl:), not " +
            (inner_ ? inner_->describe() : std::string("nothing")));
    }
}

Deferred<std::shared_ptr<Port>> HAProxyServerEndpoint::listen(std::shared_ptr<Factory> factory) {
    try {
        if (!factory) throw std::invalid_argument("listen: no factory");
        return succeed(listenServing(servingFactory(std::move(factory))));
    } catch (...) {
        return fail<std::shared_ptr<Port>>(Failure());
    }
}

std::string HAProxyServerEndpoint::describe() const {
    return "haproxy:" + inner_->describe();
}

std::string HAProxyServerEndpoint::describeListening(const Address& bound) const {
    return "haproxy:" + inner_->describeListening(bound);
}

std::shared_ptr<Port> HAProxyServerEndpoint::listenHandingOff(
    std::function<void(int fd)> accepted) {
    return stream_->listenHandingOff(std::move(accepted));
}

// The header comes first on the wire, so its layer is the outermost: over
// ssl: it reads the header and then hands the ClientHello to TLS.
std::shared_ptr<Factory> HAProxyServerEndpoint::servingFactory(std::shared_ptr<Factory> factory) {
    return std::make_shared<HAProxyWrappingFactory>(stream_->servingFactory(std::move(factory)),
                                                    reactor_, options_);
}

void HAProxyServerEndpoint::adopt(const std::shared_ptr<Factory>& serving, int fd) {
    stream_->adopt(serving, fd);
}

std::shared_ptr<Port> HAProxyServerEndpoint::listenServing(std::shared_ptr<Factory> serving) {
    return stream_->listenServing(std::move(serving));
}

}  // namespace twine
