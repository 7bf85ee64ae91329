#include <twine/protocols/filetransfer/write_behind.hpp>

#include <twine/core/copy_bytes.hpp>

#include <algorithm>
#include <optional>

namespace twine::filetransfer {

WriteBehind::WriteBehind(Post post, Sink sink, Events events, Options options)
    : post_(std::move(post)),
      sink_(std::move(sink)),
      events_(std::move(events)),
      options_(options) {
    // With one buffer the loop would wait for the worker before its first byte.
    options_.buffers = std::max<std::size_t>(options_.buffers, 2);
    options_.bufferSize = std::max<std::size_t>(options_.bufferSize, 1);
    free_.resize(options_.buffers);  // reserved on first use
    allocated_ = options_.buffers;
    takeBuffer();
    worker_ = std::thread([this] { run(); });
}

WriteBehind::~WriteBehind() {
    stop();
}

// --- Loop thread -----------------------------------------------------------

void WriteBehind::write(std::string_view data) {
    while (!data.empty()) {
        std::size_t take = std::min(options_.bufferSize - current_.size(), data.size());
        detail::appendBytes(current_, data.substr(0, take));
        data.remove_prefix(take);
        if (current_.size() == options_.bufferSize) submit();
    }
}

void WriteBehind::submit() {
    {
        std::lock_guard lock(mutex_);
        if (failed_ || stop_ != Stop::none) {
            current_.clear();  // nothing more will be written: refill the same buffer
            return;
        }
        queue_.push_back(std::move(current_));
    }
    wake_.notify_one();
    takeBuffer();
}

void WriteBehind::takeBuffer() {
    {
        std::lock_guard lock(mutex_);
        if (free_.empty()) {
            // Only when one delivery outgrows the last buffer (the caller
            // reads on while full()): a spare, let go when it comes back.
            ++allocated_;
            current_ = std::string();
        } else {
            current_ = std::move(free_.back());
            free_.pop_back();
        }
        if (free_.empty()) {
            starved_ = true;
            loopWaiting_ = true;
        }
    }
    current_.clear();
    current_.reserve(options_.bufferSize);
}

void WriteBehind::finish(std::function<void()> last) {
    finishing_ = true;
    {
        std::lock_guard lock(mutex_);
        if (!current_.empty() && !failed_) queue_.push_back(std::move(current_));
        current_ = std::string();
        last_ = std::move(last);
    }
    wake_.notify_one();
}

void WriteBehind::cancel() {
    join(Stop::cancel);
}

void WriteBehind::stop() {
    join(Stop::drain);
}

void WriteBehind::join(Stop how) {
    if (!worker_.joinable()) return;
    {
        std::lock_guard lock(mutex_);
        if (how == Stop::drain && !current_.empty() && !failed_) {
            queue_.push_back(std::move(current_));
        }
        if (how == Stop::cancel) queue_.clear();
        current_ = std::string();
        stop_ = how;
    }
    wake_.notify_one();
    worker_.join();
    completed_ = lastSucceeded_;
}

void WriteBehind::onWritable() {
    {
        std::lock_guard lock(mutex_);
        if (free_.empty()) {  // taken again since the worker wrote
            loopWaiting_ = true;
            return;
        }
    }
    starved_ = false;
    if (events_.writable) events_.writable();
}

void WriteBehind::onFailed(const TransferError& error) {
    auto failed = events_.failed;  // may destroy this object
    if (failed) failed(error);
}

void WriteBehind::onFinished(const TransferError* error) {
    completed_ = error == nullptr;
    auto finished = events_.finished;  // may destroy this object
    if (finished) finished(error);
}

// --- Worker thread ---------------------------------------------------------

void WriteBehind::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return !queue_.empty() || last_ || stop_ != Stop::none; });
        if (stop_ == Stop::cancel) return;
        if (!queue_.empty()) {
            std::string buffer = std::move(queue_.front());
            queue_.pop_front();
            lock.unlock();
            bool written = writeOut(buffer);
            lock.lock();
            if (!written) return;
            giveBack(std::move(buffer), lock);
            continue;
        }
        // A stop before the last step leaves the file for a resume.
        if (!last_ || stop_ != Stop::none) return;
        std::function<void()> last = std::move(last_);
        last_ = nullptr;
        lock.unlock();
        runLast(last);
        return;
    }
}

bool WriteBehind::writeOut(const std::string& buffer) {
    std::optional<TransferError> error;
    try {
        sink_(buffer);
        return true;
    } catch (const TransferError& e) {
        error = e;
    } catch (const std::exception& e) {
        error.emplace(code::io, e.what());
    }
    {
        std::lock_guard lock(mutex_);
        failed_ = true;
    }
    std::weak_ptr<int> alive = lifetime_;
    post_([this, alive, error = *error] {
        if (!alive.expired()) onFailed(error);
    });
    return false;
}

void WriteBehind::giveBack(std::string buffer, std::unique_lock<std::mutex>& lock) {
    buffer.clear();
    if (allocated_ > options_.buffers) {
        --allocated_;
        return;
    }
    free_.push_back(std::move(buffer));
    if (!loopWaiting_) return;
    loopWaiting_ = false;
    lock.unlock();
    std::weak_ptr<int> alive = lifetime_;
    post_([this, alive] {
        if (!alive.expired()) onWritable();
    });
    lock.lock();
}

void WriteBehind::runLast(const std::function<void()>& last) {
    std::optional<TransferError> error;
    try {
        last();
    } catch (const TransferError& e) {
        error = e;
    } catch (const std::exception& e) {
        error.emplace(code::io, e.what());
    }
    {
        std::lock_guard lock(mutex_);
        lastSucceeded_ = !error;
    }
    std::weak_ptr<int> alive = lifetime_;
    post_([this, alive, error] {
        if (!alive.expired()) onFinished(error ? &*error : nullptr);
    });
}

}  // namespace twine::filetransfer
