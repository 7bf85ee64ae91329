#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace twine::filetransfer {

/// Streaming XXH3-128 (Debian's libxxhash, the digest rsync 3.2 uses): fed
/// while a file is sent or received, so verifying costs no second pass.
///
/// It is a checksum, not a MAC: it catches a disk, a buffer or a resumed
/// prefix that is not what the other end has, at memory speed (tens of GB/s a
/// core). What crosses the network is protected by the TLS channel, not by
/// this. Copyable, so a prefix's state can be kept.
class FileDigest {
public:
    /// Bytes in a digest.
    static constexpr std::size_t size = 16;
    /// The field that carries it in RESUME and DONE, and its capability name.
    static constexpr std::string_view field = "xxh128";

    /// A digest of nothing yet.
    FileDigest();
    ~FileDigest();
    /// A copy of the state: both go on independently.
    FileDigest(const FileDigest& other);
    /// Copies the other's state.
    FileDigest& operator=(const FileDigest& other);

    /// Feeds `data`.
    void update(std::string_view data);
    /// The digest of everything fed so far (16 bytes, big-endian canonical
    /// form); the state is kept, so more may be fed afterwards.
    std::string digest() const;
    /// digest() in lower-case hex.
    std::string hexDigest() const;

    /// Feeds the first `length` bytes of the open file `fd` (pread, so the
    /// file offset is untouched); throws TransferError("io") on a short file.
    void updateFromFile(int fd, std::uint64_t length);

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace twine::filetransfer
