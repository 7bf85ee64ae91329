#pragma once

#include <twine/core/protocol.hpp>
#include <twine/protocols/frame_buffer.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace twine {

/// A protocol that receives lines, as twisted.protocols.basic.LineReceiver.
/// Override lineReceived; write with sendLine. In raw mode (setRawMode) data
/// goes to rawDataReceived untouched until setLineMode.
///
/// Lines are delivered as views valid only during the call. Delivery stops
/// once the transport is disconnecting or the protocol is paused; what is
/// left stays buffered.
class LineReceiver : public Protocol {
public:
    /// maxLength unless setMaxLength changes it.
    static constexpr std::size_t defaultMaxLength = 16384;

    void dataReceived(std::string_view data) override;

    /// A complete line, without its delimiter.
    virtual void lineReceived(std::string_view line) { (void)line; }
    /// A line (or an unterminated buffer) longer than maxLength: `data` is
    /// everything that was buffered, now dropped. Closes the connection.
    virtual void lineLengthExceeded(std::string_view data);
    /// Data received in raw mode.
    virtual void rawDataReceived(std::string_view data) { (void)data; }

    /// Writes `line` followed by the delimiter.
    void sendLine(std::string_view line);

    /// What ends a line (default "\r\n"); throws std::invalid_argument if empty.
    void setDelimiter(std::string delimiter);
    /// The line delimiter.
    const std::string& delimiter() const { return delimiter_; }
    /// The longest line accepted, delimiter excluded (default 16384).
    void setMaxLength(std::size_t maxLength) { maxLength_ = maxLength; }
    /// The longest line accepted.
    std::size_t maxLength() const { return maxLength_; }

    /// From now on, data goes to rawDataReceived. Called from lineReceived,
    /// the rest of the current data is delivered raw.
    void setRawMode();
    /// Back to lines; `extra` is parsed as if it had just been received (the
    /// part of raw data that belongs to the lines, as in Twisted).
    void setLineMode(std::string_view extra = {});
    /// True in line mode, false in raw mode.
    bool lineMode() const { return lineMode_; }

    /// Drops and returns everything buffered and not yet delivered.
    std::string clearLineBuffer();

    /// Stops delivering lines and pauses reading; resumeProducing delivers
    /// what is buffered and resumes reading.
    void pauseProducing();
    /// Undoes pauseProducing; lines already buffered are delivered first.
    void resumeProducing();

private:
    bool parse(std::string_view unparsed);
    bool parseLine(std::string_view unparsed);
    bool delivering() const;

    detail::FrameBuffer buffer_;
    std::string delimiter_ = "\r\n";
    std::size_t maxLength_ = defaultMaxLength;
    // Bytes at the front of the unparsed data already searched for the
    // delimiter: a long line arriving in small reads is scanned once.
    std::size_t scanned_ = 0;
    // The data rawDataReceived is being handed: a setLineMode(extra) with
    // the tail of it puts that tail back instead of copying it.
    std::string_view raw_;
    bool lineMode_ = true;
    bool paused_ = false;
};

}  // namespace twine
