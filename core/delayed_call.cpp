#include <twine/core/delayed_call.hpp>
#include <twine/core/error.hpp>
#include <twine/core/timer_queue.hpp>

#include <stdexcept>

namespace twine {
namespace {

// Twisted's rule: cancel, reset and delay are mistakes on a call that is no
// longer pending, and say which way it ended.
detail::TimerEntry& requirePending(const std::shared_ptr<detail::TimerEntry>& entry) {
    if (!entry) throw std::logic_error("DelayedCall: empty handle");
    switch (entry->state) {
        case detail::TimerEntry::State::called:
            throw AlreadyCalled();
        case detail::TimerEntry::State::cancelled:
            throw AlreadyCancelled();
        case detail::TimerEntry::State::pending:
            break;
    }
    return *entry;
}

}  // namespace

void DelayedCall::cancel() {
    auto& entry = requirePending(entry_);
    entry.queue->cancel(entry);
}

void DelayedCall::reset(std::chrono::duration<double> fromNow) {
    auto& entry = requirePending(entry_);
    entry.queue->reschedule(entry, entry.queue->seconds() + fromNow.count());
}

void DelayedCall::delay(std::chrono::duration<double> by) {
    auto& entry = requirePending(entry_);
    entry.queue->reschedule(entry, entry.time + by.count());
}

bool DelayedCall::active() const {
    return entry_ && entry_->state == detail::TimerEntry::State::pending;
}

double DelayedCall::getTime() const {
    return entry_ ? entry_->time : 0.0;
}

}  // namespace twine
