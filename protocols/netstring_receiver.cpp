#include <twine/protocols/netstring_receiver.hpp>

#include <twine/core/log.hpp>

#include <limits>
#include <string>

namespace twine {

namespace {

bool isDigit(char c) {
    return c >= '0' && c <= '9';
}

// value * 10 + digit, saturating instead of wrapping.
std::size_t appendDigit(std::size_t value, char digit) {
    constexpr std::size_t most = std::numeric_limits<std::size_t>::max();
    const auto d = static_cast<std::size_t>(digit - '0');
    if (value > (most - d) / 10) return most;
    return value * 10 + d;
}

}  // namespace

void NetstringReceiver::dataReceived(std::string_view data) {
    if (broken_) return;
    buffer_.feed(data, [this](std::string_view unparsed) { return parse(unparsed); });
}

void NetstringReceiver::lengthLimitExceeded(std::size_t length) {
    (void)length;
    transport().loseConnection();
}

void NetstringReceiver::sendString(std::string_view data) {
    const std::string length = std::to_string(data.size()) + ':';
    transport().writeSequence({std::string_view(length), data, std::string_view(",")});
}

bool NetstringReceiver::parse(std::string_view unparsed) {
    if (broken_ || (connected() && transport().disconnecting())) return false;
    // The header: digits, then ':'. The length is checked digit by digit, so
    // a huge announced length is refused before its body is buffered.
    std::size_t length = 0;
    std::size_t digits = 0;
    // A leading zero is refused at the second digit, before any length
    // check, so the outcome does not depend on how the bytes were split.
    while (digits < unparsed.size() && isDigit(unparsed[digits])) {
        if (digits == 1 && unparsed[0] == '0') {
            refuseMalformed("the length has a leading zero");
            return false;
        }
        length = appendDigit(length, unparsed[digits++]);
        if (length > maxLength_) {
            refuseLength(length);
            return false;
        }
    }
    if (digits == unparsed.size()) return false;  // the header is not complete yet
    if (digits == 0) {
        refuseMalformed("expected the length's digits");
        return false;
    }
    if (unparsed[digits] != ':') {
        refuseMalformed("expected ':' after the length");
        return false;
    }
    const std::size_t bodyStart = digits + 1;
    if (unparsed.size() - bodyStart <= length) return false;  // body and ',' not here yet
    if (unparsed[bodyStart + length] != ',') {
        refuseMalformed("expected ',' after the string");
        return false;
    }
    buffer_.consume(bodyStart + length + 1);
    stringReceived(unparsed.substr(bodyStart, length));
    return true;
}

void NetstringReceiver::refuseMalformed(std::string_view why) {
    log::warn("NetstringReceiver: malformed netstring (" + std::string(why) +
              "); closing the connection");
    broken_ = true;
    buffer_.clear();
    transport().loseConnection();
}

void NetstringReceiver::refuseLength(std::size_t length) {
    log::warn("NetstringReceiver: peer announced a string of " + std::to_string(length) +
              " bytes, above the limit of " + std::to_string(maxLength_));
    broken_ = true;
    buffer_.clear();
    lengthLimitExceeded(length);
}

}  // namespace twine
