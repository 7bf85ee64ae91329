#pragma once

#include <twine/core/delayed_call.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/reactor_time.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <utility>

namespace twine {

/// The backoff of a ReconnectingClientFactory; the defaults are Twisted's.
struct ReconnectPolicy {
    /// Where the delay starts: the first retry waits initialDelay × factor.
    Duration initialDelay = std::chrono::seconds(1);
    /// Each retry waits `factor` times longer than the last (e).
    double factor = 2.7182818284590451;
    /// The standard deviation of each delay, as a fraction of it.
    double jitter = 0.11962656472;
    /// No delay grows past this before jitter is applied.
    Duration maxDelay = std::chrono::seconds(3600);
    /// Gives up after this many retries in a row; unlimited if empty.
    std::optional<unsigned> maxRetries;
};

/// A ClientFactory that reconnects with exponential backoff after a failed
/// attempt or a lost connection, as Twisted's ReconnectingClientFactory.
///
/// A successful connection (buildProtocol) resets the delay, as Twisted's
/// documentation tells its users to do; a subclass overriding buildProtocol
/// calls ReconnectingClientFactory::buildProtocol or resetDelay() itself, and
/// one overriding clientConnectionFailed / clientConnectionLost calls the base
/// to keep reconnecting.
///
/// A connector holds itself only while connecting or connected: with
/// reactor.connectTCP, keep the returned connector while retries may run
/// (endpoints' connect() keeps it for you).
class ReconnectingClientFactory : public ClientFactory {
public:
    /// Retries are scheduled on `time` (the reactor, or a Clock in tests),
    /// which must outlive the factory; `builder` makes each connection's protocol.
    explicit ReconnectingClientFactory(ReactorTime& time, Builder builder = {},
                                       ReconnectPolicy policy = {});
    ~ReconnectingClientFactory() override;

    /// A factory whose connections each get a new P(args...).
    template <class P, class... Args>
    static std::shared_ptr<ReconnectingClientFactory> forProtocol(ReactorTime& time,
                                                                  Args&&... args) {
        return std::make_shared<ReconnectingClientFactory>(
            time, builderFor<P>(std::forward<Args>(args)...));
    }

    std::unique_ptr<Protocol> buildProtocol(const Address& address) override;
    void clientConnectionFailed(Connector& connector, const Failure& reason) override;
    void clientConnectionLost(Connector& connector, const Failure& reason) override;

    /// Schedules connector.connect() after the next delay (the last
    /// connector seen if none is given); throws std::logic_error if the
    /// factory has never seen a connector.
    void retry();
    /// Schedules connector.connect() after the next delay, and remembers the
    /// connector. Does nothing after stopTrying(); after maxRetries it logs
    /// and gives up. The connector must outlive the pending retry.
    void retry(Connector& connector);
    /// Back to the initial delay and zero retries, and trying again.
    void resetDelay();
    /// Stops for good: cancels a pending retry and an attempt in progress.
    void stopTrying();

    /// The backoff, to change between retries.
    ReconnectPolicy& policy() { return policy_; }
    /// Seeds the jitter's random source, so tests see one fixed sequence.
    void seed(std::uint64_t value) { random_.seed(value); }

    /// The delay before the pending (or last) retry.
    Duration delay() const { return delay_; }
    /// Retries in a row since the last success or resetDelay().
    unsigned retries() const { return retries_; }
    /// False after stopTrying(), until resetDelay().
    bool continueTrying() const { return continueTrying_; }
    /// True while a retry is scheduled.
    bool retryPending() const { return pending_ && pending_->active(); }

private:
    void nextDelay();
    void cancelPending();

    ReactorTime& time_;
    ReconnectPolicy policy_;
    Duration delay_;
    unsigned retries_ = 0;
    bool continueTrying_ = true;
    Connector* connector_ = nullptr;
    std::optional<DelayedCall> pending_;
    std::mt19937_64 random_;
};

}  // namespace twine
