#pragma once

#include <twine/protocols/filetransfer/write_behind.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

namespace twine::testing {

/// Stands in for Reactor::callFromThread in file-transfer tests: a worker
/// thread posts here and the test thread, playing the loop thread, runs what
/// was posted. Every wait is bounded, so a bug fails the test instead of
/// hanging it. Must outlive the writers that post to it.
class PostedCalls {
public:
    filetransfer::WriteBehind::Post post() {
        return [this](std::function<void()> fn) {
            {
                std::lock_guard lock(mutex_);
                calls_.push_back(std::move(fn));
                ++posted_;
            }
            arrived_.notify_all();
        };
    }

    /// Waits for one posted call (at most `limit`) and runs it; false if none came.
    bool runOne(std::chrono::seconds limit = std::chrono::seconds(30)) {
        std::function<void()> fn;
        {
            std::unique_lock lock(mutex_);
            if (!arrived_.wait_for(lock, limit, [this] { return !calls_.empty(); })) return false;
            fn = std::move(calls_.front());
            calls_.pop_front();
        }
        fn();
        return true;
    }

    /// Runs what was posted so far, without waiting; returns how many ran.
    std::size_t runPending() {
        std::size_t ran = 0;
        for (;;) {
            std::function<void()> fn;
            {
                std::lock_guard lock(mutex_);
                if (calls_.empty()) return ran;
                fn = std::move(calls_.front());
                calls_.pop_front();
            }
            fn();
            ++ran;
        }
    }

    /// How many calls were posted so far.
    std::size_t posted() {
        std::lock_guard lock(mutex_);
        return posted_;
    }

private:
    std::mutex mutex_;
    std::condition_variable arrived_;
    std::deque<std::function<void()>> calls_;
    std::size_t posted_ = 0;
};

}  // namespace twine::testing
