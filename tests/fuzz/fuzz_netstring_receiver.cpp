// NetstringReceiver fed as a peer would, in reads of any size. Property: the
// strings delivered, a refused length and a malformed netstring (the
// connection closed) are exactly those a reference parser finds.

#include <twine/core/log.hpp>
#include <twine/protocols/netstring_receiver.hpp>
#include <twine/transports/string_transport.hpp>

#include "fuzz_support.hpp"

#include <limits>
#include <string>
#include <vector>

namespace {

using Events = std::vector<std::string>;

class Recorder final : public twine::NetstringReceiver {
public:
    Events events;
    void stringReceived(std::string_view data) override { events.push_back("S" + std::string(data)); }
    void lengthLimitExceeded(std::size_t) override {
        events.push_back("X");
        transport().loseConnection();
    }
};

bool digit(char c) {
    return c >= '0' && c <= '9';
}

// "LENGTH:BODY," with LENGTH in decimal without leading zeros.
Events reference(std::string_view data, std::size_t maxLength) {
    Events events;
    for (;;) {
        if (data.empty()) return events;
        std::size_t digits = 0;
        std::size_t length = 0;
        while (digits < data.size() && digit(data[digits])) {
            if (digits == 1 && data[0] == '0') {
                events.push_back("M");  // a leading zero
                return events;
            }
            const std::size_t d = static_cast<std::size_t>(data[digits++] - '0');
            length = length > (std::numeric_limits<std::size_t>::max() - d) / 10
                         ? std::numeric_limits<std::size_t>::max()
                         : length * 10 + d;
            if (length > maxLength) {
                events.push_back("X");
                return events;
            }
        }
        const bool malformed = digits < data.size() && (digits == 0 || data[digits] != ':');
        if (malformed) {
            events.push_back("M");
            return events;
        }
        if (digits == data.size() || data.size() - digits - 1 <= length) return events;
        if (data[digits + 1 + length] != ',') {
            events.push_back("M");
            return events;
        }
        events.push_back("S" + std::string(data.substr(digits + 1, length)));
        data.remove_prefix(digits + 2 + length);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    twine::log::setLevel(twine::log::Level::error);
    fuzz::Input input(bytes, size);
    const std::size_t maxLength = input.byte() % 100;
    const std::uint8_t seed = input.byte();

    Recorder receiver;
    receiver.setMaxLength(maxLength);
    twine::StringTransport transport;
    receiver.makeConnection(transport);
    for (std::string_view piece : fuzz::split(input.rest(), seed)) receiver.dataReceived(piece);
    // A malformed netstring has no hook: it shows as the connection closing.
    if (transport.disconnecting() && (receiver.events.empty() || receiver.events.back() != "X")) {
        receiver.events.push_back("M");
    }

    FUZZ_CHECK(receiver.events == reference(input.rest(), maxLength));
    return 0;
}
