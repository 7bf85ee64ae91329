#pragma once

#include <twine/protocols/filetransfer/receive_root.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace twine::filetransfer {

/// Makes received files durable and gives them their final names, in
/// groups, on a worker thread, while the connection goes on receiving.
///
/// Every file needs its data on disk before the rename (no final name may
/// ever hold a partial file) and the rename on disk before the sender is
/// told OK. Done one file at a time that is two fsyncs, two journal commits,
/// per file: a tree of small files spent most of its time waiting for them.
/// Like a database's group commit, the worker takes every file that arrived
/// while it was busy and syncs them together: one file as before (fsync,
/// rename, fsync of the directory); several with one syncfs for all their
/// data, the renames, and one syncfs for all the renames. The guarantee is
/// unchanged; its cost is paid once per group. (syncfs also writes out other
/// dirty data of the same filesystem: on a busy disk a group costs more.)
///
/// Files come back in the order they were added, through `committed`, on
/// the loop thread. Without a `post` (tests driven by a Clock) each file is
/// committed at once, inside add().
class CommitQueue {
public:
    /// Runs fn on the loop thread; called from the worker (Reactor::callFromThread).
    using Post = std::function<void(std::function<void()>)>;
    /// A file is in place (error null) or could not be committed.
    using Committed =
        std::function<void(std::unique_ptr<IncomingFile> file, const TransferError* error)>;

    /// Reports through `committed`; with a `post`, commits on a worker
    /// thread started at once.
    CommitQueue(Post post, Committed committed);
    /// Commits what was added (the files are whole and verified) and joins
    /// the worker; `committed` is not called any more.
    ~CommitQueue();
    CommitQueue(const CommitQueue&) = delete;
    CommitQueue& operator=(const CommitQueue&) = delete;

    /// Queues a sealed file (IncomingFile::seal succeeded).
    void add(std::unique_ptr<IncomingFile> file);
    /// Files added and not yet reported through `committed`.
    std::size_t pending() const { return pending_; }
    /// Commits everything added, joins the worker and reports every file
    /// through `committed` before it returns (the connection is closing).
    void drain();

private:
    struct Result {
        std::unique_ptr<IncomingFile> file;
        std::optional<TransferError> error;
    };

    void run();
    void deliver();
    void stopWorker();
    static std::vector<Result> commitGroup(std::vector<std::unique_ptr<IncomingFile>> files);

    Post post_;
    Committed committed_;
    // Posted callbacks look at it: one that arrives after this object is gone does nothing.
    std::shared_ptr<int> lifetime_ = std::make_shared<int>(0);
    std::size_t pending_ = 0;  // loop thread only

    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<std::unique_ptr<IncomingFile>> queued_;
    std::vector<Result> done_;
    bool stopping_ = false;
    std::thread worker_;
};

}  // namespace twine::filetransfer
