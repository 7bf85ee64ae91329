#pragma once

#include <stdexcept>
#include <string>

namespace twine {

/// The base of every error twine raises or delivers in a Failure.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

#define TWINE_DEFINE_ERROR(Name, Base, defaultMessage)                                \
    class Name : public Base {                                                        \
    public:                                                                           \
        explicit Name(const std::string& message = defaultMessage) : Base(message) {} \
    }

// Connection outcomes, as in twisted.internet.error.
TWINE_DEFINE_ERROR(ConnectionClosed, Error, "Connection was closed.");
TWINE_DEFINE_ERROR(ConnectionDone, ConnectionClosed, "Connection was closed cleanly.");
TWINE_DEFINE_ERROR(ConnectionLost, ConnectionClosed,
                   "Connection to the other side was lost in a non-clean fashion.");
TWINE_DEFINE_ERROR(ConnectionAborted, ConnectionLost, "Connection was aborted locally.");
TWINE_DEFINE_ERROR(ConnectError, Error, "An error occurred while connecting.");
TWINE_DEFINE_ERROR(ConnectionRefusedError, ConnectError, "Connection was refused by other side.");
TWINE_DEFINE_ERROR(DNSLookupError, ConnectError, "DNS lookup failed.");
TWINE_DEFINE_ERROR(UserError, ConnectError, "User aborted connection.");
TWINE_DEFINE_ERROR(TimeoutError, Error, "User timeout caused connection failure.");
TWINE_DEFINE_ERROR(CannotListenError, Error, "Could not listen.");
TWINE_DEFINE_ERROR(MessageLengthError, Error, "Message is too long to send.");
TWINE_DEFINE_ERROR(TLSError, Error, "TLS failure.");

// Deferred misuse and outcomes, as in twisted.internet.defer.
TWINE_DEFINE_ERROR(AlreadyCalledError, Error, "Deferred has already been called.");
TWINE_DEFINE_ERROR(CancelledError, Error, "Deferred was cancelled.");
TWINE_DEFINE_ERROR(QueueOverflow, Error, "DeferredQueue is full.");
TWINE_DEFINE_ERROR(QueueUnderflow, Error,
                   "Too many gets are already waiting on this DeferredQueue.");

// DelayedCall misuse, as in twisted.internet.error.
TWINE_DEFINE_ERROR(AlreadyCalled, Error, "Tried to cancel an already-called event.");
TWINE_DEFINE_ERROR(AlreadyCancelled, Error, "Tried to cancel an already-cancelled event.");

// Reactor misuse.
TWINE_DEFINE_ERROR(ReactorNotRunning, Error, "Can't stop reactor that isn't running.");
TWINE_DEFINE_ERROR(ReactorNotRestartable, Error, "Reactor cannot be restarted.");
TWINE_DEFINE_ERROR(ReactorAlreadyRunning, Error, "Reactor is already running.");

#undef TWINE_DEFINE_ERROR

}  // namespace twine
