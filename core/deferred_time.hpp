#pragma once

// Deferreds that fire in time, as Twisted's task.deferLater. (addTimeout is
// a member of Deferred.)

#include <twine/core/deferred.hpp>
#include <twine/core/delayed_call.hpp>
#include <twine/core/reactor_time.hpp>

#include <memory>
#include <utility>

namespace twine {

/// Calls f() `delay` from now on `time`; the Deferred fires with its result
/// (f may return a value, a Deferred, or nothing; an exception fails it).
/// Cancelling it before then cancels the call and fails it with
/// CancelledError.
template <class F>
auto deferLater(ReactorTime& time, Duration delay, F f) {
    auto call = std::make_shared<DelayedCall>();
    Deferred<void> d([call](Deferred<void>&) {
        if (call->active()) call->cancel();
    });
    auto result = d.addCallback(std::move(f));
    *call = time.callLater(delay, [d]() mutable {
        if (!d.called()) d.callback();
    });
    return result;
}

}  // namespace twine
