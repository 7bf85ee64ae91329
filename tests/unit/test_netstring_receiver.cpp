#include <doctest/doctest.h>

#include <twine/core/log.hpp>
#include <twine/protocols/netstring_receiver.hpp>
#include <twine/transports/string_transport.hpp>

#include <string>
#include <vector>

using twine::NetstringReceiver;
using twine::StringTransport;

namespace {

class Strings : public NetstringReceiver {
public:
    std::vector<std::string> strings;
    std::vector<std::size_t> exceeded;

    void stringReceived(std::string_view data) override { strings.emplace_back(data); }
    void lengthLimitExceeded(std::size_t length) override {
        exceeded.push_back(length);
        NetstringReceiver::lengthLimitExceeded(length);
    }
};

struct Connected {
    Strings protocol;
    StringTransport transport;
    Connected() { protocol.makeConnection(transport); }
};

// Captures warnings for the length of a test.
struct CapturedLog {
    std::vector<std::string> messages;
    CapturedLog() {
        twine::log::setObserver(
            [this](const twine::log::Event& event) { messages.emplace_back(event.message); });
    }
    ~CapturedLog() { twine::log::setObserver({}); }
    bool mentions(std::string_view text) const {
        for (const auto& m : messages) {
            if (m.find(text) != std::string::npos) return true;
        }
        return false;
    }
};

const std::vector<std::string> sample = {"hello", "", std::string("\0\r\n,:5\xff", 7),
                                         std::string(1234, 'z')};

std::string wireFor(const std::vector<std::string>& strings) {
    std::string out;
    for (const auto& s : strings) out += std::to_string(s.size()) + ":" + s + ",";
    return out;
}

}  // namespace

TEST_CASE("sendString writes a netstring") {
    Connected c;
    c.protocol.sendString("hello");
    c.protocol.sendString("");
    CHECK(c.transport.value() == "5:hello,0:,");
}

TEST_CASE("netstrings split at every byte boundary arrive whole") {
    const std::string wire = wireFor(sample);
    for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
        Connected c;
        c.protocol.dataReceived(wire.substr(0, cut));
        c.protocol.dataReceived(wire.substr(cut));
        CHECK_MESSAGE(c.protocol.strings == sample, "cut at " << cut);
    }
}

TEST_CASE("netstrings fed one byte at a time arrive whole") {
    Connected c;
    for (char byte : wireFor(sample)) c.protocol.dataReceived(std::string(1, byte));
    CHECK(c.protocol.strings == sample);
    CHECK_FALSE(c.transport.disconnecting());
}

TEST_CASE("many netstrings in one chunk all arrive, in order") {
    Connected c;
    std::vector<std::string> many;
    for (int i = 0; i < 100000; ++i) many.push_back(std::to_string(i));
    c.protocol.dataReceived(wireFor(many));
    CHECK(c.protocol.strings == many);
}

TEST_CASE("a netstring of exactly maxLength is accepted") {
    Connected c;
    c.protocol.setMaxLength(100);
    c.protocol.dataReceived(wireFor({std::string(100, 'x')}));
    CHECK(c.protocol.strings.size() == 1);
    CHECK_FALSE(c.transport.disconnecting());
}

TEST_CASE("a netstring length of maxLength + 1 loses the connection before its body arrives") {
    CapturedLog log;
    Connected c;
    c.protocol.setMaxLength(100);
    c.protocol.dataReceived("101");
    CHECK(c.protocol.exceeded == std::vector<std::size_t>{101});
    CHECK(c.transport.disconnecting());
    CHECK(c.protocol.brokenPeer());
    CHECK(log.mentions("above the limit"));
    c.protocol.dataReceived(":" + std::string(101, 'x') + ",2:ok,");
    CHECK(c.protocol.strings.empty());
}

TEST_CASE("an absurdly long netstring length is refused without overflow") {
    Connected c;
    c.protocol.dataReceived("99999999999999999999999999999999999:");
    REQUIRE(c.protocol.exceeded.size() == 1);
    CHECK(c.protocol.exceeded[0] > c.protocol.maxLength());
    CHECK(c.transport.disconnecting());
}

TEST_CASE("malformed netstrings lose the connection with a logged reason") {
    struct Case {
        const char* input;
        const char* reason;
    };
    const Case cases[] = {
        {"01:a,", "leading zero"}, {"00:", "leading zero"}, {"a:", "digits"},  {":", "digits"},
        {"3:abcX", "','"},         {"3x", "':'"},           {"-1:", "digits"}, {"2:ok,1:a;", "','"},
    };
    for (const Case& bad : cases) {
        CapturedLog log;
        Connected c;
        c.protocol.dataReceived(bad.input);
        c.protocol.dataReceived("2:ok,");
        CHECK_MESSAGE(c.transport.disconnecting(), bad.input);
        CHECK_MESSAGE(c.protocol.brokenPeer(), bad.input);
        CHECK_MESSAGE(log.mentions("malformed"), bad.input);
        CHECK_MESSAGE(log.mentions(bad.reason), bad.input);
        CHECK_MESSAGE(c.protocol.exceeded.empty(), bad.input);
        // Only strings before the malformed one are delivered.
        for (const auto& s : c.protocol.strings) CHECK_MESSAGE(s == "ok", bad.input);
        CHECK(c.protocol.strings.size() <= 1);
    }
}

// Found by tests/fuzz/fuzz_netstring_receiver: a leading zero followed by
// enough digits to pass the limit was refused as too long when it came in
// one read, as malformed when split after "00". Now malformed either way.
TEST_CASE("a leading zero is malformed however the length's digits are split") {
    const std::string input = "0000000000000500000e";
    for (std::size_t split : {std::size_t{0}, std::size_t{1}, std::size_t{2}, input.size()}) {
        CapturedLog log;
        Connected c;
        c.protocol.setMaxLength(53);
        if (split > 0) c.protocol.dataReceived(input.substr(0, split));
        c.protocol.dataReceived(input.substr(split));
        CHECK_MESSAGE(log.mentions("leading zero"), split);
        CHECK_MESSAGE(c.protocol.exceeded.empty(), split);
        CHECK(c.transport.disconnecting());
    }
}

TEST_CASE("a zero-length netstring is accepted") {
    Connected c;
    c.protocol.dataReceived("0:,0:,");
    CHECK(c.protocol.strings == std::vector<std::string>{"", ""});
    CHECK_FALSE(c.transport.disconnecting());
}
