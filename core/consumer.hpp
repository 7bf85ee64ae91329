#pragma once

#include <twine/core/producer.hpp>

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace twine {

/// Something data is written into, as Twisted's IConsumer.
class Consumer {
public:
    virtual ~Consumer() = default;

    /// Writes data. The bytes are copied only if they cannot go out at once.
    virtual void write(std::string_view data) = 0;
    /// Writes data the caller gives away: queued without a copy.
    virtual void write(std::string&& data) { write(std::string_view(data)); }
    /// Writes a NUL-terminated string (so a literal does not pick the std::string&& overload).
    void write(const char* data) { write(std::string_view(data)); }

    /// Writes several buffers, in order, as one (one vectored write where possible).
    virtual void writeSequence(std::span<const std::string_view> parts) {
        for (std::string_view part : parts) write(part);
    }
    /// writeSequence over a braced list: `writeSequence({header, body})`.
    void writeSequence(std::initializer_list<std::string_view> parts) {
        writeSequence(std::span<const std::string_view>(parts.begin(), parts.size()));
    }

    /// Attaches a producer: a streaming (push) producer is paused above the
    /// high water mark and resumed below the low one; a pull producer is asked
    /// for more each time the buffer drains. One producer at a time.
    virtual void registerProducer(Producer& producer, bool streaming) = 0;
    /// Detaches the producer; the consumer no longer pauses or resumes it.
    virtual void unregisterProducer() = 0;
};

}  // namespace twine
