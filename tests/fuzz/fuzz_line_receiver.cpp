// LineReceiver fed as a peer would: the input picks the delimiter, the
// maximum line length and how the bytes are split into reads; a line
// "!<byte>" switches to raw mode for 1..32 bytes and back (as an HTTP body
// does). Property: the lines, raw segments and length errors delivered are
// exactly those a reference splitter finds in the whole input.

#include <twine/core/log.hpp>
#include <twine/protocols/line_receiver.hpp>
#include <twine/transports/string_transport.hpp>

#include "fuzz_support.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace {

using Events = std::vector<std::string>;

bool startsRaw(std::string_view line) {
    return line.size() >= 2 && line[0] == '!';
}

std::size_t rawLength(std::string_view line) {
    return 1 + static_cast<unsigned char>(line[1]) % 32;
}

class Recorder final : public twine::LineReceiver {
public:
    Events events;

    void lineReceived(std::string_view line) override {
        events.push_back("L" + std::string(line));
        if (startsRaw(line)) {
            rawLeft_ = rawLength(line);
            events.push_back("R");  // the raw segment, filled as it arrives
            setRawMode();
        }
    }
    void rawDataReceived(std::string_view data) override {
        const std::size_t n = std::min(rawLeft_, data.size());
        events.back().append(data.substr(0, n));
        rawLeft_ -= n;
        if (rawLeft_ == 0) setLineMode(data.substr(n));
    }
    void lineLengthExceeded(std::string_view) override {
        events.push_back("X");
        transport().loseConnection();
    }

private:
    std::size_t rawLeft_ = 0;
};

// The same framing, computed over the whole input at once.
Events reference(std::string_view data, const std::string& delimiter, std::size_t maxLength) {
    Events events;
    std::size_t pos = 0;
    for (;;) {
        const std::size_t at = data.find(delimiter, pos);
        if (at == std::string_view::npos) {
            if (data.size() - pos > maxLength + delimiter.size() - 1) events.push_back("X");
            return events;
        }
        if (at - pos > maxLength) {
            events.push_back("X");
            return events;
        }
        const std::string_view line = data.substr(pos, at - pos);
        events.push_back("L" + std::string(line));
        pos = at + delimiter.size();
        if (startsRaw(line)) {
            const std::size_t wanted = rawLength(line);
            const std::string_view segment = data.substr(pos, wanted);
            events.push_back("R" + std::string(segment));
            pos += segment.size();
            if (segment.size() < wanted) return events;
        }
    }
}

const std::array<std::string, 5> delimiters = {"\r\n", "\n", "||", "aba", std::string(1, '\0')};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    twine::log::setLevel(twine::log::Level::error);
    fuzz::Input input(bytes, size);
    const std::string& delimiter = delimiters[input.byte() % delimiters.size()];
    const std::size_t maxLength = input.byte() % 40;
    const std::uint8_t seed = input.byte();

    Recorder receiver;
    receiver.setDelimiter(delimiter);
    receiver.setMaxLength(maxLength);
    twine::StringTransport transport;
    receiver.makeConnection(transport);
    for (std::string_view piece : fuzz::split(input.rest(), seed)) receiver.dataReceived(piece);

    FUZZ_CHECK(receiver.events == reference(input.rest(), delimiter, maxLength));
    return 0;
}
