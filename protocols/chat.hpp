#pragma once

#include <twine/core/factory.hpp>
#include <twine/protocols/line_receiver.hpp>

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace twine {

class Chat;

/// Where a room's lines go beyond its own members: the rooms of other
/// reactors (a ReactorPool's workers), as ChatHub links them. Called on the
/// room's reactor only.
class ChatRelay {
public:
    virtual ~ChatRelay() = default;
    /// Claims a nickname for the whole chat; false if someone has it.
    virtual bool claim(const std::string& nickname) = 0;
    /// Frees a claimed nickname (its member left).
    virtual void release(const std::string& nickname) = 0;
    /// Carries a line to the other rooms; true if they are behind (the
    /// sender should stop reading until resumeHeld()).
    virtual bool relay(std::string_view line) = 0;
};

/// The people connected to one chat server, by nickname.
class ChatRoom {
public:
    /// A member whose unsent output passes this many bytes does not read what
    /// it is sent: it is disconnected, so that it cannot hold the server's
    /// memory without bound.
    static constexpr std::size_t maxQueuedBytes = 1 << 20;

    /// Adds `member` as `nickname`; false if the nickname is taken.
    bool join(const std::string& nickname, Chat& member);
    /// Removes `member` if it joined; false if it had not.
    bool leave(Chat& member);
    /// Sends `line` to every member but `from` (nullptr: to everyone), and
    /// through the relay, if any. Returns true if the relay is behind.
    bool broadcast(std::string_view line, const Chat* from = nullptr);
    /// Sends `line` to this room's members only (a line from another room).
    void deliver(std::string_view line, const Chat* from = nullptr);

    /// Joins this room to others; the relay must outlive the room's members.
    void setRelay(ChatRelay* relay) { relay_ = relay; }
    /// Stops reading from `member` until resumeHeld() (the relay is behind).
    void holdBack(Chat& member);
    /// Resumes reading from every member held back (the relay caught up).
    void resumeHeld();

    /// The members' nicknames, sorted.
    std::vector<std::string> nicknames() const;
    /// The number of members.
    std::size_t size() const { return members_.size(); }

private:
    std::map<std::string, Chat*, std::less<>> members_;
    ChatRelay* relay_ = nullptr;
    std::vector<Chat*> held_;
};

/// A line-based chat, as Twisted's classic chat example: the first line a
/// client sends is its nickname, then each line it sends reaches everyone
/// else as "<nick> line". Joins and leaves are announced ("* nick has
/// joined", "* nick has left").
///
/// Lines end with "\n" (a trailing "\r" is dropped), so nc, telnet and
/// scripts all work.
class Chat : public LineReceiver {
public:
    /// Longer nicknames are refused, as are spaces, control characters and <>*
    /// (which could forge another member's framing).
    static constexpr std::size_t maxNicknameLength = 32;
    /// Chat lines are short: a longer one closes the connection.
    static constexpr std::size_t maxLineLength = 4096;

    /// A member of `room`, which must outlive it.
    explicit Chat(ChatRoom& room);
    ~Chat() override;
    Chat(const Chat&) = delete;
    Chat& operator=(const Chat&) = delete;

    void connectionMade() override;
    void lineReceived(std::string_view line) override;
    void connectionLost(const Failure& reason) override;

    /// Empty until the room accepted a nickname.
    const std::string& nickname() const { return nickname_; }

private:
    void chooseNickname(std::string_view nickname);

    ChatRoom& room_;
    std::string nickname_;
};

/// The server factory: one room, shared by every connection it builds.
class ChatFactory : public ServerFactory {
public:
    std::unique_ptr<Protocol> buildProtocol(const Address& address) override;
    /// The room every connection joins.
    ChatRoom& room() { return room_; }

private:
    ChatRoom room_;
};

}  // namespace twine
