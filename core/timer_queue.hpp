#pragma once

#include <twine/core/delayed_call.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <vector>

namespace twine {
class ReactorTime;
}

namespace twine::detail {

class TimerQueue;

/// One call scheduled by callLater. The queue owns it while it is pending;
/// DelayedCall handles share it so they can still ask whether it ran.
struct TimerEntry {
    enum class State : unsigned char { pending, called, cancelled };

    double time = 0;
    /// Scheduling order: calls due at the same time run in this order.
    std::uint64_t sequence = 0;
    std::function<void()> fn;
    /// The queue holding the entry; null once it has run or been cancelled.
    TimerQueue* queue = nullptr;
    /// The entry's position in the queue's heap, so cancel and reset need no search.
    std::size_t index = 0;
    State state = State::pending;
};

/// The one timer mechanism behind both the Reactor and the test Clock: a
/// binary min-heap ordered by (time, sequence) in which every entry knows its
/// index, so cancel, reset and delay are O(log n) with no lazy garbage. The
/// keys are stored in the heap array itself, so that sifting compares
/// contiguous memory instead of chasing a pointer per comparison.
class TimerQueue {
public:
    /// `time` supplies seconds() for reset(); `onEarliestChanged` runs
    /// whenever the earliest deadline may have changed (the Reactor re-arms
    /// its libuv timer then).
    explicit TimerQueue(const ReactorTime& time, std::function<void()> onEarliestChanged = {});
    ~TimerQueue();
    TimerQueue(const TimerQueue&) = delete;
    TimerQueue& operator=(const TimerQueue&) = delete;

    /// Schedules fn `delay` seconds after seconds(). A negative or NaN
    /// delay, or an empty fn, is a mistake and throws std::invalid_argument.
    DelayedCall schedule(double delay, std::function<void()> fn);
    void cancel(TimerEntry& entry);
    /// Moves a pending entry to run at `time` (NaN throws std::invalid_argument).
    void reschedule(TimerEntry& entry, double time);
    double seconds() const;

    bool empty() const { return heap_.empty(); }
    std::size_t size() const { return heap_.size(); }
    /// The earliest deadline; only when not empty.
    double earliest() const { return heap_.front().time; }
    /// The sequence number the next scheduled call will get.
    std::uint64_t nextSequence() const { return nextSequence_; }

    /// Runs, in order, every call due at or before `now` whose sequence is
    /// below `sequenceLimit` (the Reactor passes nextSequence() taken before
    /// the run, so calls scheduled by calls wait for the next iteration; the
    /// Clock runs them at once when due). An exception from a call is logged
    /// and the run goes on. Returns how many calls ran.
    std::size_t runDue(double now,
                       std::uint64_t sequenceLimit = std::numeric_limits<std::uint64_t>::max());

    /// The pending calls, earliest first.
    std::vector<DelayedCall> pending() const;

private:
    struct Node {
        double time;
        std::uint64_t sequence;
        std::shared_ptr<TimerEntry> entry;
    };
    static bool before(const Node& a, const Node& b);
    void place(std::size_t index, Node node);
    void siftUp(std::size_t index);
    void siftDown(std::size_t index);
    std::shared_ptr<TimerEntry> removeAt(std::size_t index);
    void notify();

    const ReactorTime& time_;
    std::function<void()> onEarliestChanged_;
    std::vector<Node> heap_;
    std::uint64_t nextSequence_ = 0;
};

}  // namespace twine::detail
