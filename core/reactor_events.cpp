#include <twine/core/guard.hpp>
#include <twine/core/log.hpp>
#include <twine/core/reactor.hpp>
#include <twine/core/reactor_events.hpp>

#include <utility>

namespace twine::detail {

void ThreePhaseEvent::add(std::uint64_t id, EventPhase phase, Trigger trigger) {
    triggers_.emplace(id, Entry{phase, std::move(trigger)});
}

bool ThreePhaseEvent::remove(std::uint64_t id) {
    return triggers_.erase(id) > 0;
}

void ThreePhaseEvent::runPhase(EventPhase phase,
                               const std::function<void(Deferred<void>)>& result) {
    // Looked up again after every trigger: a trigger may add or remove others.
    std::uint64_t next = 0;
    for (auto it = triggers_.lower_bound(next); it != triggers_.end();
         it = triggers_.lower_bound(next)) {
        next = it->first + 1;
        if (it->second.phase != phase) continue;
        Trigger trigger = it->second.trigger;  // a copy: the trigger may remove itself
        Deferred<void> d;
        if (guarded("Unhandled error in a system event trigger", [&] { d = trigger(); })) {
            result(std::move(d));
        }
    }
}

void ThreePhaseEvent::runBefore(std::function<void()> then) {
    // Counts the Deferreds still unfired, plus one while triggers are still
    // being run, so a Deferred that has already fired cannot finish early.
    struct Waiter {
        std::size_t pending = 1;
        std::function<void()> then;
        void done() {
            if (--pending == 0) then();
        }
    };
    auto waiter = std::make_shared<Waiter>();
    waiter->then = std::move(then);
    runPhase(EventPhase::before, [&](Deferred<void> d) {
        ++waiter->pending;
        d.addCallbacks([waiter] { waiter->done(); },
                       [waiter](const Failure& failure) {
                           log::failure(failure, "A \"before\" system event trigger failed");
                           waiter->done();
                       });
    });
    waiter->done();
}

void ThreePhaseEvent::runDuringAndAfter() {
    // As in Twisted, only "before" triggers are waited for; a failure of a
    // later one is still reported.
    auto report = [](Deferred<void> d) {
        d.addErrback(
            [](const Failure& failure) { log::failure(failure, "A system event trigger failed"); });
    };
    runPhase(EventPhase::during, report);
    runPhase(EventPhase::after, report);
}

}  // namespace twine::detail
