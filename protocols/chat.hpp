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

/// The people connected to one chat server, by nickname.
class ChatRoom {
public:
    /// Adds `member` as `nickname`; false if the nickname is taken.
    bool join(const std::string& nickname, Chat& member);
    /// Removes `member` if it joined; false if it had not.
    bool leave(Chat& member);
    /// Sends `line` to every member but `from` (nullptr: to everyone).
    void broadcast(std::string_view line, const Chat* from = nullptr);

    std::vector<std::string> nicknames() const;
    std::size_t size() const { return members_.size(); }

private:
    std::map<std::string, Chat*, std::less<>> members_;
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
    static constexpr std::size_t maxNicknameLength = 32;
    /// Chat lines are short: a longer one closes the connection.
    static constexpr std::size_t maxLineLength = 4096;

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
    ChatRoom& room() { return room_; }

private:
    ChatRoom room_;
};

}  // namespace twine
