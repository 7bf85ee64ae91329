#include <twine/core/error.hpp>
#include <twine/core/guard.hpp>
#include <twine/core/reactor.hpp>

#include <csignal>
#include <twine/core/reactor_state.hpp>

#include <stdexcept>
#include <string>

namespace twine {
namespace {

// One thread-pool request: the work runs on a pool thread, done on the loop.
struct PoolJob {
    uv_work_t request{};
    std::function<void()> work;
    std::function<void()> done;
};

void onPoolWork(uv_work_t* request) {
    auto* job = static_cast<PoolJob*>(request->data);
    detail::guarded("Unhandled error in a thread pool call", job->work);
}

void afterPoolWork(uv_work_t* request, int status) {
    std::unique_ptr<PoolJob> job(static_cast<PoolJob*>(request->data));
    if (status != 0) log::warn(std::string("Thread pool call: ") + uv_strerror(status));
    detail::guarded("Unhandled error delivering a thread pool result", job->done);
}

detail::ThreePhaseEvent& eventOf(detail::ReactorState& state, SystemEvent event) {
    return state.events[static_cast<std::size_t>(event)];
}

}  // namespace

Reactor::Reactor() : Reactor(ReactorOptions{}) {}

Reactor::Reactor(ReactorOptions options)
    : state_(std::make_unique<detail::ReactorState>(*this, options)) {
    // A peer that hangs up while we write must be an EPIPE error on that
    // connection, not a signal that kills the whole process.
    std::signal(SIGPIPE, SIG_IGN);
}

Reactor::~Reactor() {
    // While state_ is whole: resources closing now still call untrack().
    state_->closeIfNeverRun();
}

void Reactor::run() {
    if (state_->insideRun) throw ReactorAlreadyRunning();
    if (state_->phase != detail::ReactorState::Phase::notStarted) throw ReactorNotRestartable();
    state_->insideRun = true;
    state_->run();
    state_->insideRun = false;
}

void Reactor::stop() {
    if (!running()) throw ReactorNotRunning();
    state_->phase = detail::ReactorState::Phase::shuttingDown;
    // As in Twisted, the shutdown starts on the next iteration, so stop()
    // returns to its caller first.
    detail::ReactorState* state = state_.get();
    callLater(Duration(0), [state] { state->beginShutdown(); });
}

bool Reactor::running() const {
    return state_->phase == detail::ReactorState::Phase::running;
}

double Reactor::seconds() const {
    return static_cast<double>(uv_hrtime()) * 1e-9;
}

DelayedCall Reactor::callLater(Duration delay, std::function<void()> fn) {
    return state_->timers.schedule(delay.count(), std::move(fn));
}

void Reactor::callFromThread(std::function<void()> fn) {
    if (!fn) throw std::invalid_argument("callFromThread: empty function");
    state_->queueThreadCall(std::move(fn));
}

Reactor::TriggerId Reactor::addSystemEventTrigger(EventPhase phase, SystemEvent event,
                                                  std::function<Deferred<void>()> trigger) {
    if (!trigger) throw std::invalid_argument("addSystemEventTrigger: empty trigger");
    const TriggerId id = state_->nextTriggerId++;
    eventOf(*state_, event).add(id, phase, std::move(trigger));
    return id;
}

void Reactor::removeSystemEventTrigger(TriggerId id) {
    for (auto& event : state_->events) {
        if (event.remove(id)) return;
    }
    throw std::invalid_argument("removeSystemEventTrigger: no trigger " + std::to_string(id));
}

uv_loop_s* Reactor::uvLoop() {
    return &state_->loop;
}

Reactor& Reactor::of(uv_loop_s* loop) {
    return *static_cast<Reactor*>(loop->data);
}

std::span<char> Reactor::readBuffer() {
    if (!state_->readBuffer) {
        state_->readBuffer = std::make_unique_for_overwrite<char[]>(detail::readBufferSize);
    }
    return {state_->readBuffer.get(), detail::readBufferSize};
}

void Reactor::track(detail::Resource& resource) {
    state_->track(resource);
}

void Reactor::untrack(detail::Resource& resource) {
    state_->untrack(resource);
}

void Reactor::runInThreadPool(std::function<void()> work, std::function<void()> done) {
    if (!work || !done) throw std::invalid_argument("runInThreadPool: empty function");
    if (state_->internalsClosed) throw ReactorNotRunning("The reactor has shut down.");
    auto job = std::make_unique<PoolJob>();
    job->request.data = job.get();
    job->work = std::move(work);
    job->done = std::move(done);
    const int rc = uv_queue_work(&state_->loop, &job->request, onPoolWork, afterPoolWork);
    if (rc != 0) throw Error(std::string("uv_queue_work: ") + uv_strerror(rc));
    job.release();  // afterPoolWork owns it now
}

}  // namespace twine
