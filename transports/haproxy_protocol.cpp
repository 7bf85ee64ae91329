#include <twine/transports/haproxy_protocol.hpp>

#include <twine/core/guard.hpp>
#include <twine/core/log.hpp>

#include <sstream>
#include <stdexcept>
#include <utility>

namespace twine {

HAProxyWrappingFactory::HAProxyWrappingFactory(std::shared_ptr<Factory> inner, ReactorTime& time,
                                               HAProxyOptions options)
    : inner_(std::move(inner)), time_(time), options_(options) {
    if (!inner_) throw std::invalid_argument("HAProxyWrappingFactory needs a factory to wrap");
}

std::unique_ptr<Protocol> HAProxyWrappingFactory::buildProtocol(const Address& /*balancer*/) {
    // The inner factory is asked only once the header names the client.
    return std::make_unique<detail::HAProxyProtocol>(inner_, time_, options_);
}

namespace detail {

HAProxyProtocol::HAProxyProtocol(std::shared_ptr<Factory> inner, ReactorTime& time,
                                 const HAProxyOptions& options)
    : inner_(std::move(inner)), time_(time), options_(options) {}

HAProxyProtocol::~HAProxyProtocol() {
    stopDeadline();
}

void HAProxyProtocol::stopDeadline() {
    if (deadline_ && deadline_->active()) deadline_->cancel();
    deadline_.reset();
}

void HAProxyProtocol::connectionMade() {
    deadline_ = time_.callLater(options_.headerTimeout, [this] {
        guarded("PROXY header deadline", [this] { onDeadline(); });
    });
}

void HAProxyProtocol::dataReceived(std::string_view data) {
    if (!wrapped_) {
        readHeader(data);
        return;
    }
    wrapped_->dataReceived(data);
}

// Parses in place while the header is in one read (the usual case); keeps
// the bytes only while it spans reads, which the parser bounds: it reports
// "incomplete" only for fewer bytes than the longest header it accepts.
void HAProxyProtocol::readHeader(std::string_view data) {
    std::string_view received = data;
    if (!received_.empty()) {
        received_.append(data);
        received = received_;
    }
    const ProxyHeaderParse parse = parseProxyHeader(received, options_.maxV2Length);
    switch (parse.status) {
        case ProxyHeaderParse::Status::incomplete:
            if (received_.empty()) received_.assign(data);
            return;
        case ProxyHeaderParse::Status::invalid:
            refuse(parse.error);
            return;
        case ProxyHeaderParse::Status::complete: {
            // `rest` may point into received_, which accept() keeps intact.
            accept(parse.header, received.substr(parse.length));
            received_.clear();
            received_.shrink_to_fit();
            return;
        }
    }
}

void HAProxyProtocol::accept(const ProxyHeader& header, std::string_view rest) {
    stopDeadline();
    // The socket's addresses are asked for only when the header has none
    // (two system calls a connection saved in the usual case).
    peer_ = header.local ? lower().getPeer() : header.source;
    host_ = header.local ? lower().getHost() : header.destination;
    wrapped_ = inner_->buildProtocol(peer_);
    if (!wrapped_) {
        lower().loseConnection();  // the factory refused this client
        return;
    }
    if (wrapped_->factory() == nullptr) wrapped_->setFactory(inner_.get());
    wrapped_->makeConnection(*this);
    if (!rest.empty() && connected() && !lower().disconnecting()) wrapped_->dataReceived(rest);
}

void HAProxyProtocol::refuse(const std::string& reason) {
    stopDeadline();
    log::warn("haproxy: closing the connection from " + lower().getPeer().toString() + ": " +
              reason);
    received_.clear();
    lower().loseConnection();
}

void HAProxyProtocol::onDeadline() {
    deadline_.reset();
    if (wrapped_ || !connected()) return;
    std::ostringstream limit;
    limit << options_.headerTimeout.count();
    refuse("no complete PROXY header within " + limit.str() + " s");
}

void HAProxyProtocol::connectionLost(const Failure& reason) {
    stopDeadline();
    if (!wrapped_) return;  // the user's protocol never existed
    wrapped_->connectionLost(reason);
    wrapped_->setTransport(nullptr);
}

void HAProxyProtocol::readConnectionLost() {
    if (!wrapped_) {
        lower().loseConnection();  // the peer finished before its header did
        return;
    }
    wrapped_->readConnectionLost();
}

void HAProxyProtocol::writeConnectionLost() {
    if (!wrapped_) return;
    wrapped_->writeConnectionLost();
}

std::unique_ptr<Protocol> HAProxyProtocol::exchangeProtocol(std::unique_ptr<Protocol> replacement) {
    if (!replacement) throw std::invalid_argument("exchangeProtocol needs a protocol");
    std::swap(wrapped_, replacement);
    return replacement;
}

}  // namespace detail
}  // namespace twine
