#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace twine::filetransfer {

/// Streaming SHA-256 (OpenSSL EVP): fed while a file is sent or received, so
/// verifying costs no second pass. Copyable, so a prefix's state can be kept.
class Sha256 {
public:
    /// Bytes in a digest.
    static constexpr std::size_t size = 32;

    /// A hash of nothing yet.
    Sha256();
    ~Sha256();
    /// A copy of the state: both go on independently.
    Sha256(const Sha256& other);
    /// Copies the other's state.
    Sha256& operator=(const Sha256& other);

    /// Feeds `data`.
    void update(std::string_view data);
    /// The digest of everything fed so far (raw 32 bytes); the state is kept,
    /// so more may be fed afterwards.
    std::string digest() const;
    /// digest() in lower-case hex.
    std::string hexDigest() const;

    /// Feeds the first `length` bytes of the open file `fd` (pread, so the
    /// file offset is untouched); throws TransferError("io") on a short file.
    void updateFromFile(int fd, std::uint64_t length);

private:
    struct Context;
    std::unique_ptr<Context> context_;
};

}  // namespace twine::filetransfer
