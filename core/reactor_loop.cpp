#include <twine/core/error.hpp>
#include <twine/core/guard.hpp>
#include <twine/core/log.hpp>
#include <twine/core/reactor_state.hpp>
#include <twine/core/uv_close.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <string>

namespace twine::detail {
namespace {

ReactorState& stateOf(const void* handle) {
    return *static_cast<ReactorState*>(static_cast<const uv_handle_t*>(handle)->data);
}

void throwIfFailed(int rc, const char* what) {
    if (rc != 0) throw Error(std::string(what) + ": " + uv_strerror(rc));
}

// The libuv entry points: each one is guarded, so no exception reaches C.
void onPrepare(uv_prepare_t* handle) {
    ReactorState& state = stateOf(handle);
    if (state.timersDirty) guarded("Reactor timer arming", [&] { state.armTimers(); });
}

void onCheck(uv_check_t* handle) {
    ReactorState& state = stateOf(handle);
    guarded("Reactor timed calls", [&] { state.runDueTimers(); });
}

void onTimer(uv_timer_t* handle) {
    ReactorState& state = stateOf(handle);
    // The timer is one-shot: whatever happens, the next prepare re-arms it.
    state.markTimersDirty();
    guarded("Reactor timed calls", [&] { state.runDueTimers(); });
}

void onIdle(uv_idle_t*) {
    // Nothing to do: an active idle handle only keeps the poll from blocking
    // while a timed call is already due; the check handle runs it.
}

void onAsync(uv_async_t* handle) {
    ReactorState& state = stateOf(handle);
    guarded("Reactor callFromThread queue", [&] { state.runThreadCalls(); });
}

void onSignal(uv_signal_t* handle, int signum) {
    ReactorState& state = stateOf(handle);
    guarded("Reactor signal handler", [&] {
        if (state.phase != ReactorState::Phase::running) return;
        log::info(std::string("Received ") + (signum == SIGINT ? "SIGINT" : "SIGTERM") +
                  ", shutting down.");
        state.reactor.stop();
    });
}

void startSignal(uv_signal_t& handle, int signum) {
    const int rc = uv_signal_start(&handle, onSignal, signum);
    if (rc != 0) log::warn(std::string("Cannot watch a signal: ") + uv_strerror(rc));
}

void closeEverything(uv_loop_t& loop) {
    uv_walk(
        &loop,
        [](uv_handle_t* handle, void*) {
            if (!uv_is_closing(handle)) detail::closeHandle(handle, nullptr);
        },
        nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    detail::closeLoop(&loop);
}

}  // namespace

ReactorState::ReactorState(Reactor& owner, const ReactorOptions& options)
    : reactor(owner), timers(owner, [this] { timersDirty = true; }) {
    throwIfFailed(uv_loop_init(&loop), "uv_loop_init");
    loop.data = &owner;  // so that a handle finds its reactor: Reactor::of
    try {
        initHandles(options.handleSignals);
    } catch (...) {
        closeEverything(loop);
        throw;
    }
}

void ReactorState::initHandles(bool handleSignals) {
    throwIfFailed(uv_timer_init(&loop, &timer), "uv_timer_init");
    throwIfFailed(uv_timer_init(&loop, &drainTimer), "uv_timer_init");
    throwIfFailed(uv_prepare_init(&loop, &prepare), "uv_prepare_init");
    throwIfFailed(uv_check_init(&loop, &check), "uv_check_init");
    throwIfFailed(uv_idle_init(&loop, &idle), "uv_idle_init");
    throwIfFailed(uv_signal_init(&loop, &sigint), "uv_signal_init");
    throwIfFailed(uv_signal_init(&loop, &sigterm), "uv_signal_init");
    throwIfFailed(uv_async_init(&loop, &async, onAsync), "uv_async_init");
    for (uv_handle_t* handle : internalHandles()) handle->data = this;
    // Only the async handle keeps the loop alive: it is what callFromThread
    // and run()'s "until stop()" rest on. The others must not, so the loop
    // can end once shutdown has closed everything else.
    for (uv_handle_t* handle : internalHandles()) {
        if (handle != reinterpret_cast<uv_handle_t*>(&async)) uv_unref(handle);
    }
    uv_prepare_start(&prepare, onPrepare);
    uv_check_start(&check, onCheck);
    // Watched from construction, not from run(): a SIGINT or SIGTERM that
    // arrives between the two (a program printing where it listens, then
    // running) waits in libuv's signal pipe and stops the reactor once it runs.
    if (handleSignals) {
        startSignal(sigint, SIGINT);
        startSignal(sigterm, SIGTERM);
    }
}

std::array<uv_handle_t*, 8> ReactorState::internalHandles() {
    return {reinterpret_cast<uv_handle_t*>(&timer),   reinterpret_cast<uv_handle_t*>(&drainTimer),
            reinterpret_cast<uv_handle_t*>(&prepare), reinterpret_cast<uv_handle_t*>(&check),
            reinterpret_cast<uv_handle_t*>(&idle),    reinterpret_cast<uv_handle_t*>(&sigint),
            reinterpret_cast<uv_handle_t*>(&sigterm), reinterpret_cast<uv_handle_t*>(&async)};
}

void ReactorState::closeIfNeverRun() {
    if (phase != Phase::notStarted) return;
    // Close what was opened, with the same bounded drain as a shutdown.
    phase = Phase::shuttingDown;
    shutdownResources();
    startDrain();
    runLoop();
    closeLoop();
}

void ReactorState::run() {
    phase = Phase::running;
    auto& startup = events[static_cast<std::size_t>(SystemEvent::startup)];
    startup.runBefore([&startup] { startup.runDuringAndAfter(); });
    runLoop();
    closeLoop();
}

void ReactorState::runLoop() {
    // uv_run only returns early if someone calls uv_stop on our loop; until
    // shutdown has closed the internal handles, go on.
    do {
        uv_run(&loop, UV_RUN_DEFAULT);
    } while (!internalsClosed);
}

void ReactorState::armTimers() {
    timersDirty = false;
    if (timers.empty()) {
        uv_timer_stop(&timer);
        uv_idle_stop(&idle);
        return;
    }
    const double wait = timers.earliest() - reactor.seconds();
    if (wait <= 0) {
        // Due already: poll without blocking; the check handle runs it. (A
        // zero libuv timer would run in the same timer pass and starve I/O.)
        uv_timer_stop(&timer);
        uv_idle_start(&idle, onIdle);
        return;
    }
    uv_idle_stop(&idle);
    uv_update_time(&loop);
    // Rounded up, so the timer never fires before the call is due; capped
    // so that a very distant call cannot overflow.
    const double ms = std::min(std::ceil(wait * 1000.0), 1e15);
    uv_timer_start(&timer, onTimer, static_cast<std::uint64_t>(ms), 0);
}

void ReactorState::runDueTimers() {
    if (timers.empty()) return;
    const double now = reactor.seconds();
    if (timers.earliest() > now) return;
    // Calls scheduled by these calls wait for the next iteration, as in
    // Twisted, so a call that reschedules itself with no delay cannot starve I/O.
    timers.runDue(now, timers.nextSequence());
    timersDirty = true;
}

void ReactorState::runThreadCalls() {
    {
        std::lock_guard lock(threadCallsMutex);
        runningThreadCalls.swap(threadCalls);
    }
    for (auto& call : runningThreadCalls) {
        guarded("Unhandled error in a callFromThread call", call);
    }
    runningThreadCalls.clear();
}

void ReactorState::queueThreadCall(std::function<void()> fn) {
    std::lock_guard lock(threadCallsMutex);
    if (threadCallsClosed) {
        log::debug("callFromThread after the reactor has shut down: call dropped");
        return;
    }
    const bool wake = threadCalls.empty();
    threadCalls.push_back(std::move(fn));
    // Under the mutex, so shutdown cannot close the handle in between. One
    // wake-up serves every call queued until the loop swaps the queue out.
    if (wake) uv_async_send(&async);
}

}  // namespace twine::detail
