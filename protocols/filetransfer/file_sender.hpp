#pragma once

#include <twine/core/delayed_call.hpp>
#include <twine/core/producer.hpp>
#include <twine/protocols/filetransfer/aligned_buffer.hpp>
#include <twine/protocols/filetransfer/file_digest.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace twine {
class ReactorTime;
class Transport;
}  // namespace twine

namespace twine::filetransfer {

class ZeroCopyJob;

/// Sends a byte range of an open file into a transport, hashing it on the
/// way. Over a plain socket (TCP, Unix) under a Reactor, the bytes go by
/// sendfile from a thread-pool thread (ZeroCopyJob), never through user
/// space. Otherwise (TLS, tests) it streams large chunks as a push
/// producer: the transport pauses it above its high water mark and resumes
/// it below the low one, so memory stays at a few chunks whatever the size.
class FileSender final : public Producer {
public:
    /// Bytes read and written at a time when streaming through the transport.
    static constexpr std::size_t chunkSize = 256 * 1024;
    /// Chunks written per turn of the loop before yielding, so a peer's
    /// message (an ERROR) is read even when the socket never fills.
    static constexpr int chunksPerTurn = 32;
    /// The transport's write buffer pauses the sender above this and resumes
    /// it below a quarter of it. The kernel's socket buffer keeps the link
    /// busy meanwhile: at 4 MiB a tree's sender peaked at 17-40 MiB resident
    /// (allocator churn of the queued records), at 1 MiB at 18-19 MiB, with
    /// no change in speed.
    static constexpr std::size_t writeBufferHigh = 4 * chunkSize;
    /// Smaller ranges are not worth a trip through the thread pool.
    static constexpr std::uint64_t zeroCopyMinimum = 1 << 20;

    /// What the sender reports, on the reactor thread. Each may be empty.
    struct Events {
        /// Bytes of the range written so far.
        std::function<void(std::uint64_t sent)> progress;
        /// All bytes written; the hash holds the whole file's state.
        std::function<void()> done;
        /// The file could not be read.
        std::function<void(const std::exception_ptr&)> failed;
    };

    /// Sends bytes [offset, offset + length) of `fd` (not owned); `hash` must
    /// already hold the first `offset` bytes.
    FileSender(Transport& transport, ReactorTime& time, int fd, std::uint64_t offset,
               std::uint64_t length, FileDigest& hash, Events events);
    ~FileSender() override;
    FileSender(const FileSender&) = delete;
    FileSender& operator=(const FileSender&) = delete;

    /// Turns each chunk read into what is written (--compress: a CHUNK
    /// message and a zstd frame). Set before start(); no zero-copy then.
    void setEncoder(std::function<std::string(std::string_view chunk)> encoder) {
        encoder_ = std::move(encoder);
    }

    /// Registers with the transport and starts writing.
    void start();

    void pauseProducing() override { paused_ = true; }
    void resumeProducing() override;
    void stopProducing() override;

    /// Bytes of the range written so far.
    std::uint64_t sent() const { return sent_; }

private:
    bool startZeroCopy();
    void zeroCopyDone();
    void reportZeroCopyProgress();
    void produce();
    void scheduleMore();
    void finish();

    Transport& transport_;
    ReactorTime& time_;
    int fd_;
    std::uint64_t position_;
    std::uint64_t remaining_;
    std::uint64_t sent_ = 0;
    FileDigest& hash_;
    Events events_;
    std::function<std::string(std::string_view)> encoder_;
    std::unique_ptr<AlignedBuffer> buffer_;  // what produce() reads into; made on first use
    DelayedCall more_;
    std::shared_ptr<ZeroCopyJob> job_;
    DelayedCall progressTimer_;
    // Lets the thread pool's completion see whether this sender still exists.
    std::shared_ptr<int> lifetime_ = std::make_shared<int>(0);
    bool registered_ = false;
    bool paused_ = false;
    bool producing_ = false;
    bool stopped_ = false;
};

}  // namespace twine::filetransfer
