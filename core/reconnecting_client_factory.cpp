#include <twine/core/reconnecting_client_factory.hpp>

#include <twine/core/connector.hpp>
#include <twine/core/log.hpp>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <string>

namespace twine {

ReconnectingClientFactory::ReconnectingClientFactory(ReactorTime& time, Builder builder,
                                                     ReconnectPolicy policy)
    : ClientFactory(std::move(builder)),
      time_(time),
      policy_(policy),
      delay_(policy.initialDelay),
      random_(std::random_device{}()) {}

ReconnectingClientFactory::~ReconnectingClientFactory() {
    // The pending call refers to this factory.
    cancelPending();
}

std::unique_ptr<Protocol> ReconnectingClientFactory::buildProtocol(const Address& address) {
    resetDelay();
    return ClientFactory::buildProtocol(address);
}

void ReconnectingClientFactory::clientConnectionFailed(Connector& connector,
                                                       const Failure& reason) {
    (void)reason;
    if (continueTrying_) retry(connector);
}

void ReconnectingClientFactory::clientConnectionLost(Connector& connector, const Failure& reason) {
    (void)reason;
    if (continueTrying_) retry(connector);
}

void ReconnectingClientFactory::retry() {
    if (connector_ == nullptr) {
        throw std::logic_error("ReconnectingClientFactory::retry: no connector to retry");
    }
    retry(*connector_);
}

void ReconnectingClientFactory::retry(Connector& connector) {
    connector_ = &connector;
    if (!continueTrying_) return;
    ++retries_;
    if (policy_.maxRetries && retries_ > *policy_.maxRetries) {
        log::info("Abandoning " + connector.getDestination().toString() + " after " +
                  std::to_string(retries_ - 1) + " retries");
        return;
    }
    nextDelay();
    cancelPending();
    pending_ = time_.callLater(delay_, [this, &connector] {
        pending_.reset();
        connector.connect();
    });
}

// Twisted's formula: grow by the factor up to maxDelay, then draw the delay
// from a normal distribution around it (so jitter may pass maxDelay a little).
void ReconnectingClientFactory::nextDelay() {
    delay_ = std::min(delay_ * policy_.factor, policy_.maxDelay);
    if (policy_.jitter != 0) {
        std::normal_distribution<double> around(delay_.count(), delay_.count() * policy_.jitter);
        // A negative draw needs eight standard deviations; never schedule in the past.
        delay_ = Duration(std::max(0.0, around(random_)));
    }
}

void ReconnectingClientFactory::resetDelay() {
    delay_ = policy_.initialDelay;
    retries_ = 0;
    continueTrying_ = true;
}

void ReconnectingClientFactory::stopTrying() {
    cancelPending();
    continueTrying_ = false;
    if (connector_ != nullptr && connector_->state() == Connector::State::connecting) {
        connector_->stopConnecting();
    }
}

void ReconnectingClientFactory::cancelPending() {
    if (pending_ && pending_->active()) pending_->cancel();
    pending_.reset();
}

}  // namespace twine
