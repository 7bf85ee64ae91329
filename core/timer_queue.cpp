#include <twine/core/guard.hpp>
#include <twine/core/reactor_time.hpp>
#include <twine/core/timer_queue.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace twine::detail {

TimerQueue::TimerQueue(const ReactorTime& time, std::function<void()> onEarliestChanged)
    : time_(time), onEarliestChanged_(std::move(onEarliestChanged)) {}

TimerQueue::~TimerQueue() {
    // Detach every entry first, so that a destructor run while the calls are
    // released sees them as cancelled instead of reaching into a dying queue.
    auto entries = std::move(heap_);
    heap_.clear();
    for (auto& node : entries) {
        node.entry->state = TimerEntry::State::cancelled;
        node.entry->queue = nullptr;
    }
    for (auto& node : entries) node.entry->fn = nullptr;
}

double TimerQueue::seconds() const {
    return time_.seconds();
}

bool TimerQueue::before(const Node& a, const Node& b) {
    if (a.time != b.time) return a.time < b.time;
    return a.sequence < b.sequence;
}

DelayedCall TimerQueue::schedule(double delay, std::function<void()> fn) {
    // NaN would break the heap's ordering; a negative delay is Twisted's assertion.
    if (!(delay >= 0)) throw std::invalid_argument("callLater: delay must be >= 0 seconds");
    if (!fn) throw std::invalid_argument("callLater: empty function");
    auto entry = std::make_shared<TimerEntry>();
    entry->time = seconds() + delay;
    entry->sequence = nextSequence_++;
    entry->fn = std::move(fn);
    entry->queue = this;
    DelayedCall handle(entry);
    const TimerEntry* added = entry.get();
    heap_.push_back(Node{entry->time, entry->sequence, nullptr});
    place(heap_.size() - 1, Node{entry->time, entry->sequence, std::move(entry)});
    siftUp(heap_.size() - 1);
    if (heap_.front().entry.get() == added) notify();
    return handle;
}

void TimerQueue::cancel(TimerEntry& entry) {
    const bool wasEarliest = entry.index == 0;
    auto removed = removeAt(entry.index);
    removed->state = TimerEntry::State::cancelled;
    removed->queue = nullptr;
    // Released outside the heap's bookkeeping: the call's captures may do anything.
    auto fn = std::move(removed->fn);
    removed->fn = nullptr;
    if (wasEarliest) notify();
}

void TimerQueue::reschedule(TimerEntry& entry, double time) {
    if (std::isnan(time)) throw std::invalid_argument("DelayedCall: time must be a number");
    const bool wasEarliest = entry.index == 0;
    const bool later = time > entry.time;
    entry.time = time;
    heap_[entry.index].time = time;
    if (later) {
        siftDown(entry.index);
    } else {
        siftUp(entry.index);
    }
    if (wasEarliest || entry.index == 0) notify();
}

std::size_t TimerQueue::runDue(double now, std::uint64_t sequenceLimit) {
    std::size_t ran = 0;
    while (!heap_.empty()) {
        const Node& top = heap_.front();
        if (top.time > now || top.sequence >= sequenceLimit) break;
        auto entry = removeAt(0);
        entry->state = TimerEntry::State::called;
        entry->queue = nullptr;
        auto fn = std::move(entry->fn);
        entry->fn = nullptr;
        guarded("Unhandled error in a delayed call", fn);
        ++ran;
    }
    return ran;
}

std::vector<DelayedCall> TimerQueue::pending() const {
    std::vector<Node> nodes(heap_);
    std::sort(nodes.begin(), nodes.end(), before);
    std::vector<DelayedCall> calls;
    calls.reserve(nodes.size());
    for (auto& node : nodes) calls.emplace_back(std::move(node.entry));
    return calls;
}

void TimerQueue::place(std::size_t index, Node node) {
    node.entry->index = index;
    heap_[index] = std::move(node);
}

void TimerQueue::siftUp(std::size_t index) {
    Node node = std::move(heap_[index]);
    while (index > 0) {
        const std::size_t parent = (index - 1) / 2;
        if (!before(node, heap_[parent])) break;
        place(index, std::move(heap_[parent]));
        index = parent;
    }
    place(index, std::move(node));
}

void TimerQueue::siftDown(std::size_t index) {
    Node node = std::move(heap_[index]);
    const std::size_t size = heap_.size();
    for (;;) {
        std::size_t child = 2 * index + 1;
        if (child >= size) break;
        if (child + 1 < size && before(heap_[child + 1], heap_[child])) ++child;
        if (!before(heap_[child], node)) break;
        place(index, std::move(heap_[child]));
        index = child;
    }
    place(index, std::move(node));
}

std::shared_ptr<TimerEntry> TimerQueue::removeAt(std::size_t index) {
    Node removed = std::move(heap_[index]);
    Node last = std::move(heap_.back());
    heap_.pop_back();
    if (index < heap_.size()) {
        // The last entry fills the hole and moves whichever way restores order.
        const bool up = before(last, removed);
        place(index, std::move(last));
        if (up) {
            siftUp(index);
        } else {
            siftDown(index);
        }
    }
    return std::move(removed.entry);
}

void TimerQueue::notify() {
    if (onEarliestChanged_) onEarliestChanged_();
}

}  // namespace twine::detail
