#pragma once

#include <twine/core/delayed_call.hpp>
#include <twine/core/reactor_time.hpp>

#include <optional>

namespace twine {

/// Idle timeouts for a protocol, as Twisted's policies.TimeoutMixin, on any
/// ReactorTime (the Reactor, or a Clock in tests). Mix it into a protocol:
///
///     class Session : public LineReceiver, public IdleTimeout {
///     public:
///         explicit Session(ReactorTime& time) : IdleTimeout(time) {}
///         void connectionMade() override { setTimeout(30s); setFirstBytesDeadline(5s); }
///         void dataReceived(std::string_view data) override {
///             resetTimeout();
///             LineReceiver::dataReceived(data);
///         }
///         void connectionLost(const Failure&) override { cancelTimeouts(); }
///     };
///
/// timeoutConnection runs when no resetTimeout came for the idle period, or
/// none at all within the first-bytes deadline. It is not called once the
/// protocol has been unbound from its transport, and the destructor cancels
/// both timers; the time source must outlive this object.
class IdleTimeout {
public:
    /// Timers run on `time`; no timer runs until setTimeout or setFirstBytesDeadline.
    explicit IdleTimeout(ReactorTime& time) : time_(time) {}
    virtual ~IdleTimeout();
    IdleTimeout(const IdleTimeout&) = delete;
    IdleTimeout& operator=(const IdleTimeout&) = delete;

    /// Starts the idle timer (or restarts it with the new period); nullopt
    /// stops it. Returns the previous period.
    std::optional<Duration> setTimeout(std::optional<Duration> period);
    /// The idle period; nullopt when the idle timer is off.
    std::optional<Duration> timeout() const { return period_; }

    /// Meaningful traffic: restarts the idle timer from now (if it runs) and
    /// meets the first-bytes deadline. Does nothing after a timeout.
    void resetTimeout();

    /// Times the connection out unless resetTimeout is called within
    /// `deadline` (a slow or silent peer cannot hold a connection open just
    /// by connecting); nullopt cancels it.
    void setFirstBytesDeadline(std::optional<Duration> deadline);

    /// Cancels both timers (call it from connectionLost).
    void cancelTimeouts();

    /// The connection timed out. The default loses the connection of the
    /// Protocol this is mixed into (flushing what is queued).
    virtual void timeoutConnection();

private:
    void timedOut();

    ReactorTime& time_;
    std::optional<Duration> period_;
    DelayedCall idleCall_;
    DelayedCall firstBytesCall_;
};

}  // namespace twine
