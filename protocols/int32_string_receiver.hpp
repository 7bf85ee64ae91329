#pragma once

#include <twine/core/protocol.hpp>
#include <twine/protocols/frame_buffer.hpp>

#include <cstddef>
#include <string_view>

namespace twine {

/// A protocol that receives strings each prefixed by its length as a 4-byte
/// big-endian integer, as twisted.protocols.basic.Int32StringReceiver.
/// Override stringReceived; write with sendString.
///
/// A length above maxLength is refused from the header, before any of the
/// body is buffered: lengthLimitExceeded is called, the buffer is dropped and
/// the rest of the stream is ignored (it cannot be framed any more).
class Int32StringReceiver : public Protocol {
public:
    /// maxLength unless setMaxLength changes it.
    static constexpr std::size_t defaultMaxLength = 99999;
    /// The length prefix's size in bytes.
    static constexpr std::size_t prefixLength = 4;

    void dataReceived(std::string_view data) override;

    /// A complete string; the view is valid only during the call.
    virtual void stringReceived(std::string_view data) { (void)data; }
    /// A header announced `length` bytes, more than maxLength. Closes the
    /// connection.
    virtual void lengthLimitExceeded(std::size_t length);

    /// Writes the length prefix and `data` (one vectored write, no copy).
    /// Throws MessageLengthError if `data` does not fit in 32 bits.
    void sendString(std::string_view data);

    /// The longest string accepted, prefix excluded (default 99999).
    void setMaxLength(std::size_t maxLength) { maxLength_ = maxLength; }
    /// The longest string accepted.
    std::size_t maxLength() const { return maxLength_; }

    /// Stops delivering strings and pauses reading; resumeProducing delivers
    /// what is buffered and resumes reading.
    void pauseProducing();
    /// Undoes pauseProducing; strings already buffered are delivered first.
    void resumeProducing();

private:
    bool parse(std::string_view unparsed);

    detail::FrameBuffer buffer_;
    std::size_t maxLength_ = defaultMaxLength;
    bool paused_ = false;
    bool broken_ = false;  // a length was refused: the stream is out of step
};

}  // namespace twine
