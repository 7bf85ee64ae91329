#pragma once

#include <twine/core/deferred.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

namespace twine {
enum class EventPhase;
}

namespace twine::detail {

/// The triggers of one system event ("startup" or "shutdown"), fired in
/// Twisted's three phases (twisted.internet.base._ThreePhaseEvent): every
/// "before" trigger runs and the event waits for the Deferreds they return;
/// then "during" and "after" triggers run. Triggers added or removed while a
/// phase runs are honoured: a trigger runs only if still present when its
/// turn comes.
class ThreePhaseEvent {
public:
    using Trigger = std::function<Deferred<void>()>;

    void add(std::uint64_t id, EventPhase phase, Trigger trigger);
    /// False if no trigger has this id.
    bool remove(std::uint64_t id);

    /// Runs the "before" triggers, then `then` once each Deferred they
    /// returned has fired (a failure is logged and does not stop the event).
    void runBefore(std::function<void()> then);
    /// Runs the "during" triggers, then the "after" triggers.
    void runDuringAndAfter();

private:
    struct Entry {
        EventPhase phase;
        Trigger trigger;
    };
    /// Runs every trigger of `phase` in the order added, passing each result to `result`.
    void runPhase(EventPhase phase, const std::function<void(Deferred<void>)>& result);

    std::map<std::uint64_t, Entry> triggers_;
};

}  // namespace twine::detail
