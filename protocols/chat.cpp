#include <twine/protocols/chat.hpp>

#include <algorithm>

namespace twine {

namespace {

// Printable ASCII and UTF-8, no spaces or control characters: a nickname
// must not be able to forge the "<nick>" or "* nick" framing of others.
bool validNickname(std::string_view nickname) {
    if (nickname.empty() || nickname.size() > Chat::maxNicknameLength) return false;
    for (char c : nickname) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= ' ' || byte == 0x7f || c == '<' || c == '>' || c == '*') return false;
    }
    return true;
}

std::string_view withoutCarriageReturn(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

}  // namespace

bool ChatRoom::join(const std::string& nickname, Chat& member) {
    if (members_.contains(nickname)) return false;
    if (relay_ != nullptr && !relay_->claim(nickname)) return false;
    members_.emplace(nickname, &member);
    return true;
}

bool ChatRoom::leave(Chat& member) {
    std::erase(held_, &member);
    auto it = members_.find(member.nickname());
    if (it == members_.end() || it->second != &member) return false;
    members_.erase(it);
    if (relay_ != nullptr) relay_->release(member.nickname());
    return true;
}

bool ChatRoom::broadcast(std::string_view line, const Chat* from) {
    deliver(line, from);
    return relay_ != nullptr && relay_->relay(line);
}

void ChatRoom::deliver(std::string_view line, const Chat* from) {
    // Sending may end a member's connection and so change the room: walk a
    // copy of the names, and look each one up again.
    for (const std::string& nickname : nicknames()) {
        auto it = members_.find(nickname);
        if (it == members_.end() || it->second == from || !it->second->connected()) continue;
        Chat& member = *it->second;
        if (member.transport().disconnecting()) continue;
        if (member.transport().bufferSize() > maxQueuedBytes) {
            // It has not read the last megabyte: it will not read this line.
            member.transport().abortConnection();
            continue;
        }
        member.sendLine(line);
    }
}

void ChatRoom::holdBack(Chat& member) {
    if (std::find(held_.begin(), held_.end(), &member) != held_.end()) return;
    held_.push_back(&member);
    member.transport().pauseProducing();
}

void ChatRoom::resumeHeld() {
    std::vector<Chat*> held = std::move(held_);
    held_.clear();
    for (Chat* member : held) {
        if (member->connected()) member->transport().resumeProducing();
    }
}

std::vector<std::string> ChatRoom::nicknames() const {
    std::vector<std::string> names;
    names.reserve(members_.size());
    for (const auto& member : members_) names.push_back(member.first);
    return names;
}

Chat::Chat(ChatRoom& room) : room_(room) {
    setDelimiter("\n");
    setMaxLength(maxLineLength);
}

// A connection torn down without connectionLost must not leave a dangling
// member behind.
Chat::~Chat() {
    room_.leave(*this);
}

void Chat::connectionMade() {
    sendLine("What's your name?");
}

void Chat::lineReceived(std::string_view line) {
    line = withoutCarriageReturn(line);
    if (nickname_.empty()) {
        chooseNickname(line);
        return;
    }
    std::string message = "<" + nickname_ + "> ";
    message += line;
    if (room_.broadcast(message, this)) room_.holdBack(*this);
}

void Chat::chooseNickname(std::string_view nickname) {
    if (!validNickname(nickname)) {
        sendLine("Please choose a name of 1 to 32 characters, without spaces, '<', '>' or '*'.");
        return;
    }
    std::string name(nickname);
    if (!room_.join(name, *this)) {
        sendLine("Name taken, please choose another.");
        return;
    }
    nickname_ = std::move(name);
    sendLine("Welcome, " + nickname_ + "!");
    // Behind a balancer (haproxy:) the peer is the client the header names.
    std::string joined = "* " + nickname_ + " has joined";
    const Address peer = transport().getPeer();
    if (peer.isIp()) joined += " from " + peer.toString();
    room_.broadcast(joined, this);
}

void Chat::connectionLost(const Failure& reason) {
    (void)reason;
    if (room_.leave(*this)) room_.broadcast("* " + nickname_ + " has left");
}

std::unique_ptr<Protocol> ChatFactory::buildProtocol(const Address& address) {
    (void)address;
    auto chat = std::make_unique<Chat>(room_);
    chat->setFactory(this);
    return chat;
}

}  // namespace twine
