// Int32StringReceiver fed as a peer would, in reads of any size, with a
// maximum length from the input. Property: the strings delivered, and a
// refused length, are exactly those a reference splitter finds.

#include <twine/core/log.hpp>
#include <twine/protocols/int32_string_receiver.hpp>
#include <twine/transports/string_transport.hpp>

#include "fuzz_support.hpp"

#include <string>
#include <vector>

namespace {

using Events = std::vector<std::string>;

class Recorder final : public twine::Int32StringReceiver {
public:
    Events events;
    void stringReceived(std::string_view data) override { events.push_back("S" + std::string(data)); }
    void lengthLimitExceeded(std::size_t) override {
        events.push_back("X");
        transport().loseConnection();
    }
};

Events reference(std::string_view data, std::size_t maxLength) {
    Events events;
    while (data.size() >= 4) {
        std::size_t length = 0;
        for (int i = 0; i < 4; ++i) length = (length << 8) | static_cast<unsigned char>(data[i]);
        if (length > maxLength) {
            events.push_back("X");
            break;
        }
        if (data.size() - 4 < length) break;
        events.push_back("S" + std::string(data.substr(4, length)));
        data.remove_prefix(4 + length);
    }
    return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    twine::log::setLevel(twine::log::Level::error);
    fuzz::Input input(bytes, size);
    const std::size_t maxLength = static_cast<std::size_t>(input.byte()) * 4;
    const std::uint8_t seed = input.byte();

    Recorder receiver;
    receiver.setMaxLength(maxLength);
    twine::StringTransport transport;
    receiver.makeConnection(transport);
    for (std::string_view piece : fuzz::split(input.rest(), seed)) receiver.dataReceived(piece);

    FUZZ_CHECK(receiver.events == reference(input.rest(), maxLength));
    return 0;
}
