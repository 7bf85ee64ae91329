#pragma once

#include <twine/core/protocol.hpp>
#include <twine/protocols/frame_buffer.hpp>

#include <cstddef>
#include <string_view>

namespace twine {

/// A protocol that receives netstrings ("5:hello,"), as
/// twisted.protocols.basic.NetstringReceiver. Override stringReceived; write
/// with sendString.
///
/// A length above maxLength is refused as soon as its digits are read, before
/// any of the body is buffered (lengthLimitExceeded). Malformed input (no
/// digits, a leading zero, a missing ':' or ',') is logged and closes the
/// connection. Either way the rest of the stream is ignored.
class NetstringReceiver : public Protocol {
public:
    /// maxLength unless setMaxLength changes it.
    static constexpr std::size_t defaultMaxLength = 99999;

    void dataReceived(std::string_view data) override;

    /// A complete string; the view is valid only during the call.
    virtual void stringReceived(std::string_view data) { (void)data; }
    /// A netstring announced `length` bytes (saturated at SIZE_MAX), more than
    /// maxLength. Closes the connection.
    virtual void lengthLimitExceeded(std::size_t length);

    /// Writes `<length>:<data>,` (one vectored write, no copy of data).
    void sendString(std::string_view data);

    /// The longest string accepted (default 99999).
    void setMaxLength(std::size_t maxLength) { maxLength_ = maxLength; }
    /// The longest string accepted.
    std::size_t maxLength() const { return maxLength_; }

    /// True once malformed or oversized input stopped the parsing.
    bool brokenPeer() const { return broken_; }

private:
    bool parse(std::string_view unparsed);
    void refuseMalformed(std::string_view why);
    void refuseLength(std::size_t length);

    detail::FrameBuffer buffer_;
    std::size_t maxLength_ = defaultMaxLength;
    bool broken_ = false;
};

}  // namespace twine
