#pragma once

#include <twine/protocols/filetransfer/transfer_error.hpp>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace twine::filetransfer {

/// Writes received bytes on a worker thread of its own, so that the loop
/// thread goes back to reading the socket while the previous megabytes are
/// hashed and written (done in turn on the loop, hashing and writing left
/// the socket unread half the time).
///
/// The loop thread copies data into a few fixed buffers and hands each full
/// one to the worker, which runs `sink` on it. When the loop takes the last
/// free buffer, full() turns true: the caller stops reading, and `writable`
/// tells it (on the loop thread, through `post`) when the worker frees one.
/// Memory stays at `buffers` x `bufferSize` whatever the file size.
///
/// Everything but the worker's sink runs on the loop thread; the events
/// arrive there too. Destroying it writes what was handed over (kept for a
/// resume) and joins the worker; cancel() drops it instead.
class WriteBehind {
public:
    /// Runs fn on the loop thread; called from the worker (Reactor::callFromThread).
    using Post = std::function<void(std::function<void()>)>;
    /// Runs on the worker; throws TransferError (e.g. "no-space") to stop.
    using Sink = std::function<void(std::string_view)>;

    /// Measured on the 2-vCPU VM (1 GiB over loopback, fastest of three):
    /// 8 x 128 KiB 1.60 s, 4 x 256 KiB 1.61 s, 4 x 1 MiB 1.60-2.63 s, all on
    /// the loop thread 1.94 s. Buffers that stay in the cache are the steady choice.
    struct Options {
        std::size_t buffers = 8;                          ///< At least 2.
        std::size_t bufferSize = std::size_t{128} << 10;  ///< Bytes in each buffer.
    };

    /// What the writer reports, on the loop thread (through `post`).
    struct Events {
        /// A buffer is free again after full() was true: reading may resume.
        std::function<void()> writable;
        /// The sink threw: nothing more is written and finish() will not report.
        std::function<void(const TransferError&)> failed;
        /// After finish(): the last step ran; `error` is null if it succeeded.
        std::function<void(const TransferError* error)> finished;
    };

    /// Starts the worker thread at once.
    WriteBehind(Post post, Sink sink, Events events, Options options);
    ~WriteBehind();
    WriteBehind(const WriteBehind&) = delete;
    WriteBehind& operator=(const WriteBehind&) = delete;

    /// Copies `data` for the worker.
    void write(std::string_view data);
    /// Every buffer is taken: stop reading until `writable`.
    bool full() const { return starved_; }
    /// Hands over the rest, then runs `last` on the worker once everything is
    /// written (a file's verify, fsync and rename) and reports `finished`.
    void finish(std::function<void()> last);
    /// True once finish() was called.
    bool finishing() const { return finishing_; }
    /// Drops what is not written yet and joins the worker.
    void cancel();
    /// Writes what was handed over and joins the worker. Afterwards
    /// completed() says whether a finish() step ran and succeeded.
    void stop();
    /// After stop(): whether a finish() step ran and succeeded.
    bool completed() const { return completed_; }

private:
    enum class Stop { none, drain, cancel };

    void submit();
    void takeBuffer();
    void run();
    bool writeOut(const std::string& buffer);
    void runLast(const std::function<void()>& last);
    void giveBack(std::string buffer, std::unique_lock<std::mutex>& lock);
    void join(Stop how);

    void onWritable();
    void onFailed(const TransferError& error);
    void onFinished(const TransferError* error);

    Post post_;
    Sink sink_;
    Events events_;
    Options options_;
    // Posted callbacks look at it: one that arrives after this object is gone does nothing.
    std::shared_ptr<int> lifetime_ = std::make_shared<int>(0);

    // Loop thread only.
    std::string current_;
    bool starved_ = false;
    bool finishing_ = false;
    bool completed_ = false;

    // Shared with the worker, under mutex_.
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::string> queue_;
    std::vector<std::string> free_;
    std::size_t allocated_ = 0;
    std::function<void()> last_;
    Stop stop_ = Stop::none;
    bool loopWaiting_ = false;
    bool failed_ = false;
    bool lastSucceeded_ = false;

    std::thread worker_;
};

}  // namespace twine::filetransfer
