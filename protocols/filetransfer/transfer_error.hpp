#pragma once

#include <twine/core/error.hpp>

#include <string>

namespace twine::filetransfer {

/// A file-transfer failure with the protocol's error code (PROTOCOL.md,
/// "Error codes"): what one side reports to the other in an ERROR message.
class TransferError : public Error {
public:
    /// `code` is one of the code:: constants; `message` is for people.
    TransferError(std::string code, const std::string& message)
        : Error(message), code_(std::move(code)) {}

    /// "bad-message", "bad-name", "auth", "busy", "no-space", ...
    const std::string& code() const { return code_; }

private:
    std::string code_;
};

/// The codes, spelled once.
namespace code {
/// A malformed line, unknown verb, bad field, or a line too long.
inline constexpr const char* badMessage = "bad-message";
/// An unsupported protocol version.
inline constexpr const char* version = "version";
/// A wrong token, or a message before authentication.
inline constexpr const char* auth = "auth";
/// An unsafe name, a symlink on the way, or a name not asked for.
inline constexpr const char* badName = "bad-name";
/// The final name exists and overwriting is not allowed.
inline constexpr const char* exists = "exists";
/// The name is being received on another connection.
inline constexpr const char* busy = "busy";
/// The file is larger than the receiver accepts.
inline constexpr const char* tooLarge = "too-large";
/// Not enough free space, or the disk filled.
inline constexpr const char* noSpace = "no-space";
/// The file digest did not match; nothing was kept.
inline constexpr const char* hashMismatch = "hash-mismatch";
/// A GET of a name that does not exist (or is a symlink).
inline constexpr const char* notFound = "not-found";
/// Another I/O error; the message has the details.
inline constexpr const char* io = "io";
/// A valid message out of order (DATA without FILE, say).
inline constexpr const char* unexpected = "unexpected";
}  // namespace code

}  // namespace twine::filetransfer
