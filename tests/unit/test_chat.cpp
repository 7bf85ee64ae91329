#include <doctest/doctest.h>

#include <twine/protocols/chat.hpp>
#include <twine/transports/loopback_pump.hpp>
#include <twine/transports/string_transport.hpp>

#include <memory>
#include <string>
#include <vector>

using twine::ChatFactory;
using twine::LoopbackPump;

namespace {

// A chat user: collects the lines the server sends.
class User : public twine::LineReceiver {
public:
    std::vector<std::string> lines;
    User() { setDelimiter("\n"); }
    void lineReceived(std::string_view line) override { lines.emplace_back(line); }
    void say(std::string_view line) { sendLine(line); }
    std::vector<std::string> take() { return std::exchange(lines, {}); }
};

// A server room with users connected through loopback pumps.
struct Room {
    ChatFactory factory;
    std::vector<std::unique_ptr<User>> users;
    std::vector<std::unique_ptr<LoopbackPump>> pumps;

    User& connect() {
        users.push_back(std::make_unique<User>());
        pumps.push_back(std::make_unique<LoopbackPump>(*users.back(), factory));
        return *users.back();
    }
    User& join(const std::string& nickname) {
        User& user = connect();
        pumpAll();
        user.say(nickname);
        pumpAll();
        return user;
    }
    void pumpAll() {
        // Each server writes to other connections: pump until all are quiet.
        bool moved = true;
        while (moved) {
            moved = false;
            for (auto& pump : pumps) moved = pump->pumpOnce() || moved;
        }
    }
    void clearAll() {
        for (auto& user : users) user->take();
    }
};

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("chat asks for a name, then welcomes the user by it") {
    Room room;
    User& alice = room.connect();
    room.pumpAll();
    CHECK(alice.take() == Lines{"What's your name?"});
    alice.say("alice");
    room.pumpAll();
    CHECK(alice.take() == Lines{"Welcome, alice!"});
    CHECK(room.factory.room().nicknames() == Lines{"alice"});
}

TEST_CASE("three chat users see each other's lines, and never their own") {
    Room room;
    User& alice = room.join("alice");
    User& bob = room.join("bob");
    User& carol = room.join("carol");
    room.clearAll();

    alice.say("hi all");
    room.pumpAll();
    bob.say("hello alice");
    room.pumpAll();
    CHECK(alice.take() == Lines{"<bob> hello alice"});
    CHECK(bob.take() == Lines{"<alice> hi all"});
    CHECK(carol.take() == Lines{"<alice> hi all", "<bob> hello alice"});
}

TEST_CASE("chat announces joins and leaves to the others") {
    Room room;
    User& alice = room.join("alice");
    CHECK(alice.take() == Lines{"What's your name?", "Welcome, alice!"});
    User& bob = room.join("bob");
    CHECK(alice.take() == Lines{"* bob has joined from 127.0.0.1:54321"});
    CHECK(bob.take() == Lines{"What's your name?", "Welcome, bob!"});

    bob.transport().loseConnection();
    room.pumpAll();
    CHECK(alice.take() == Lines{"* bob has left"});
    CHECK(room.factory.room().nicknames() == Lines{"alice"});
}

TEST_CASE("chat refuses a nickname already taken") {
    Room room;
    room.join("alice");
    User& other = room.join("alice");
    CHECK(other.take() == Lines{"What's your name?", "Name taken, please choose another."});
    other.say("alice2");
    room.pumpAll();
    CHECK(other.take() == Lines{"Welcome, alice2!"});
    CHECK(room.factory.room().size() == 2);
}

TEST_CASE("chat refuses empty, long and framing-forging nicknames") {
    Room room;
    User& user = room.connect();
    room.pumpAll();
    user.take();
    for (const char* bad : {"", "two words", "<bob>", "*", "0123456789012345678901234567890123"}) {
        user.say(bad);
        room.pumpAll();
        const Lines reply = user.take();
        REQUIRE_MESSAGE(reply.size() == 1, bad);
        CHECK_MESSAGE(reply[0].starts_with("Please choose a name"), bad);
    }
    CHECK(room.factory.room().size() == 0);
}

TEST_CASE("chat accepts lines ending in CRLF") {
    Room room;
    User& alice = room.join("alice");
    User& bob = room.join("bob");
    room.clearAll();
    alice.transport().write("hi\r\n");
    room.pumpAll();
    CHECK(bob.take() == Lines{"<alice> hi"});
}

TEST_CASE("a user who leaves before choosing a name is not announced") {
    Room room;
    User& alice = room.join("alice");
    User& anonymous = room.connect();
    room.pumpAll();
    alice.take();
    anonymous.transport().loseConnection();
    room.pumpAll();
    CHECK(alice.take().empty());
}

TEST_CASE("an overlong chat line closes that user's connection only") {
    Room room;
    User& alice = room.join("alice");
    User& bob = room.join("bob");
    room.clearAll();
    alice.say(std::string(twine::Chat::maxLineLength + 1, 'x'));
    room.pumpAll();
    CHECK_FALSE(alice.connected());
    CHECK(bob.take() == Lines{"* alice has left"});
    CHECK(bob.connected());
}

TEST_CASE("a chat protocol destroyed without connectionLost leaves the room") {
    twine::ChatRoom room;
    {
        twine::Chat chat(room);
        twine::StringTransport transport;
        chat.makeConnection(transport);
        chat.dataReceived("dave\n");
        CHECK(room.size() == 1);
    }
    CHECK(room.size() == 0);
}
