#pragma once

#include <twine/protocols/filetransfer/file_digest.hpp>
#include <twine/protocols/filetransfer/root_dir.hpp>

#include <atomic>
#include <cstdint>
#include <string>

namespace twine::filetransfer {

/// Sends a file range straight from the page cache to a socket (sendfile),
/// hashing it on the way, on a thread-pool thread: the bytes never pass
/// through a user-space write queue. Both descriptors are duplicates owned
/// by the job, so closing the connection meanwhile cannot redirect a write
/// to a reused descriptor; cancel() stops it within one chunk or poll.
class ZeroCopyJob {
public:
    /// Sends bytes [offset, offset + length) of `file` to `socket`, both
    /// duplicated (the caller keeps its own); `hash` already holds the
    /// first `offset` bytes. Check ready() before run().
    ZeroCopyJob(int socket, int file, std::uint64_t offset, std::uint64_t length, FileDigest hash);

    /// True if both descriptors could be duplicated.
    bool ready() const { return socket_ && file_; }
    /// Runs the transfer; call on a worker thread, once.
    void run();
    /// Asks run() to stop; from any thread.
    void cancel() { cancelled_ = true; }

    /// Bytes handed to the socket so far (any thread).
    std::uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }
    /// After run(): empty on success, else why it stopped.
    const std::string& error() const { return error_; }
    /// After run(): the errno behind error(), 0 if none.
    int errorNumber() const { return errno_; }
    /// After a successful run(): the hash of the whole file.
    const FileDigest& hash() const { return hash_; }

private:
    bool sendRange(std::uint64_t position, std::uint64_t length);
    /// Runs on its own thread beside sendRange().
    void hashRange();
    void fail(const std::string& what, int error);

    UniqueFd socket_;
    UniqueFd file_;
    std::uint64_t offset_;
    std::uint64_t length_;
    FileDigest hash_;
    std::atomic<std::uint64_t> sent_{0};
    std::atomic<bool> cancelled_{false};
    std::string error_;
    int errno_ = 0;
    std::string hashError_;  // the hasher's error, read after join
    int hashErrno_ = 0;
};

}  // namespace twine::filetransfer
