#pragma once

#include <stdexcept>
#include <string>

namespace twine {

/// The base of every error twine raises or delivers in a Failure.
class Error : public std::runtime_error {
public:
    /// std::runtime_error's constructors: the message is what().
    using std::runtime_error::runtime_error;
};

/// Defines one error class (undefined again below). Its constructor's default
/// message is Twisted's for the same error.
#define TWINE_DEFINE_ERROR(Name, Base, defaultMessage)                                \
    class Name : public Base {                                                        \
    public:                                                                           \
        /** The error, with `message` as its what(). */                               \
        explicit Name(const std::string& message = defaultMessage) : Base(message) {} \
    }

// Connection outcomes, as in twisted.internet.error.

/// A connection ended: the base of ConnectionDone and ConnectionLost.
TWINE_DEFINE_ERROR(ConnectionClosed, Error, "Connection was closed.");
/// connectionLost's reason for a clean close, by either side.
TWINE_DEFINE_ERROR(ConnectionDone, ConnectionClosed, "Connection was closed cleanly.");
/// connectionLost's reason for an unclean end: an error, a reset, a TLS truncation.
TWINE_DEFINE_ERROR(ConnectionLost, ConnectionClosed,
                   "Connection to the other side was lost in a non-clean fashion.");
/// connectionLost's reason after abortConnection().
TWINE_DEFINE_ERROR(ConnectionAborted, ConnectionLost, "Connection was aborted locally.");
/// A connection attempt failed: the base of the specific causes below.
TWINE_DEFINE_ERROR(ConnectError, Error, "An error occurred while connecting.");
/// The peer refused the connection (ECONNREFUSED).
TWINE_DEFINE_ERROR(ConnectionRefusedError, ConnectError, "Connection was refused by other side.");
/// A host name did not resolve.
TWINE_DEFINE_ERROR(DNSLookupError, ConnectError, "DNS lookup failed.");
/// The attempt was stopped: Connector::stopConnecting or disconnect, or the
/// reactor shutting down.
TWINE_DEFINE_ERROR(UserError, ConnectError, "User aborted connection.");
/// A connect timeout, or Deferred::addTimeout, expired.
TWINE_DEFINE_ERROR(TimeoutError, Error, "User timeout caused connection failure.");
/// A port could not be bound or listened on; the message names the address and why.
TWINE_DEFINE_ERROR(CannotListenError, Error, "Could not listen.");
/// A datagram too long for UDP.
TWINE_DEFINE_ERROR(MessageLengthError, Error, "Message is too long to send.");
/// A TLS handshake or record failed; the message names the reason (e.g. the
/// certificate check that failed).
TWINE_DEFINE_ERROR(TLSError, Error, "TLS failure.");

// Deferred misuse and outcomes, as in twisted.internet.defer.
/// A Deferred was fired twice.
TWINE_DEFINE_ERROR(AlreadyCalledError, Error, "Deferred has already been called.");
/// A Deferred was cancelled and its canceller did not fire it.
TWINE_DEFINE_ERROR(CancelledError, Error, "Deferred was cancelled.");
/// DeferredQueue::put on a queue at its size limit.
TWINE_DEFINE_ERROR(QueueOverflow, Error, "DeferredQueue is full.");
/// DeferredQueue::get with its backlog of waiting gets full.
TWINE_DEFINE_ERROR(QueueUnderflow, Error,
                   "Too many gets are already waiting on this DeferredQueue.");

// DelayedCall misuse, as in twisted.internet.error.
/// DelayedCall::cancel (or reset, delay) on a call that has run.
TWINE_DEFINE_ERROR(AlreadyCalled, Error, "Tried to cancel an already-called event.");
/// DelayedCall::cancel (or reset, delay) on a call already cancelled.
TWINE_DEFINE_ERROR(AlreadyCancelled, Error, "Tried to cancel an already-cancelled event.");

// Reactor misuse.
/// Reactor::stop when the reactor is not running.
TWINE_DEFINE_ERROR(ReactorNotRunning, Error, "Can't stop reactor that isn't running.");
/// Reactor::run a second time.
TWINE_DEFINE_ERROR(ReactorNotRestartable, Error, "Reactor cannot be restarted.");
/// Reactor::run called from inside run().
TWINE_DEFINE_ERROR(ReactorAlreadyRunning, Error, "Reactor is already running.");

#undef TWINE_DEFINE_ERROR

}  // namespace twine
