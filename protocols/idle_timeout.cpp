#include <twine/protocols/idle_timeout.hpp>

#include <twine/core/log.hpp>
#include <twine/core/protocol.hpp>

namespace twine {

namespace {

void cancelIfActive(DelayedCall& call) {
    if (call.active()) call.cancel();
}

}  // namespace

IdleTimeout::~IdleTimeout() {
    cancelTimeouts();
}

std::optional<Duration> IdleTimeout::setTimeout(std::optional<Duration> period) {
    std::optional<Duration> previous = period_;
    period_ = period;
    if (!period) {
        cancelIfActive(idleCall_);
    } else if (idleCall_.active()) {
        idleCall_.reset(*period);
    } else {
        idleCall_ = time_.callLater(*period, [this] { timedOut(); });
    }
    return previous;
}

void IdleTimeout::resetTimeout() {
    cancelIfActive(firstBytesCall_);
    if (period_ && idleCall_.active()) idleCall_.reset(*period_);
}

void IdleTimeout::setFirstBytesDeadline(std::optional<Duration> deadline) {
    cancelIfActive(firstBytesCall_);
    if (deadline) firstBytesCall_ = time_.callLater(*deadline, [this] { timedOut(); });
}

void IdleTimeout::cancelTimeouts() {
    cancelIfActive(idleCall_);
    cancelIfActive(firstBytesCall_);
}

void IdleTimeout::timeoutConnection() {
    auto* protocol = dynamic_cast<Protocol*>(this);
    if (protocol == nullptr) {
        log::warn(
            "IdleTimeout: timed out, but not mixed into a Protocol; override timeoutConnection");
        return;
    }
    log::info("connection to " + protocol->transport().getPeer().toString() +
              " timed out; closing it");
    protocol->transport().loseConnection();
}

// Either timer: one timeout per connection, so the other one stops too.
void IdleTimeout::timedOut() {
    cancelTimeouts();
    auto* protocol = dynamic_cast<Protocol*>(this);
    if (protocol != nullptr && !protocol->connected()) return;  // already gone
    timeoutConnection();
}

}  // namespace twine
