#include <twine/transports/reactor_pool.hpp>

#include <twine/core/error.hpp>
#include <twine/core/guard.hpp>
#include <twine/core/log.hpp>
#include <twine/transports/endpoints.hpp>

#include <sched.h>
#include <unistd.h>

#include <optional>
#include <stdexcept>
#include <utility>

namespace twine {
namespace detail {
namespace {

// An accepted descriptor in flight to a worker: closed if the call carrying
// it is dropped (the worker has already shut down).
class OwnedSocket {
public:
    explicit OwnedSocket(int fd) : fd_(fd) {}
    ~OwnedSocket() {
        if (fd_ >= 0) ::close(fd_);
    }
    OwnedSocket(const OwnedSocket&) = delete;
    OwnedSocket& operator=(const OwnedSocket&) = delete;
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

}  // namespace

/// One listen() on one worker, on that worker's thread: its own endpoint and
/// the factory serving the connections handed to it. A resource of the
/// worker's reactor, so its shutdown runs stopFactory there.
class WorkerServing final : public Resource {
public:
    WorkerServing(Reactor& reactor, const std::string& description,
                  const ReactorPool::FactoryMaker& makeFactory)
        : reactor_(reactor), endpoint_(serverFromString(reactor, description)) {
        handoff_ = dynamic_cast<HandoffEndpoint*>(endpoint_.get());
        if (handoff_ == nullptr) throw CannotListenError("not a stream endpoint");
        std::shared_ptr<Factory> factory = makeFactory(reactor);
        if (!factory) throw CannotListenError("makeFactory returned no factory");
        serving_ = handoff_->servingFactory(std::move(factory));
        reactor_.track(*this);
        try {
            serving_->doStart();
        } catch (...) {
            reactor_.untrack(*this);
            throw;
        }
        started_ = true;
    }

    void adopt(int fd) {
        if (!started_) {
            ::close(fd);
            return;
        }
        handoff_->adopt(serving_, fd);
    }

    void stop() {
        if (!std::exchange(started_, false)) return;
        reactor_.untrack(*this);
        guarded("Factory.doStop", [&] { serving_->doStop(); });
    }

    void shutdown() override { stop(); }

private:
    Reactor& reactor_;
    std::unique_ptr<ServerEndpoint> endpoint_;
    HandoffEndpoint* handoff_ = nullptr;
    std::shared_ptr<Factory> serving_;
    bool started_ = false;
};

/// One listen(), on the main thread: the acceptor, and each worker's
/// WorkerServing once it has reported.
class PoolListening final : public Port, public std::enable_shared_from_this<PoolListening> {
public:
    PoolListening(ReactorPool& pool, std::string description)
        : pool_(pool),
          description_(std::move(description)),
          servings_(pool.size()),
          workersLeft_(pool.size()) {}

    Deferred<std::shared_ptr<Port>> start(const ReactorPool::FactoryMaker& makeFactory) {
        auto endpoint = serverFromString(pool_.mainReactor(), description_);
        auto* handoff = dynamic_cast<HandoffEndpoint*>(endpoint.get());
        if (handoff == nullptr) {
            throw CannotListenError("Couldn't listen on " + description_ +
                                    ": a ReactorPool serves stream endpoints only.");
        }
        // A raw pointer: the pool keeps this alive longer than the main
        // reactor, which owns the acceptor.
        acceptor_ = handoff->listenHandingOff([this](int fd) { accepted(fd); });
        for (std::size_t i = 0; i < pool_.size(); ++i) postSetUp(i, makeFactory);
        return result_;
    }

    Address getHost() const override { return acceptor_->getHost(); }

    /// Stops accepting (handing over what the kernel had accepted), then
    /// stops every worker's factory.
    Deferred<void> stopListening() override {
        Deferred<void> done;
        stopWaiters_.push_back(done);
        if (std::exchange(stopping_, true)) {
            if (stopped_) fireStopped();
            return done;
        }
        stopAccepting();
        for (std::size_t i = 0; i < pool_.size(); ++i) {
            std::shared_ptr<WorkerServing> serving = servings_[i];
            if (!serving || pool_.workerFinished(i)) {
                // Nothing to stop, or its reactor's shutdown stopped it.
                workerStopped();
                continue;
            }
            Reactor* main = &pool_.mainReactor();
            auto self = shared_from_this();
            pool_.reactor(i).callFromThread([serving, self, main] {
                serving->stop();
                main->callFromThread([self] { self->workerStopped(); });
            });
        }
        return done;
    }

    /// Before the pool stops its workers: stop accepting, drained, so that
    /// every accepted connection reaches a worker before its stop does.
    void stopAccepting() {
        if (acceptorStopped_) return;
        acceptorStopped_ = true;
        acceptor_->stopListening();
    }

private:
    enum class State { starting, ready, failed };

    void postSetUp(std::size_t i, ReactorPool::FactoryMaker makeFactory) {
        Reactor* worker = &pool_.reactor(i);
        Reactor* main = &pool_.mainReactor();
        auto self = shared_from_this();
        std::string description = description_;
        worker->callFromThread([worker, main, self, i, description, makeFactory] {
            std::shared_ptr<WorkerServing> serving;
            std::optional<Failure> failure;
            try {
                serving = std::make_shared<WorkerServing>(*worker, description, makeFactory);
                self->pool_.keepOnWorker(i, serving);
            } catch (...) {
                failure.emplace();
            }
            main->callFromThread(
                [self, i, serving, failure] { self->reported(i, serving, failure); });
        });
    }

    void reported(std::size_t i, std::shared_ptr<WorkerServing> serving,
                  const std::optional<Failure>& failure) {
        servings_[i] = std::move(serving);
        if (failure && !failure_) {
            failure_ =
                Failure(CannotListenError("Couldn't listen on " + description_ + ": worker " +
                                          std::to_string(i) + ": " + failure->what()));
        }
        if (--workersLeft_ > 0) return;
        if (failure_) {
            failed();
            return;
        }
        state_ = State::ready;
        std::vector<int> parked = std::move(parked_);
        for (int fd : parked) accepted(fd);
        result_.callback(shared_from_this());
    }

    void failed() {
        state_ = State::failed;
        for (int fd : parked_) ::close(fd);
        parked_.clear();
        stopListening();
        result_.errback(*failure_);
    }

    void accepted(int fd) {
        switch (state_) {
            case State::starting:
                parked_.push_back(fd);
                return;
            case State::failed:
                ::close(fd);
                return;
            case State::ready:
                break;
        }
        const std::size_t i = pool_.nextWorker();
        std::shared_ptr<WorkerServing> serving = i < servings_.size() ? servings_[i] : nullptr;
        if (!serving) {
            log::warn("ReactorPool: no worker left to serve a connection on " + description_);
            ::close(fd);
            return;
        }
        auto socket = std::make_shared<OwnedSocket>(fd);
        pool_.reactor(i).callFromThread([serving, socket] { serving->adopt(socket->release()); });
    }

    void workerStopped() {
        if (++workersStopped_ < pool_.size()) return;
        stopped_ = true;
        fireStopped();
    }

    void fireStopped() {
        std::vector<Deferred<void>> waiters = std::move(stopWaiters_);
        for (auto& waiter : waiters) waiter.callback();
    }

    ReactorPool& pool_;
    std::string description_;
    std::shared_ptr<Port> acceptor_;
    std::vector<std::shared_ptr<WorkerServing>> servings_;
    std::size_t workersLeft_;
    std::size_t workersStopped_ = 0;
    std::optional<Failure> failure_;
    std::vector<int> parked_;  // accepted before every worker was ready
    State state_ = State::starting;
    bool acceptorStopped_ = false;
    bool stopping_ = false;
    bool stopped_ = false;
    Deferred<std::shared_ptr<Port>> result_;
    std::vector<Deferred<void>> stopWaiters_;
};

}  // namespace detail

struct ReactorPool::Worker {
    explicit Worker(std::size_t i)
        : index(i), reactor(std::make_unique<Reactor>(ReactorOptions{.handleSignals = false})) {}

    std::size_t index;
    std::unique_ptr<Reactor> reactor;
    // Worker thread only (then the destructor, after the join). Declared
    // after the reactor, so the factories go first.
    std::vector<std::shared_ptr<detail::WorkerServing>> servings;
    std::atomic<bool> finished{false};
    std::thread thread;
};

std::size_t ReactorPool::availableCpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        const int count = CPU_COUNT(&set);
        if (count > 0) return static_cast<std::size_t>(count);
    }
    const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? static_cast<std::size_t>(online) : 1;
}

ReactorPool::ReactorPool(std::size_t workers) : main_(std::make_unique<Reactor>()) {
    const std::size_t count = workers == 0 ? availableCpus() : workers;
    for (std::size_t i = 0; i < count; ++i) workers_.push_back(std::make_unique<Worker>(i));
    workersRunning_ = count;
    main_->addSystemEventTrigger(EventPhase::before, SystemEvent::shutdown,
                                 [this] { return drainAndStopWorkers(); });
    for (auto& worker : workers_) {
        worker->thread = std::thread([this, w = worker.get()] { runWorker(*w); });
    }
}

ReactorPool::~ReactorPool() {
    stopWorkers();
    for (auto& worker : workers_) {
        if (worker->thread.joinable()) worker->thread.join();
    }
    // The main reactor owns the acceptors, whose handoffs point at the
    // listenings: it goes first (closing what never ran).
    main_.reset();
    listenings_.clear();
    workers_.clear();
}

Reactor& ReactorPool::reactor(std::size_t i) {
    if (i >= workers_.size()) throw std::out_of_range("ReactorPool::reactor: no such worker");
    return *workers_[i]->reactor;
}

void ReactorPool::runWorker(Worker& worker) {
    detail::guarded("ReactorPool worker", [&] { worker.reactor->run(); });
    worker.finished.store(true, std::memory_order_release);
    main_->callFromThread([this] { onWorkerFinished(); });
}

bool ReactorPool::workerFinished(std::size_t i) const {
    return workers_[i]->finished.load(std::memory_order_acquire);
}

void ReactorPool::keepOnWorker(std::size_t i, std::shared_ptr<detail::WorkerServing> serving) {
    workers_[i]->servings.push_back(std::move(serving));
}

Deferred<std::shared_ptr<Port>> ReactorPool::listen(const std::string& endpoint,
                                                    FactoryMaker makeFactory) {
    if (!makeFactory) {
        return fail<std::shared_ptr<Port>>(std::invalid_argument("listen: no makeFactory"));
    }
    try {
        auto listening = std::make_shared<detail::PoolListening>(*this, endpoint);
        auto result = listening->start(makeFactory);
        listenings_.push_back(std::move(listening));
        return result;
    } catch (...) {
        return fail<std::shared_ptr<Port>>(Failure());
    }
}

Deferred<std::shared_ptr<Port>> ReactorPool::listen(
    const std::string& endpoint, std::function<std::shared_ptr<Factory>()> makeFactory) {
    if (!makeFactory) {
        return fail<std::shared_ptr<Port>>(std::invalid_argument("listen: no makeFactory"));
    }
    return listen(endpoint,
                  FactoryMaker([make = std::move(makeFactory)](Reactor&) { return make(); }));
}

Deferred<void> ReactorPool::forEach(std::function<void(Reactor&)> fn) {
    if (!fn) throw std::invalid_argument("forEach: empty function");
    // Touched on the main thread only (the workers carry a plain pointer
    // back to it): a Deferred's count is not atomic, so no copy of it may be
    // released on a worker. The last report deletes it.
    struct Progress {
        std::size_t left = 0;
        std::exception_ptr firstError;
        Deferred<void> done;
        void report(std::exception_ptr thrown) {
            if (thrown && !firstError) firstError = thrown;
            if (--left > 0) return;
            Deferred<void> result = done;
            std::exception_ptr error = firstError;
            delete this;
            if (error) {
                result.errback(Failure(error));
            } else {
                result.callback();
            }
        }
    };
    auto* progress = new Progress;
    progress->left = workers_.size() + 1;
    Deferred<void> done = progress->done;
    auto shared = std::make_shared<const std::function<void(Reactor&)>>(std::move(fn));
    Reactor* main = main_.get();
    for (auto& worker : workers_) {
        Reactor* reactor = worker->reactor.get();
        if (worker->finished.load(std::memory_order_acquire)) {
            progress->report(std::make_exception_ptr(
                ReactorNotRunning("ReactorPool::forEach: a worker has stopped")));
            continue;
        }
        reactor->callFromThread([reactor, main, shared, progress] {
            std::exception_ptr thrown;
            try {
                (*shared)(*reactor);
            } catch (...) {
                thrown = std::current_exception();
                log::failure(Failure(thrown), "Unhandled error in a ReactorPool::forEach call");
            }
            main->callFromThread([progress, thrown] { progress->report(thrown); });
        });
    }
    progress->report(nullptr);  // the +1: no report may finish it before the loop ends
    return done;
}

void ReactorPool::run() {
    if (std::exchange(ran_, true)) throw ReactorNotRestartable();
    main_->run();
    for (auto& worker : workers_) {
        if (worker->thread.joinable()) worker->thread.join();
    }
}

void ReactorPool::stop() {
    Reactor* main = main_.get();
    main->callFromThread([main] {
        if (main->running()) main->stop();
    });
}

std::size_t ReactorPool::nextWorker() {
    for (std::size_t tried = 0; tried < workers_.size(); ++tried) {
        const std::size_t i = nextWorker_;
        nextWorker_ = (nextWorker_ + 1) % workers_.size();
        if (!workerFinished(i)) return i;
    }
    return workers_.size();
}

// The main reactor's "before shutdown": acceptors first, so that every
// accepted connection is posted to its worker before that worker's stop.
Deferred<void> ReactorPool::drainAndStopWorkers() {
    for (auto& listening : listenings_) listening->stopAccepting();
    stopWorkers();
    if (workersRunning_ == 0) return succeed();
    return workersDone_;
}

// The stop waits one more loop turn on each worker: a connection adopted in
// the same turn has then read what its client had already sent (closing a
// socket with unread data would reset it) before its graceful close.
void ReactorPool::stopWorkers() {
    for (auto& worker : workers_) {
        Reactor* reactor = worker->reactor.get();
        reactor->callFromThread([reactor] {
            // A call made by a timed call runs on the next turn, after its poll.
            reactor->callLater(Duration(0), [reactor] {
                reactor->callLater(Duration(0), [reactor] {
                    if (reactor->running()) reactor->stop();
                });
            });
        });
    }
}

void ReactorPool::onWorkerFinished() {
    if (--workersRunning_ == 0 && !main_->running()) workersDone_.callback();
}

}  // namespace twine
