#include <twine/core/guard.hpp>
#include <twine/core/log.hpp>
#include <twine/core/reactor_state.hpp>
#include <twine/core/uv_close.hpp>

#include <string>

namespace twine::detail {
namespace {

void onDrainTimer(uv_timer_t* handle) {
    auto& state = *static_cast<ReactorState*>(handle->data);
    guarded("Reactor shutdown", [&] { state.onDrainTimeout(); });
}

std::string resourceCount(std::size_t count) {
    return std::to_string(count) + (count == 1 ? " resource" : " resources");
}

}  // namespace

void ReactorState::beginShutdown() {
    auto& shutdown = events[static_cast<std::size_t>(SystemEvent::shutdown)];
    shutdown.runBefore([this, &shutdown] {
        shutdownResources();
        shutdown.runDuringAndAfter();
        startDrain();
    });
}

void ReactorState::shutdownResources() {
    resourcesShutDown = true;
    resources.markBack(lateResources);
    forEachResource(&Resource::shutdown, "Error shutting down a resource");
}

void ReactorState::abortResources() {
    forEachResource(&Resource::abort, "Error aborting a resource");
}

void ReactorState::forEachResource(void (Resource::*method)(), const char* context) {
    // The call may untrack (and free) any resource; the list's pass is safe
    // against that. Resources tracked meanwhile are left out, so the pass ends.
    resources.forEach([&](Resource& resource) { guarded(context, [&] { (resource.*method)(); }); });
}

void ReactorState::shutdownLateResources() {
    lateShutdownScheduled = false;
    resources.forEachAfter(lateResources, [](Resource& resource) {
        guarded("Error shutting down a resource", [&] { resource.shutdown(); });
    });
}

void ReactorState::startDrain() {
    phase = Phase::draining;
    if (resources.empty()) {
        closeInternals();
        return;
    }
    uv_timer_start(&drainTimer, onDrainTimer, drainTimeoutMs, 0);
}

void ReactorState::onDrainTimeout() {
    if (internalsClosed) {
        // The final guard: something outside the reactor's knowledge still
        // holds the loop. Stop waiting rather than hang.
        log::error("Reactor shutdown: libuv handles still open after shutdown; giving up");
        logLingeringHandles();
        uv_stop(&loop);
        return;
    }
    if (resources.empty()) {
        // The last ones left through their destructors, without untrack().
        closeInternals();
        return;
    }
    if (!abortedLingering) {
        abortedLingering = true;
        log::warn("Reactor shutdown: " + resourceCount(resources.size()) +
                  " did not close within " + std::to_string(drainTimeoutMs / 1000) +
                  " s; aborting them");
        abortResources();
        if (!internalsClosed) uv_timer_start(&drainTimer, onDrainTimer, abortTimeoutMs, 0);
        return;
    }
    log::error("Reactor shutdown: " + resourceCount(resources.size()) +
               " did not close even when aborted");
    closeInternals();
}

void ReactorState::closeInternals() {
    if (internalsClosed) return;
    internalsClosed = true;
    phase = Phase::closing;
    std::size_t dropped = 0;
    {
        std::lock_guard lock(threadCallsMutex);
        threadCallsClosed = true;
        dropped = threadCalls.size();
    }
    if (dropped > 0) {
        log::debug(std::to_string(dropped) + " callFromThread calls dropped at shutdown");
    }
    for (uv_handle_t* handle : internalHandles()) {
        if (handle == reinterpret_cast<uv_handle_t*>(&drainTimer)) continue;
        if (!uv_is_closing(handle)) detail::closeHandle(handle, nullptr);
    }
    // The drain timer stays as the final guard, unreferenced so that it does
    // not itself keep the loop alive.
    uv_timer_stop(&drainTimer);
    uv_timer_start(&drainTimer, onDrainTimer, abortTimeoutMs, 0);
}

void ReactorState::closeLoop() {
    auto* guard = reinterpret_cast<uv_handle_t*>(&drainTimer);
    if (!uv_is_closing(guard)) detail::closeHandle(guard, nullptr);
    uv_run(&loop, UV_RUN_NOWAIT);
    const int rc = detail::closeLoop(&loop);
    if (rc != 0) {
        log::error(std::string("Reactor: uv_loop_close failed: ") + uv_strerror(rc));
        logLingeringHandles();
    }
    phase = Phase::finished;
}

void ReactorState::logLingeringHandles() {
    uv_walk(
        &loop,
        [](uv_handle_t* handle, void*) {
            log::error(std::string("  open libuv handle: ") +
                       uv_handle_type_name(uv_handle_get_type(handle)) +
                       (uv_is_closing(handle) ? " (closing)" : "") +
                       (uv_is_active(handle) ? " (active)" : ""));
        },
        nullptr);
}

void ReactorState::track(Resource& resource) {
    if (!resources.pushBack(resource)) return;
    if (resourcesShutDown && !internalsClosed && !lateShutdownScheduled) {
        // Too late to serve: close it once its constructor is done. One call
        // serves every resource tracked until it runs.
        lateShutdownScheduled = true;
        reactor.callLater(Duration(0), [this] { shutdownLateResources(); });
    }
}

void ReactorState::untrack(Resource& resource) {
    if (!ResourceList::remove(resource)) return;
    if (phase == Phase::draining && resources.empty()) closeInternals();
}

}  // namespace twine::detail
