#pragma once

#include <twine/core/reactor.hpp>
#include <twine/protocols/chat.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace twine {

/// One chat across several reactors (a ReactorPool's workers): each reactor's
/// ChatFactory keeps its own ChatRoom, and the hub carries every line to the
/// other rooms with callFromThread, so a Chat never sees another thread.
///
/// - Order: one sender's lines reach every room in the order it sent them
///   (one FIFO queue per reactor, fed by one thread per sender).
/// - Nicknames are unique across all the rooms.
/// - Backpressure: when more than maxPendingBytes of lines wait for a room's
///   reactor, senders elsewhere stop reading until it has caught up, so a
///   slow worker cannot grow the others' memory without bound; a client that
///   does not read is dropped by its own room (ChatRoom::maxQueuedBytes).
class ChatHub : public std::enable_shared_from_this<ChatHub> {
public:
    /// Bytes of lines waiting for one room beyond which senders are held back.
    static constexpr std::size_t maxPendingBytes = 4 << 20;

    /// A hub with no rooms yet; held by shared_ptr, as its relays refer to it.
    static std::shared_ptr<ChatHub> create() { return std::shared_ptr<ChatHub>(new ChatHub); }

    /// On `reactor`'s thread: a factory whose room is joined to every other
    /// room of this hub. The factory must outlive its connections (as a
    /// ReactorPool's factories do).
    std::shared_ptr<ChatFactory> makeFactory(Reactor& reactor);

    /// The current rooms' waiting bytes, summed (for tests and monitoring).
    std::size_t pendingBytes() const;

private:
    struct Room;
    class Relay;
    class Factory;

    ChatHub() = default;
    bool claim(const std::string& nickname);
    void release(const std::string& nickname);
    /// Posts `line` to every room but `from`; true if one of them is behind.
    bool relay(const Room& from, std::string_view line);
    void delivered(Room& room, std::size_t bytes);
    void resumeAll();
    std::vector<std::shared_ptr<Room>> rooms() const;

    mutable std::mutex mutex_;
    std::vector<std::shared_ptr<Room>> rooms_;
    std::set<std::string, std::less<>> nicknames_;
};

}  // namespace twine
