#include <twine/protocols/int32_string_receiver.hpp>

#include <twine/core/error.hpp>
#include <twine/core/log.hpp>

#include <array>
#include <cstdint>
#include <limits>
#include <string>

namespace twine {

namespace {

std::uint32_t readPrefix(std::string_view header) {
    std::uint32_t length = 0;
    for (std::size_t i = 0; i < Int32StringReceiver::prefixLength; ++i) {
        length = (length << 8) | static_cast<unsigned char>(header[i]);
    }
    return length;
}

}  // namespace

void Int32StringReceiver::dataReceived(std::string_view data) {
    if (broken_) return;
    buffer_.feed(data, [this](std::string_view unparsed) { return parse(unparsed); });
}

void Int32StringReceiver::lengthLimitExceeded(std::size_t length) {
    (void)length;
    transport().loseConnection();
}

void Int32StringReceiver::sendString(std::string_view data) {
    if (data.size() > std::numeric_limits<std::uint32_t>::max()) {
        throw MessageLengthError("Int32StringReceiver: a string of " + std::to_string(data.size()) +
                                 " bytes does not fit a 32-bit length prefix");
    }
    const auto size = static_cast<std::uint32_t>(data.size());
    const std::array<char, prefixLength> prefix = {
        static_cast<char>(size >> 24), static_cast<char>(size >> 16), static_cast<char>(size >> 8),
        static_cast<char>(size)};
    transport().writeSequence({std::string_view(prefix.data(), prefix.size()), data});
}

void Int32StringReceiver::pauseProducing() {
    paused_ = true;
    transport().pauseProducing();
}

void Int32StringReceiver::resumeProducing() {
    paused_ = false;
    transport().resumeProducing();
    dataReceived({});
}

bool Int32StringReceiver::parse(std::string_view unparsed) {
    if (broken_ || paused_ || (connected() && transport().disconnecting())) return false;
    if (unparsed.size() < prefixLength) return false;
    const std::size_t length = readPrefix(unparsed);
    if (length > maxLength_) {
        log::warn("Int32StringReceiver: peer announced a string of " + std::to_string(length) +
                  " bytes, above the limit of " + std::to_string(maxLength_));
        broken_ = true;
        buffer_.clear();
        lengthLimitExceeded(length);
        return false;
    }
    if (unparsed.size() - prefixLength < length) return false;
    buffer_.consume(prefixLength + length);
    stringReceived(unparsed.substr(prefixLength, length));
    return true;
}

}  // namespace twine
