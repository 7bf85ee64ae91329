#pragma once

#include <twine/core/address.hpp>
#include <twine/core/protocol.hpp>

#include <cstddef>
#include <memory>

namespace twine {

class Factory;

namespace detail {
class LoopbackEnd;
}

/// Connects a client protocol and a server protocol in memory, as Twisted's
/// twisted.test.iosim: each gets a transport whose writes are queued until
/// pump() delivers them to the other side. Closing, half-closing, aborting,
/// pausing reads and producers behave as on a socket, so a protocol pair is
/// tested end to end with no socket and no time.
///
///     LoopbackPump pump(client, server);   // both see connectionMade
///     client.sendLine("hi");
///     pump.pump();                         // server saw "hi\r\n", replied...
///
/// An exception thrown by a protocol's event is logged and aborts its
/// connection, as a real transport does. The pump does not own protocols
/// passed by reference; they must outlive it (its destructor delivers
/// connectionLost(ConnectionLost) to any side still connected).
class LoopbackPump {
public:
    /// Connects two protocols the caller owns: both see connectionMade.
    LoopbackPump(Protocol& client, Protocol& server);
    /// The server side is built by `serverFactory` (and owned by the pump);
    /// if it refuses (nullptr), the client sees the connection closed.
    LoopbackPump(Protocol& client, Factory& serverFactory);
    ~LoopbackPump();
    LoopbackPump(const LoopbackPump&) = delete;
    LoopbackPump& operator=(const LoopbackPump&) = delete;

    /// Moves bytes both ways, and delivers closes, until nothing moves.
    /// Throws std::runtime_error after maxRounds rounds (protocols that
    /// answer each other forever).
    void pump();
    /// One round: at most one chunk each way, then half-closes and closes.
    /// Returns false if nothing happened.
    bool pumpOnce();

    /// The most bytes delivered in one dataReceived (default 64 KiB); 1
    /// splits every frame at every byte boundary.
    /// Throws std::invalid_argument for 0.
    void setChunkSize(std::size_t bytes);
    /// How many rounds pump() runs before it gives up (default 100000).
    void setMaxRounds(std::size_t rounds) { maxRounds_ = rounds; }

    /// The client protocol's transport (what it writes to).
    Transport& clientTransport();
    /// The server protocol's transport.
    Transport& serverTransport();
    /// The server's protocol (nullptr if its factory refused the connection).
    Protocol* serverProtocol() const { return server_; }
    /// True once both sides have seen connectionLost.
    bool closed() const;

    /// 127.0.0.1:54321: the client's address, as both sides see it.
    static Address defaultClientAddress() { return Address::ipv4("127.0.0.1", 54321); }
    /// 127.0.0.1:12345: the server's.
    static Address defaultServerAddress() { return Address::ipv4("127.0.0.1", 12345); }

private:
    void connect();

    std::unique_ptr<Protocol> ownedServer_;
    Protocol* client_;
    Protocol* server_;
    std::unique_ptr<detail::LoopbackEnd> clientEnd_;
    std::unique_ptr<detail::LoopbackEnd> serverEnd_;
    std::size_t chunkSize_ = 64 * 1024;
    std::size_t maxRounds_ = 100000;
};

}  // namespace twine
