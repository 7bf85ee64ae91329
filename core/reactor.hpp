#pragma once

#include <twine/core/address.hpp>
#include <twine/core/deferred.hpp>
#include <twine/core/reactor_thread_job.hpp>
#include <twine/core/reactor_time.hpp>
#include <twine/core/resource_list.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>

struct uv_loop_s;

namespace twine {

class ClientFactory;
class Connector;
class DatagramProtocol;
class Factory;
class Port;
class TLSOptions;

/// How Reactor::listenTCP (and listenSSL) binds.
struct TCPListenOptions {
    /// The address to bind: "" means every IPv4 address ("0.0.0.0"); "::"
    /// serves IPv6 and, where the OS allows, IPv4 too.
    std::string interface;
    /// 0 means the system maximum (SOMAXCONN).
    int backlog = 0;
};

/// How Reactor::listenUNIX binds.
struct UNIXListenOptions {
    /// The socket file's permissions (chmod after bind; not for abstract sockets).
    int mode = 0666;
    /// 0 means the system maximum (SOMAXCONN).
    int backlog = 0;
};

/// How Reactor::connectTCP / connectUNIX (and connectSSL) connect.
struct ConnectOptions {
    /// The whole attempt, every address included, fails with TimeoutError after this.
    Duration timeout = std::chrono::seconds(30);
    /// The local address to bind before connecting, if any.
    std::optional<Address> bindAddress;
    /// Happy Eyeballs (RFC 8305): when a name resolves to several addresses,
    /// the next attempt starts when the previous one fails or after this
    /// long, whichever comes first; the first to connect wins.
    Duration attemptDelay = std::chrono::milliseconds(250);
};

/// How Reactor::listenUDP binds.
struct UDPListenOptions {
    /// The address to bind, an IPv4 or IPv6 literal: "" means every IPv4
    /// address ("0.0.0.0"); "::" serves IPv6 and IPv4.
    std::string interface;
    /// Longer datagrams are dropped whole, never delivered truncated. 1 to 65535.
    std::size_t maxPacketSize = 65535;
};

/// How a Reactor is set up.
struct ReactorOptions {
    /// Stop gracefully on SIGINT / SIGTERM. A ReactorPool's workers turn it
    /// off: the pool stops them itself, after its acceptors have drained.
    bool handleSignals = true;
};

/// When a system event trigger runs, as Twisted's "before", "during", "after".
enum class EventPhase { before, during, after };
/// The reactor's system events: run() starting, and the shutdown stop() begins.
enum class SystemEvent { startup, shutdown };

namespace detail {

struct ReactorState;

/// Something the reactor must close when it shuts down: a connection, a
/// listening port, a connector. Transports register themselves with
/// Reactor::track and leave with Reactor::untrack; the links live in the
/// resource, so it can be neither copied nor moved. One destroyed while still
/// tracked leaves the registry on its own, but untrack() is still the way out:
/// only it tells a draining reactor that its last resource has gone.
class Resource : public ResourceLink {
public:
    Resource() = default;
    ~Resource() override = default;
    /// Close gracefully: ports stop listening, connections lose their
    /// connection (flushing first), connectors stop connecting.
    virtual void shutdown() = 0;
    /// Close now, dropping unsent data. Called at shutdown on a resource
    /// still tracked a few seconds after shutdown(): a connection whose peer
    /// never reads must not hold the process. The default does nothing.
    virtual void abort() {}

private:
    Resource* resource() final { return this; }
};

}  // namespace detail

/// The event loop: one libuv loop, single-threaded. Everything but
/// callFromThread must be called on the thread that runs it.
class Reactor final : public ReactorTime {
public:
    /// A reactor with the default options (it handles SIGINT and SIGTERM).
    Reactor();
    /// A reactor with `options`.
    explicit Reactor(ReactorOptions options);
    ~Reactor() override;
    Reactor(const Reactor&) = delete;
    Reactor& operator=(const Reactor&) = delete;

    /// Runs the loop until stop() (or SIGINT / SIGTERM) and the shutdown has
    /// completed. A second run() throws ReactorNotRestartable.
    void run();
    /// Starts a graceful shutdown: "before shutdown" triggers (waiting for
    /// the Deferreds they return), ports close, connections are lost cleanly,
    /// "during" and "after" triggers, then run() returns. Throws
    /// ReactorNotRunning when not running.
    void stop();
    /// True inside run(), until stop() begins the shutdown.
    bool running() const;

    // Time.
    double seconds() const override;
    DelayedCall callLater(Duration delay, std::function<void()> fn) override;

    // Threads.
    /// Thread-safe: runs fn on the reactor thread, in FIFO order, waking the loop.
    void callFromThread(std::function<void()> fn);

    /// Runs fn on libuv's thread pool; its result or exception arrives on
    /// the reactor thread as the Deferred's result. The pool is libuv's, shared
    /// with DNS lookups and file operations (UV_THREADPOOL_SIZE threads, 4 by
    /// default): long blocking work there delays them.
    template <class F>
    auto deferToThread(F fn) -> Deferred<std::remove_cvref_t<std::invoke_result_t<F&>>>;

    // Names.
    /// As Twisted's reactor.resolve: the first IPv4 address of `name`, looked
    /// up on libuv's thread pool (an IP literal comes back as it is). Fails
    /// with DNSLookupError; cancelling the Deferred drops the lookup.
    Deferred<std::string> resolve(const std::string& name);

    // System events, as Twisted's addSystemEventTrigger. A trigger may
    // return a Deferred<void>; the phase waits for it.

    /// Names a trigger, for removeSystemEventTrigger.
    using TriggerId = std::uint64_t;
    /// Runs `trigger` in `phase` of `event`; the phase waits for the Deferred
    /// it returns. Throws std::invalid_argument for an empty trigger.
    TriggerId addSystemEventTrigger(EventPhase phase, SystemEvent event,
                                    std::function<Deferred<void>()> trigger);
    /// A trigger returning void: the phase goes on as soon as it returns.
    template <class F>
    requires std::is_void_v<std::invoke_result_t<F&>> TriggerId
    addSystemEventTrigger(EventPhase phase, SystemEvent event, F trigger) {
        return addSystemEventTrigger(
            phase, event, std::function<Deferred<void>()>([trigger = std::move(trigger)]() mutable {
                trigger();
                return succeed();
            }));
    }
    /// Removes a trigger; throws std::invalid_argument for an unknown id.
    void removeSystemEventTrigger(TriggerId id);

    // Networking. Defined by the transports part. Listening throws
    // CannotListenError (the address in use, not a numeric interface...);
    // connecting never throws for the network: the factory hears
    // clientConnectionFailed. A port keeps itself alive while listening
    // (Port::stopListening closes it); a connector only while connecting or
    // connected, so keep it to retry.

    /// Listens on TCP `port` (0: any free port; Port::getHost tells which),
    /// building a protocol per connection from `factory`.
    std::shared_ptr<Port> listenTCP(std::uint16_t port, std::shared_ptr<Factory> factory,
                                    TCPListenOptions options = {});
    /// Connects to `host` (a name or an IP literal) and `port`. A name with
    /// several addresses is raced Happy Eyeballs style (ConnectOptions::attemptDelay).
    std::shared_ptr<Connector> connectTCP(const std::string& host, std::uint16_t port,
                                          std::shared_ptr<ClientFactory> factory,
                                          ConnectOptions options = {});
    /// Listens on a Unix socket; a leading '@' is a Linux abstract name. A
    /// stale socket file nobody listens on is replaced; a live one is
    /// CannotListenError (address in use).
    std::shared_ptr<Port> listenUNIX(const std::string& path, std::shared_ptr<Factory> factory,
                                     UNIXListenOptions options = {});
    /// Connects to the Unix socket at `path`.
    std::shared_ptr<Connector> connectUNIX(const std::string& path,
                                           std::shared_ptr<ClientFactory> factory,
                                           ConnectOptions options = {});
    /// Binds UDP `port` and starts `protocol` on it (one protocol per port).
    /// Throws std::invalid_argument for a null protocol or bad options.
    std::shared_ptr<Port> listenUDP(std::uint16_t port, std::shared_ptr<DatagramProtocol> protocol,
                                    UDPListenOptions options = {});
    /// listenTCP with every connection inside TLS. A bad certificate or key
    /// throws TLSError here, not per connection.
    std::shared_ptr<Port> listenSSL(std::uint16_t port, std::shared_ptr<Factory> factory,
                                    const TLSOptions& tls, TCPListenOptions options = {});
    /// connectTCP, then TLS. `tls` must be client options (TLSError if not);
    /// without a hostname of its own, `host` is the name verified.
    std::shared_ptr<Connector> connectSSL(const std::string& host, std::uint16_t port,
                                          std::shared_ptr<ClientFactory> factory,
                                          const TLSOptions& tls, ConnectOptions options = {});

    // For transports (internal API).

    /// The libuv loop this reactor runs.
    uv_loop_s* uvLoop();
    /// The reactor whose loop this is: a handle finds it without keeping a
    /// reference of its own (8 bytes a connection).
    static Reactor& of(uv_loop_s* loop);
    /// The one read buffer every connection reads into (about 256 KiB).
    std::span<char> readBuffer();
    /// Registers a resource the shutdown must close (see detail::Resource).
    void track(detail::Resource& resource);
    /// Unregisters it; the last one out lets a draining shutdown finish.
    void untrack(detail::Resource& resource);
    /// Runs work on libuv's thread pool, then done on the reactor thread.
    void runInThreadPool(std::function<void()> work, std::function<void()> done);

private:
    std::unique_ptr<detail::ReactorState> state_;
};

template <class F>
auto Reactor::deferToThread(F fn) -> Deferred<std::remove_cvref_t<std::invoke_result_t<F&>>> {
    using R = std::remove_cvref_t<std::invoke_result_t<F&>>;
    // Shared, so that a move-only fn still fits in std::function; released on
    // the reactor thread once the result is delivered.
    auto job = std::make_shared<detail::ThreadJob<F, R>>(std::move(fn));
    Deferred<R> result;
    runInThreadPool([job] { job->run(); }, [job, result]() mutable { job->deliver(result); });
    return result;
}

}  // namespace twine
