#include <doctest/doctest.h>

#include <twine/protocols/line_receiver.hpp>
#include <twine/transports/string_transport.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

using twine::LineReceiver;
using twine::StringTransport;

namespace {

class Lines : public LineReceiver {
public:
    std::vector<std::string> lines;
    std::vector<std::string> raw;
    std::vector<std::string> exceeded;

    void lineReceived(std::string_view line) override {
        lines.emplace_back(line);
        if (line == "RAW") setRawMode();
        if (line == "quit") transport().loseConnection();
        if (line == "clear") cleared = clearLineBuffer();
        if (line == "again") dataReceived("inner\r\n");
        if (line == "pause") pauseProducing();
        if (line == "boom") throw std::runtime_error("boom");
    }
    // Raw blocks are rawLength bytes long, as a length-announced body would be.
    void rawDataReceived(std::string_view data) override {
        raw.emplace_back(data);
        rawBytes += data;
        if (rawBytes.size() < rawLength) return;
        const std::string extra = rawBytes.substr(rawLength);
        rawBytes.resize(rawLength);
        setLineMode(extra);
    }
    void lineLengthExceeded(std::string_view data) override {
        exceeded.emplace_back(data);
        LineReceiver::lineLengthExceeded(data);
    }

    std::string cleared;
    std::string rawBytes;
    std::size_t rawLength = std::string::npos;
};

struct Connected {
    Lines protocol;
    StringTransport transport;
    Connected() { protocol.makeConnection(transport); }
};

const std::vector<std::string> threeLines = {"hello", "", "wörld \x01\xff"};

std::string joined(const std::vector<std::string>& lines, const std::string& delimiter) {
    std::string out;
    for (const auto& line : lines) out += line + delimiter;
    return out;
}

}  // namespace

TEST_CASE("lines split at every byte boundary arrive whole") {
    const std::string wire = joined(threeLines, "\r\n");
    for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
        Connected c;
        c.protocol.dataReceived(wire.substr(0, cut));
        c.protocol.dataReceived(wire.substr(cut));
        CHECK_MESSAGE(c.protocol.lines == threeLines, "cut at " << cut);
    }
}

TEST_CASE("lines fed one byte at a time arrive whole") {
    Connected c;
    for (char byte : joined(threeLines, "\r\n")) c.protocol.dataReceived(std::string(1, byte));
    CHECK(c.protocol.lines == threeLines);
}

TEST_CASE("many lines in one chunk all arrive, in order") {
    Connected c;
    std::string wire;
    const int count = 200000;
    for (int i = 0; i < count; ++i) wire += std::to_string(i) + "\r\n";
    wire += "partial";
    c.protocol.dataReceived(wire);
    REQUIRE(c.protocol.lines.size() == count);
    CHECK(c.protocol.lines.front() == "0");
    CHECK(c.protocol.lines.back() == std::to_string(count - 1));
    c.protocol.dataReceived("\r\n");
    CHECK(c.protocol.lines.back() == "partial");
}

TEST_CASE("sendLine writes the line and the delimiter") {
    Connected c;
    c.protocol.sendLine("hi");
    c.protocol.setDelimiter("\n");
    c.protocol.sendLine("there");
    CHECK(c.transport.value() == "hi\r\nthere\n");
}

TEST_CASE("setDelimiter changes how lines are split") {
    Connected c;
    c.protocol.setDelimiter("||");
    c.protocol.dataReceived("a|b||c|");
    c.protocol.dataReceived("|");
    CHECK(c.protocol.lines == std::vector<std::string>{"a|b", "c"});
    CHECK_THROWS_AS(c.protocol.setDelimiter(""), std::invalid_argument);
}

TEST_CASE("a line of exactly maxLength is accepted") {
    Connected c;
    c.protocol.setMaxLength(10);
    c.protocol.dataReceived(std::string(10, 'x'));
    c.protocol.dataReceived("\r");  // a partial delimiter does not count against the line
    c.protocol.dataReceived("\n");
    CHECK(c.protocol.lines == std::vector<std::string>{std::string(10, 'x')});
    CHECK(c.protocol.exceeded.empty());
    CHECK_FALSE(c.transport.disconnecting());
}

TEST_CASE("a line of maxLength + 1 loses the connection") {
    Connected c;
    c.protocol.setMaxLength(10);
    c.protocol.dataReceived(std::string(11, 'x') + "\r\nnext\r\n");
    CHECK(c.protocol.lines.empty());
    REQUIRE(c.protocol.exceeded.size() == 1);
    CHECK(c.protocol.exceeded[0].starts_with(std::string(11, 'x')));
    CHECK(c.transport.disconnecting());
}

TEST_CASE("an endless line is refused before its end arrives, keeping memory bounded") {
    Connected c;
    c.protocol.setMaxLength(1000);
    for (int i = 0; i < 100 && c.protocol.exceeded.empty(); ++i) {
        c.protocol.dataReceived(std::string(100, 'y'));
    }
    REQUIRE(c.protocol.exceeded.size() == 1);
    CHECK(c.protocol.exceeded[0].size() <= 1100);
    CHECK(c.transport.disconnecting());
    CHECK(c.protocol.clearLineBuffer().empty());
}

TEST_CASE("the default maximum line length is 16384") {
    Connected c;
    CHECK(c.protocol.maxLength() == 16384);
    c.protocol.dataReceived(std::string(16384, 'a') + "\r\n");
    CHECK(c.protocol.lines.size() == 1);
    c.protocol.dataReceived(std::string(16385, 'a') + "\r\n");
    CHECK(c.protocol.lines.size() == 1);
    CHECK(c.transport.disconnecting());
}

TEST_CASE("switching to raw mode in lineReceived hands the rest of the data to raw mode") {
    Connected c;
    c.protocol.dataReceived("one\r\nRAW\r\nbinary\r\nbytes");
    CHECK(c.protocol.lines == std::vector<std::string>{"one", "RAW"});
    CHECK(c.protocol.raw == std::vector<std::string>{"binary\r\nbytes"});
    c.protocol.dataReceived("more");
    CHECK(c.protocol.raw.back() == "more");
    CHECK_FALSE(c.protocol.lineMode());
}

TEST_CASE("setLineMode with the extra data goes back to lines") {
    Connected c;
    c.protocol.rawLength = 7;
    c.protocol.dataReceived("RAW\r\n");
    c.protocol.dataReceived("rawdatatwo\r\nthr");
    c.protocol.dataReceived("ee\r\n");
    CHECK(c.protocol.rawBytes == "rawdata");
    CHECK(c.protocol.lines == std::vector<std::string>{"RAW", "two", "three"});
    CHECK(c.protocol.lineMode());
}

TEST_CASE("raw and line mode switch correctly at every byte boundary") {
    const std::string wire = "a\r\nRAW\r\n\r\n\r\nxyb\r\nc\r\n";
    for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
        Connected c;
        c.protocol.rawLength = 6;
        c.protocol.dataReceived(wire.substr(0, cut));
        c.protocol.dataReceived(wire.substr(cut));
        CHECK_MESSAGE(c.protocol.rawBytes == "\r\n\r\nxy", "cut at " << cut);
        const std::vector<std::string> expected = {"a", "RAW", "b", "c"};
        CHECK_MESSAGE(c.protocol.lines == expected, "cut at " << cut);
    }
}

// Raw blocks of `block` bytes, each announced by a "RAW" line; the rest of
// a read goes back as a view of the very data the hook was given (as
// twine-ft's receiver does), which LineReceiver takes back without a copy.
class Blocks : public LineReceiver {
public:
    std::vector<std::string> events;
    std::size_t block = 3;
    std::size_t left = 0;
    bool feedDuringHook = false;

    void lineReceived(std::string_view line) override {
        events.emplace_back("line " + std::string(line));
        if (line == "RAW") {
            left = block;
            setRawMode();
        }
    }
    void rawDataReceived(std::string_view data) override {
        const std::size_t take = std::min(left, data.size());
        events.emplace_back("raw " + std::string(data.substr(0, take)));
        left -= take;
        if (left > 0) return;
        if (feedDuringHook) {
            feedDuringHook = false;
            dataReceived("fed\r\n");  // queued before the tail given back below
        }
        setLineMode(data.substr(take));
    }
};

TEST_CASE("raw blocks given back as views of the data arrive in order at every byte boundary") {
    const std::string wire = "a\r\nRAW\r\nxyzb\r\nRAW\r\n\r\n\rRAW\r\nRAWc\r\n";
    const std::vector<std::string> expected = {"line a",   "line RAW", "raw xyz",
                                               "line b",   "line RAW", "raw \r\n\r",
                                               "line RAW", "raw RAW",  "line c"};
    for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
        Blocks protocol;
        StringTransport transport;
        protocol.makeConnection(transport);
        protocol.dataReceived(wire.substr(0, cut));
        protocol.dataReceived(wire.substr(cut));
        // Raw pieces split by the cut are joined for the comparison.
        std::vector<std::string> joined;
        for (const auto& event : protocol.events) {
            if (!joined.empty() && event.rfind("raw ", 0) == 0 &&
                joined.back().rfind("raw ", 0) == 0) {
                joined.back() += event.substr(4);
            } else {
                joined.push_back(event);
            }
        }
        CHECK_MESSAGE(joined == expected, "cut at " << cut);
    }
}

TEST_CASE("data a raw hook feeds before giving back its tail is parsed first, in call order") {
    Blocks protocol;
    StringTransport transport;
    protocol.makeConnection(transport);
    protocol.feedDuringHook = true;
    protocol.dataReceived("RAW\r\nxyzb\r\n");
    const std::vector<std::string> expected = {"line RAW", "raw xyz", "line fed", "line b"};
    CHECK(protocol.events == expected);
}

TEST_CASE("clearLineBuffer in lineReceived drops the rest of the data") {
    Connected c;
    c.protocol.dataReceived("clear\r\ndropped\r\npart");
    CHECK(c.protocol.lines == std::vector<std::string>{"clear"});
    CHECK(c.protocol.cleared == "dropped\r\npart");
    c.protocol.dataReceived("kept\r\n");
    CHECK(c.protocol.lines == std::vector<std::string>{"clear", "kept"});
}

TEST_CASE("no line is delivered after the protocol loses its connection") {
    Connected c;
    c.protocol.dataReceived("one\r\nquit\r\nafter\r\n");
    CHECK(c.protocol.lines == std::vector<std::string>{"one", "quit"});
    c.protocol.dataReceived("later\r\n");
    CHECK(c.protocol.lines.size() == 2);
}

TEST_CASE("pauseProducing stops delivery and resumeProducing delivers what was buffered") {
    Connected c;
    c.protocol.dataReceived("pause\r\nheld\r\n");
    CHECK(c.protocol.lines == std::vector<std::string>{"pause"});
    CHECK(c.transport.producerState() == StringTransport::ProducerState::paused);
    c.protocol.resumeProducing();
    CHECK(c.protocol.lines == std::vector<std::string>{"pause", "held"});
    CHECK(c.transport.producerState() == StringTransport::ProducerState::producing);
}

TEST_CASE("dataReceived called from lineReceived is parsed after the current data") {
    Connected c;
    c.protocol.dataReceived("again\r\nouter\r\n");
    CHECK(c.protocol.lines == std::vector<std::string>{"again", "outer", "inner"});
}

TEST_CASE("an exception from lineReceived propagates and keeps the rest buffered") {
    Connected c;
    CHECK_THROWS_AS(c.protocol.dataReceived("boom\r\nnext\r\n"), std::runtime_error);
    CHECK(c.protocol.lines == std::vector<std::string>{"boom"});
    c.protocol.dataReceived("");
    CHECK(c.protocol.lines == std::vector<std::string>{"boom", "next"});
}
