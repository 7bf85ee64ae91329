#pragma once

#include <twine/core/reactor.hpp>
#include <twine/core/reactor_events.hpp>
#include <twine/core/resource_list.hpp>
#include <twine/core/timer_queue.hpp>

#include <uv.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace twine::detail {

/// Everything behind a Reactor: the libuv loop, its internal handles, the
/// timer queue, the callFromThread queue, the system event triggers and the
/// registry of live resources. Only the Reactor's files see it.
struct ReactorState {
    enum class Phase { notStarted, running, shuttingDown, draining, closing, finished };

    ReactorState(Reactor& owner, const ReactorOptions& options);
    ReactorState(const ReactorState&) = delete;
    ReactorState& operator=(const ReactorState&) = delete;
    /// For a reactor destroyed without having run: shuts its resources down
    /// and closes the loop.
    void closeIfNeverRun();

    // The loop, time and threads (reactor_loop.cpp).
    void initHandles(bool handleSignals);
    std::array<uv_handle_t*, 8> internalHandles();
    void run();
    void runLoop();
    void markTimersDirty() { timersDirty = true; }
    void armTimers();
    void runDueTimers();
    void runThreadCalls();
    void queueThreadCall(std::function<void()> fn);

    // Shutdown (reactor_shutdown.cpp).
    void beginShutdown();
    void shutdownResources();
    void abortResources();
    void forEachResource(void (Resource::*method)(), const char* context);
    void startDrain();
    void onDrainTimeout();
    void closeInternals();
    void closeLoop();
    void logLingeringHandles();
    void track(Resource& resource);
    void untrack(Resource& resource);
    void shutdownLateResources();

    Reactor& reactor;
    Phase phase = Phase::notStarted;
    bool insideRun = false;
    uv_loop_t loop{};

    // Internal handles. The timer wakes the loop for the earliest call; the
    // idle handle keeps the poll from blocking while a call is already due;
    // the check handle runs due calls after each poll.
    uv_timer_t timer{};
    uv_prepare_t prepare{};
    uv_check_t check{};
    uv_idle_t idle{};
    uv_async_t async{};
    uv_signal_t sigint{};
    uv_signal_t sigterm{};
    uv_timer_t drainTimer{};
    bool internalsClosed = false;
    bool abortedLingering = false;

    TimerQueue timers;
    bool timersDirty = true;

    // callFromThread: swapped out under the mutex, then run unlocked.
    std::mutex threadCallsMutex;
    std::vector<std::function<void()>> threadCalls;
    std::vector<std::function<void()>> runningThreadCalls;
    bool threadCallsClosed = false;

    std::array<ThreePhaseEvent, 2> events;
    Reactor::TriggerId nextTriggerId = 1;

    // Live resources in the order they were tracked (shutdown closes them in
    // that order), linked through the resources themselves.
    ResourceList resources;
    // Once shutdown has begun, resources tracked after this marker are shut
    // down on the next iteration (tracking happens in their constructors).
    // Declared after the list, so it leaves the list before the list goes.
    ResourceList::Marker lateResources;
    bool resourcesShutDown = false;
    bool lateShutdownScheduled = false;

    std::unique_ptr<char[]> readBuffer;
};

/// How long shutdown waits for resources to close before aborting them, and
/// then how long for the aborted ones and everything else libuv still holds.
inline constexpr std::uint64_t drainTimeoutMs = 5000;
inline constexpr std::uint64_t abortTimeoutMs = 2000;
inline constexpr std::size_t readBufferSize = 256 * 1024;

}  // namespace twine::detail
