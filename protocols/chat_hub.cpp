#include <twine/protocols/chat_hub.hpp>

#include <utility>

namespace twine {

// A room as the hub sees it. `room` is touched only on `reactor`'s thread;
// the counters are how the other threads see how far behind it is.
struct ChatHub::Room {
    Reactor* reactor = nullptr;
    ChatRoom* room = nullptr;
    std::atomic<std::size_t> pending{0};
    std::atomic<bool> sendersHeld{false};
};

class ChatHub::Relay final : public ChatRelay {
public:
    Relay(std::shared_ptr<ChatHub> hub, std::shared_ptr<Room> room)
        : hub_(std::move(hub)), room_(std::move(room)) {}
    bool claim(const std::string& nickname) override { return hub_->claim(nickname); }
    void release(const std::string& nickname) override { hub_->release(nickname); }
    bool relay(std::string_view line) override { return hub_->relay(*room_, line); }

private:
    std::shared_ptr<ChatHub> hub_;
    std::shared_ptr<Room> room_;
};

class ChatHub::Factory final : public ChatFactory {
public:
    Factory(std::shared_ptr<ChatHub> hub, std::shared_ptr<Room> room)
        : relay_(std::move(hub), std::move(room)) {
        this->room().setRelay(&relay_);
    }

private:
    Relay relay_;
};

std::shared_ptr<ChatFactory> ChatHub::makeFactory(Reactor& reactor) {
    auto room = std::make_shared<Room>();
    room->reactor = &reactor;
    auto factory = std::make_shared<Factory>(shared_from_this(), room);
    room->room = &factory->room();
    std::lock_guard lock(mutex_);
    rooms_.push_back(std::move(room));
    return factory;
}

std::size_t ChatHub::pendingBytes() const {
    std::size_t total = 0;
    for (const auto& room : rooms()) total += room->pending.load();
    return total;
}

bool ChatHub::claim(const std::string& nickname) {
    std::lock_guard lock(mutex_);
    return nicknames_.insert(nickname).second;
}

void ChatHub::release(const std::string& nickname) {
    std::lock_guard lock(mutex_);
    nicknames_.erase(nickname);
}

std::vector<std::shared_ptr<ChatHub::Room>> ChatHub::rooms() const {
    std::lock_guard lock(mutex_);
    return rooms_;
}

bool ChatHub::relay(const Room& from, std::string_view text) {
    auto line = std::make_shared<const std::string>(text);
    const std::size_t bytes = line->size() + 1;
    bool behind = false;
    auto self = shared_from_this();
    for (const auto& room : rooms()) {
        if (room.get() == &from) continue;
        const std::size_t pending = room->pending.fetch_add(bytes) + bytes;
        if (pending > maxPendingBytes) {
            room->sendersHeld.store(true);
            behind = true;
        }
        room->reactor->callFromThread([self, room, line, bytes] {
            room->room->deliver(*line);
            self->delivered(*room, bytes);
        });
    }
    return behind;
}

void ChatHub::delivered(Room& room, std::size_t bytes) {
    const std::size_t pending = room.pending.fetch_sub(bytes) - bytes;
    if (pending <= maxPendingBytes / 2 && room.sendersHeld.exchange(false)) resumeAll();
}

void ChatHub::resumeAll() {
    for (const auto& room : rooms()) {
        room->reactor->callFromThread([room] { room->room->resumeHeld(); });
    }
}

}  // namespace twine
