#include <twine/protocols/line_receiver.hpp>

#include <functional>
#include <stdexcept>

namespace twine {
namespace {

// True if `part` ends where `whole` does and lies within it.
bool isTailOf(std::string_view part, std::string_view whole) {
    const std::less_equal<const char*> notAfter;  // a total order, unlike a raw <=
    return !whole.empty() && part.data() + part.size() == whole.data() + whole.size() &&
           notAfter(whole.data(), part.data());
}

}  // namespace

void LineReceiver::dataReceived(std::string_view data) {
    buffer_.feed(data, [this](std::string_view unparsed) { return parse(unparsed); });
}

void LineReceiver::lineLengthExceeded(std::string_view data) {
    (void)data;
    transport().loseConnection();
}

void LineReceiver::sendLine(std::string_view line) {
    transport().writeSequence({line, std::string_view(delimiter_)});
}

void LineReceiver::setDelimiter(std::string delimiter) {
    if (delimiter.empty()) throw std::invalid_argument("LineReceiver: the delimiter is empty");
    delimiter_ = std::move(delimiter);
    scanned_ = 0;
}

void LineReceiver::setRawMode() {
    lineMode_ = false;
    scanned_ = 0;
}

void LineReceiver::setLineMode(std::string_view extra) {
    lineMode_ = true;
    scanned_ = 0;
    if (extra.empty()) return;
    // The usual case: rawDataReceived took a prefix and gives the rest back.
    // Re-fed, the rest would be copied, once per switch, so a read holding
    // many small raw payloads would cost quadratic time.
    if (isTailOf(extra, raw_) && buffer_.putBack(extra)) {
        raw_ = {};
        return;
    }
    dataReceived(extra);
}

std::string LineReceiver::clearLineBuffer() {
    scanned_ = 0;
    return buffer_.clear();
}

void LineReceiver::pauseProducing() {
    paused_ = true;
    transport().pauseProducing();
}

void LineReceiver::resumeProducing() {
    paused_ = false;
    transport().resumeProducing();
    dataReceived({});
}

// As Twisted: nothing more is delivered once the protocol asked to stop
// reading or to close.
bool LineReceiver::delivering() const {
    return !paused_ && !(connected() && transport().disconnecting());
}

bool LineReceiver::parse(std::string_view unparsed) {
    if (!delivering()) return false;
    if (lineMode_) return parseLine(unparsed);
    buffer_.consume(unparsed.size());
    // Forgotten however the hook returns: a view kept past it would dangle.
    struct Forget {
        std::string_view& raw;
        ~Forget() { raw = {}; }
    } forget{raw_};
    raw_ = unparsed;
    rawDataReceived(unparsed);
    return true;
}

bool LineReceiver::parseLine(std::string_view unparsed) {
    const std::size_t at = unparsed.find(delimiter_, scanned_);
    if (at == std::string_view::npos) {
        // A delimiter may have begun in the last bytes: they are searched again.
        const std::size_t keep = delimiter_.size() - 1;
        scanned_ = unparsed.size() > keep ? unparsed.size() - keep : 0;
        // Longer than a line plus a partial delimiter: it cannot be a valid line.
        if (unparsed.size() <= maxLength_ + keep) return false;
        scanned_ = 0;
        buffer_.consume(unparsed.size());
        lineLengthExceeded(unparsed);
        return false;
    }
    scanned_ = 0;
    if (at > maxLength_) {
        buffer_.consume(unparsed.size());
        lineLengthExceeded(unparsed);
        return false;
    }
    buffer_.consume(at + delimiter_.size());
    lineReceived(unparsed.substr(0, at));
    return true;
}

}  // namespace twine
