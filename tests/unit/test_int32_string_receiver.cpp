#include <doctest/doctest.h>

#include <twine/protocols/int32_string_receiver.hpp>
#include <twine/transports/string_transport.hpp>

#include <string>
#include <vector>

using twine::Int32StringReceiver;
using twine::StringTransport;

namespace {

class Strings : public Int32StringReceiver {
public:
    std::vector<std::string> strings;
    std::vector<std::size_t> exceeded;

    void stringReceived(std::string_view data) override {
        strings.emplace_back(data);
        if (data == "quit") transport().loseConnection();
    }
    void lengthLimitExceeded(std::size_t length) override {
        exceeded.push_back(length);
        Int32StringReceiver::lengthLimitExceeded(length);
    }
};

struct Connected {
    Strings protocol;
    StringTransport transport;
    Connected() { protocol.makeConnection(transport); }
};

std::string frame(std::string_view body) {
    const auto n = static_cast<std::uint32_t>(body.size());
    std::string out{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                    static_cast<char>(n >> 8), static_cast<char>(n)};
    out += body;
    return out;
}

const std::vector<std::string> sample = {"hello", "", std::string("\0\r\n,:\xff", 6),
                                         std::string(300, 'z')};

std::string wireFor(const std::vector<std::string>& strings) {
    std::string out;
    for (const auto& s : strings) out += frame(s);
    return out;
}

}  // namespace

TEST_CASE("sendString writes a 4-byte big-endian length and the string") {
    Connected c;
    c.protocol.sendString("hi");
    c.protocol.sendString(std::string(258, 'a'));
    CHECK(c.transport.value() == frame("hi") + frame(std::string(258, 'a')));
    CHECK(c.transport.value().substr(6, 4) == std::string("\0\0\x01\x02", 4));
}

TEST_CASE("int32 strings split at every byte boundary arrive whole") {
    const std::string wire = wireFor(sample);
    for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
        Connected c;
        c.protocol.dataReceived(wire.substr(0, cut));
        c.protocol.dataReceived(wire.substr(cut));
        CHECK_MESSAGE(c.protocol.strings == sample, "cut at " << cut);
    }
}

TEST_CASE("int32 strings fed one byte at a time arrive whole") {
    Connected c;
    for (char byte : wireFor(sample)) c.protocol.dataReceived(std::string(1, byte));
    CHECK(c.protocol.strings == sample);
}

TEST_CASE("many int32 strings in one chunk all arrive, in order") {
    Connected c;
    std::string wire;
    const int count = 100000;
    for (int i = 0; i < count; ++i) wire += frame(std::to_string(i));
    c.protocol.dataReceived(wire);
    REQUIRE(c.protocol.strings.size() == count);
    CHECK(c.protocol.strings.back() == std::to_string(count - 1));
}

TEST_CASE("an int32 string of exactly maxLength is accepted") {
    Connected c;
    c.protocol.setMaxLength(100);
    c.protocol.dataReceived(frame(std::string(100, 'x')));
    CHECK(c.protocol.strings.size() == 1);
    CHECK(c.protocol.exceeded.empty());
    CHECK_FALSE(c.transport.disconnecting());
}

TEST_CASE("an int32 length of maxLength + 1 loses the connection from the header alone") {
    Connected c;
    c.protocol.setMaxLength(100);
    c.protocol.dataReceived(frame(std::string(101, 'x')).substr(0, 4));
    CHECK(c.protocol.exceeded == std::vector<std::size_t>{101});
    CHECK(c.transport.disconnecting());
    c.protocol.dataReceived(std::string(101, 'x') + frame("later"));
    CHECK(c.protocol.strings.empty());
}

TEST_CASE("a 4 GiB int32 length is refused without buffering the body") {
    Connected c;
    CHECK(c.protocol.maxLength() == 99999);
    c.protocol.dataReceived(std::string("\xff\xff\xff\xff", 4) + std::string(1000, 'x'));
    CHECK(c.protocol.exceeded == std::vector<std::size_t>{0xffffffffu});
    CHECK(c.transport.disconnecting());
}

TEST_CASE("no int32 string is delivered after the protocol loses its connection") {
    Connected c;
    c.protocol.dataReceived(wireFor({"a", "quit", "b"}));
    CHECK(c.protocol.strings == std::vector<std::string>{"a", "quit"});
}

TEST_CASE("pausing an int32 receiver holds strings until it resumes") {
    Connected c;
    c.protocol.pauseProducing();
    c.protocol.dataReceived(wireFor({"a", "b"}));
    CHECK(c.protocol.strings.empty());
    c.protocol.resumeProducing();
    CHECK(c.protocol.strings == std::vector<std::string>{"a", "b"});
}
