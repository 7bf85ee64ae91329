#include <twine/protocols/filetransfer/commit_queue.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

namespace twine::filetransfer {
namespace {

// One syncfs per filesystem the group's files live on (a subdirectory of the
// root may be another mount). Returns the first failure's errno, or 0.
int syncFilesystems(std::vector<int> directories) {
    // Files in one directory share its descriptor (SharedParents): one fstat each.
    std::sort(directories.begin(), directories.end());
    directories.erase(std::unique(directories.begin(), directories.end()), directories.end());
    std::set<dev_t> synced;
    for (int directory : directories) {
        struct stat st {};
        if (::fstat(directory, &st) != 0) return errno;
        if (!synced.insert(st.st_dev).second) continue;
        if (::syncfs(directory) != 0) return errno;
    }
    return 0;
}

TransferError syncFailed(int error) {
    return TransferError(code::io, std::string("sync failed: ") + std::strerror(error));
}

}  // namespace

CommitQueue::CommitQueue(Post post, Committed committed)
    : post_(std::move(post)), committed_(std::move(committed)) {
    if (post_) worker_ = std::thread([this] { run(); });
}

CommitQueue::~CommitQueue() {
    stopWorker();
}

void CommitQueue::add(std::unique_ptr<IncomingFile> file) {
    ++pending_;
    if (!worker_.joinable()) {
        std::vector<std::unique_ptr<IncomingFile>> one;
        one.push_back(std::move(file));
        auto results = commitGroup(std::move(one));
        {
            std::lock_guard lock(mutex_);
            for (auto& result : results) done_.push_back(std::move(result));
        }
        deliver();
        return;
    }
    {
        std::lock_guard lock(mutex_);
        queued_.push_back(std::move(file));
    }
    wake_.notify_one();
}

void CommitQueue::drain() {
    stopWorker();
    deliver();
}

void CommitQueue::stopWorker() {
    if (!worker_.joinable()) return;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    worker_.join();
}

void CommitQueue::deliver() {
    std::vector<Result> results;
    {
        std::lock_guard lock(mutex_);
        results.swap(done_);
    }
    for (auto& result : results) {
        --pending_;
        committed_(std::move(result.file), result.error ? &*result.error : nullptr);
    }
}

// --- Worker thread -----------------------------------------------------------

void CommitQueue::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || !queued_.empty(); });
        if (queued_.empty()) return;  // stopping, and everything is committed
        std::vector<std::unique_ptr<IncomingFile>> group;
        group.swap(queued_);
        lock.unlock();
        std::vector<Result> results = commitGroup(std::move(group));
        lock.lock();
        // One post per batch of results: the loop takes all that are there.
        const bool announce = done_.empty() && !stopping_;
        for (auto& result : results) done_.push_back(std::move(result));
        if (!announce) continue;
        lock.unlock();
        post_([this, alive = std::weak_ptr<int>(lifetime_)] {
            if (!alive.expired()) deliver();
        });
        lock.lock();
    }
}

std::vector<CommitQueue::Result> CommitQueue::commitGroup(
    std::vector<std::unique_ptr<IncomingFile>> files) {
    std::vector<Result> results(files.size());
    for (std::size_t i = 0; i < files.size(); ++i) results[i].file = std::move(files[i]);
    auto each = [&results](auto step) {
        for (auto& result : results) {
            if (result.error) continue;
            try {
                step(*result.file);
            } catch (const TransferError& error) {
                result.error = error;
            }
        }
    };
    if (results.size() == 1) {
        // Alone, a file's own fsyncs write no one else's data.
        each([](IncomingFile& file) {
            file.syncData();
            file.moveIntoPlace();
            file.syncDirectory();
        });
        return results;
    }
    // The data of every file, then the renames, then the renames' durability.
    std::vector<int> directories;
    for (const auto& result : results) directories.push_back(result.file->directory());
    auto failAll = [&results](int error) {
        for (auto& result : results) {
            if (!result.error) result.error = syncFailed(error);
        }
    };
    if (int error = syncFilesystems(directories); error != 0) {
        failAll(error);
        return results;
    }
    each([](IncomingFile& file) { file.moveIntoPlace(); });
    if (int error = syncFilesystems(directories); error != 0) failAll(error);
    return results;
}

}  // namespace twine::filetransfer
