#include <twine/protocols/connection_limits.hpp>

#include <twine/core/log.hpp>
#include <twine/core/protocol_wrapper.hpp>

#include <stdexcept>
#include <utility>

namespace twine {
namespace detail {

struct ConnectionCounts {
    std::size_t total = 0;
    std::map<std::string, std::size_t, std::less<>> perHost;

    void add(const std::string& host) {
        ++total;
        ++perHost[host];
    }
    void remove(const std::string& host) {
        --total;
        auto where = perHost.find(host);
        if (--where->second == 0) perHost.erase(where);  // no entry per past peer
    }
};

namespace {

// Counts its connection down once: when it is lost, or when the protocol is
// destroyed without ever having been connected.
class CountedProtocol final : public ProtocolWrapper {
public:
    CountedProtocol(std::unique_ptr<Protocol> wrapped, std::shared_ptr<ConnectionCounts> counts,
                    std::string host)
        : ProtocolWrapper(std::move(wrapped)), counts_(std::move(counts)), host_(std::move(host)) {
        counts_->add(host_);
    }
    ~CountedProtocol() override { release(); }

    void connectionLost(const Failure& reason) override {
        release();
        ProtocolWrapper::connectionLost(reason);
    }

private:
    void release() {
        if (counted_) counts_->remove(host_);
        counted_ = false;
    }

    std::shared_ptr<ConnectionCounts> counts_;
    std::string host_;
    bool counted_ = true;
};

}  // namespace
}  // namespace detail

ConnectionLimitingFactory::ConnectionLimitingFactory(std::shared_ptr<Factory> wrapped,
                                                     ConnectionLimits limits)
    : wrapped_(std::move(wrapped)),
      limits_(limits),
      counts_(std::make_shared<detail::ConnectionCounts>()) {
    if (!wrapped_) throw std::invalid_argument("ConnectionLimitingFactory: no factory to wrap");
}

ConnectionLimitingFactory::~ConnectionLimitingFactory() = default;

std::unique_ptr<Protocol> ConnectionLimitingFactory::buildProtocol(const Address& address) {
    const std::string& host = address.host();
    if (limits_.maxConnections != 0 && counts_->total >= limits_.maxConnections) {
        log::info("refusing connection from " + address.toString() + ": " +
                  std::to_string(counts_->total) + " connections open");
        return nullptr;
    }
    if (limits_.maxPerHost != 0 && connectionCount(host) >= limits_.maxPerHost) {
        log::info("refusing connection from " + address.toString() + ": " +
                  std::to_string(connectionCount(host)) + " connections open from that host");
        return nullptr;
    }
    auto protocol = wrapped_->buildProtocol(address);
    if (!protocol) return nullptr;
    auto counted = std::make_unique<detail::CountedProtocol>(std::move(protocol), counts_, host);
    counted->setFactory(this);
    return counted;
}

std::size_t ConnectionLimitingFactory::connectionCount() const {
    return counts_->total;
}

std::size_t ConnectionLimitingFactory::connectionCount(const std::string& host) const {
    auto where = counts_->perHost.find(host);
    return where == counts_->perHost.end() ? 0 : where->second;
}

std::shared_ptr<ConnectionLimitingFactory> limitConnections(std::shared_ptr<Factory> wrapped,
                                                            ConnectionLimits limits) {
    return std::make_shared<ConnectionLimitingFactory>(std::move(wrapped), limits);
}

}  // namespace twine
