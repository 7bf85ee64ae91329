#pragma once

#include <twine/core/error.hpp>

#include <string>

namespace twine::filetransfer {

/// A file-transfer failure with the protocol's error code (PROTOCOL.md,
/// "Error codes"): what one side reports to the other in an ERROR message.
class TransferError : public Error {
public:
    TransferError(std::string code, const std::string& message)
        : Error(message), code_(std::move(code)) {}

    /// "bad-message", "bad-name", "auth", "busy", "no-space", ...
    const std::string& code() const { return code_; }

private:
    std::string code_;
};

/// The codes, spelled once.
namespace code {
inline constexpr const char* badMessage = "bad-message";
inline constexpr const char* version = "version";
inline constexpr const char* auth = "auth";
inline constexpr const char* badName = "bad-name";
inline constexpr const char* exists = "exists";
inline constexpr const char* busy = "busy";
inline constexpr const char* tooLarge = "too-large";
inline constexpr const char* noSpace = "no-space";
inline constexpr const char* hashMismatch = "hash-mismatch";
inline constexpr const char* notFound = "not-found";
inline constexpr const char* io = "io";
inline constexpr const char* unexpected = "unexpected";
}  // namespace code

}  // namespace twine::filetransfer
