#pragma once

#include <twine/core/address.hpp>
#include <twine/core/deferred.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/port.hpp>
#include <twine/core/reactor.hpp>
#include <twine/transports/stream_transport.hpp>

#include <uv.h>

#include <sys/types.h>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace twine::detail {

/// A listening TCP or Unix socket. Each accepted connection becomes a
/// StreamTransport owning the protocol the factory builds. The port keeps
/// itself alive while listening (dropping the handle does not stop it, as in
/// Twisted), until stopListening or the reactor's shutdown closes it.
///
/// A port with a Handoff serves nothing itself: it gives each accepted
/// socket's descriptor to the handoff (a ReactorPool's acceptor gives it to a
/// worker, which adopts it), and before it closes it accepts and hands off
/// everything still waiting in the kernel's accept queue, so that closing it
/// resets no connection the kernel had already accepted.
class StreamPort final : public Port,
                         public Resource,
                         public std::enable_shared_from_this<StreamPort> {
public:
    /// Takes ownership of an accepted, connected socket descriptor.
    using Handoff = std::function<void(int fd)>;

    /// Throw CannotListenError with the reason when the socket cannot be
    /// bound or listened on. With a handoff, `factory` may be null.
    static std::shared_ptr<StreamPort> listenTCP(Reactor& reactor, std::uint16_t port,
                                                 std::shared_ptr<Factory> factory,
                                                 const TCPListenOptions& options,
                                                 Handoff handoff = {});
    static std::shared_ptr<StreamPort> listenUNIX(Reactor& reactor, const std::string& path,
                                                  std::shared_ptr<Factory> factory,
                                                  const UNIXListenOptions& options,
                                                  Handoff handoff = {});

    /// Serves an accepted socket descriptor (which it takes) on `reactor`, as
    /// if this reactor's own port had accepted it: `factory` builds the
    /// protocol. The descriptor is closed if it cannot be adopted.
    static void adopt(Reactor& reactor, StreamKind kind, const std::shared_ptr<Factory>& factory,
                      int fd);

    StreamPort(Reactor& reactor, StreamKind kind, std::shared_ptr<Factory> factory,
               Handoff handoff = {});
    ~StreamPort() override;

    Deferred<void> stopListening() override;
    Address getHost() const override { return host_; }
    void shutdown() override { stopListening(); }

private:
    uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&handle_); }
    uv_handle_t* handle() { return reinterpret_cast<uv_handle_t*>(&handle_); }

    void open();
    int bindTCP(const Address& address);
    int bindUNIX(const Address& address, int mode);
    void listen(int backlog, const std::string& where);
    [[noreturn]] void fail(const std::string& where, const std::string& reason);

    static void onConnection(uv_stream_t* server, int status);
    static void onClose(uv_handle_t* handle);
    void acceptOne();
    void handOff(StreamTransport* transport);
    void drainAcceptQueue();
    static void serve(StreamTransport* transport, const std::shared_ptr<Factory>& factory);
    void acceptFailed(int status);
    void shed();
    void closed();

    Reactor& reactor_;
    StreamKind kind_;
    std::shared_ptr<Factory> factory_;
    Handoff handoff_;
    union {
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } handle_;
    Address host_;
    std::shared_ptr<StreamPort> self_;
    std::vector<Deferred<void>> waiters_;
    bool listening_ = false;
    bool closing_ = false;
    bool closed_ = false;

    // The Unix socket file this port created, removed when it closes (only if
    // it is still the same file).
    std::string socketPath_;
    dev_t socketDevice_ = 0;
    ino_t socketInode_ = 0;

    // A descriptor held in reserve: out of descriptors, it is closed to
    // accept and drop the waiting connections, then reopened.
    int spareFd_ = -1;
    bool shedding_ = false;
};

}  // namespace twine::detail
