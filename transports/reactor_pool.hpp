#pragma once

// ReactorPool lives with the transports, not in core/: listen() takes an
// endpoint description and needs the stream transports to accept and adopt
// connections, and core/ must not include transports/.

#include <twine/core/deferred.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/port.hpp>
#include <twine/core/reactor.hpp>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace twine {

namespace detail {
class PoolListening;
class WorkerServing;
}  // namespace detail

/// Several cores: one Reactor per worker thread, each with its own
/// factories, protocols, timers and Deferreds. A Protocol still never sees a
/// lock: everything it touches belongs to its worker.
///
///     twine::ReactorPool pool(4);
///     pool.listen("tcp:8080", [] { return twine::ServerFactory::forProtocol<Echo>(); });
///     pool.run();   // until pool.stop() or SIGINT / SIGTERM
///
/// Threads. The pool itself belongs to the thread that made it, which is the
/// thread that calls run(): it runs mainReactor() there. The main reactor
/// accepts every connection (one socket per listen(), so the accept queue is
/// one queue) and hands each accepted socket round-robin to the next worker,
/// which adopts it into its own loop: 1000 connections over 4 workers give
/// exactly 250 each. The workers run from construction, so callFromThread
/// and forEach work before run().
///
/// Deferreds stay single-threaded. A Deferred belongs to the reactor that
/// made it, and its callbacks run on that reactor's thread: never fire or
/// chain another worker's Deferred. To hand a result to another worker, post
/// it: `pool.reactor(j).callFromThread([value] { ... })` (copy or move the
/// value in; the lambda runs on worker j, where it may fire worker j's
/// Deferreds). Deferreds the pool returns (listen, forEach, stopListening)
/// belong to mainReactor().
///
/// Stopping drains: stop() (or SIGINT / SIGTERM, which only the main reactor
/// watches) first stops every acceptor, taking and handing over whatever the
/// kernel has already accepted (so no accepted connection is reset), then
/// stops each worker's Reactor gracefully: stopFactory runs on each worker,
/// queued writes are flushed, connections close cleanly. run() returns once
/// every worker has finished.
///
/// Failures. An exception escaping a callback is caught and logged by the
/// worker's reactor, which goes on serving. A worker that cannot listen
/// (its makeFactory throws, its TLS certificate does not load) fails the
/// listen() for all workers, with CannotListenError naming it.
class ReactorPool {
public:
    /// Makes one worker's factory, on that worker's thread, given its reactor.
    using FactoryMaker = std::function<std::shared_ptr<Factory>(Reactor&)>;

    /// `workers` worker threads; 0 means one per CPU this process may run on
    /// (sched_getaffinity).
    explicit ReactorPool(std::size_t workers);
    /// Stops the workers if they still run and joins them.
    ~ReactorPool();
    ReactorPool(const ReactorPool&) = delete;
    ReactorPool& operator=(const ReactorPool&) = delete;

    /// The number of CPUs this process may run on (at least 1).
    static std::size_t availableCpus();

    /// The number of workers.
    std::size_t size() const { return workers_.size(); }
    /// Worker i's reactor. Only its callFromThread may be used from another
    /// thread; everything else on it runs on worker i's thread.
    Reactor& reactor(std::size_t i);
    /// The reactor run() runs on the owning thread: it accepts, and the
    /// pool's Deferreds fire on it.
    Reactor& mainReactor() { return *main_; }

    /// On the owning thread. Listens on a stream endpoint ("tcp:8080",
    /// "tcp6:8080", "unix:/run/x.sock", "ssl:8443:certKey=...:privateKey=...").
    /// `makeFactory` is called once on each worker's thread (so on several
    /// threads at once: it must not touch shared state unguarded), and that
    /// worker's connections are served by the factory it returns (behind
    /// TLS made on that worker, for ssl:). Fires, on mainReactor() once it
    /// runs, with the listening Port (getHost() is the bound address;
    /// stopListening() stops accepting, drained, and stops every worker's
    /// factory) when every worker is ready; fails with CannotListenError, or
    /// std::invalid_argument for a malformed description.
    Deferred<std::shared_ptr<Port>> listen(const std::string& endpoint, FactoryMaker makeFactory);
    /// As above, for a maker that does not need the worker's reactor.
    Deferred<std::shared_ptr<Port>> listen(const std::string& endpoint,
                                           std::function<std::shared_ptr<Factory>()> makeFactory);

    /// On the owning thread: runs fn(reactor) on every worker's thread. Fires
    /// (on mainReactor()) once fn has returned on all of them; fails with the
    /// first exception fn threw (each worker goes on either way).
    Deferred<void> forEach(std::function<void(Reactor&)> fn);

    /// Runs mainReactor() until stop() or SIGINT / SIGTERM, and returns when
    /// every worker has stopped. Once only.
    void run();
    /// Thread-safe, any time (before run() too): stops the pool as described
    /// above. A second call does nothing.
    void stop();

private:
    struct Worker;
    friend class detail::PoolListening;

    void runWorker(Worker& worker);
    /// On worker i's thread: keeps its factory until the pool goes.
    void keepOnWorker(std::size_t i, std::shared_ptr<detail::WorkerServing> serving);
    Deferred<void> drainAndStopWorkers();
    bool workerFinished(std::size_t i) const;
    void onWorkerFinished();
    /// The next worker to take a connection: round-robin over the workers
    /// still running. Main thread only.
    std::size_t nextWorker();
    void stopWorkers();

    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::shared_ptr<detail::PoolListening>> listenings_;
    std::size_t nextWorker_ = 0;
    std::size_t workersRunning_ = 0;
    Deferred<void> workersDone_;
    bool ran_ = false;
    std::unique_ptr<Reactor> main_;
};

}  // namespace twine
