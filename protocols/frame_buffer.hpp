#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace twine::detail {

/// The one mechanism every framing protocol (lines, int32 and netstring
/// frames, and what is built on them) uses to hold partial frames between
/// reads.
///
/// feed() hands the parser a view of the unparsed bytes; the parser takes
/// whole frames off the front with consume() and returns false when it needs
/// more bytes (or must stop). Frames are delivered as views: straight into the
/// caller's data when nothing is buffered (no copy), else into the buffer.
/// Only the trailing partial frame is copied, and the buffer is compacted at
/// most once per read, so many small frames in one read cost linear time.
///
/// Re-entrant feeds (a hook calling dataReceived) are queued and parsed after
/// the current data, so views handed to a hook stay valid while it runs.
class FrameBuffer {
public:
    /// Parses `data` after what is already buffered. `parse(unparsed)` is
    /// called while bytes remain and it returns true; exceptions propagate and
    /// leave the buffer consistent.
    template <class Parse>
    void feed(std::string_view data, Parse&& parse) {
        if (busy_) {
            pending_.append(data);
            return;
        }
        Session session(*this);
        std::string held;  // keeps queued re-entrant data alive while parsed
        for (;;) {
            begin(data);
            while (!current_.empty() && parse(current_)) {
            }
            keepRest();
            if (pending_.empty()) return;
            held.swap(pending_);
            pending_.clear();
            data = held;
        }
    }

    /// Drops the first n unparsed bytes: a frame the parser has taken. Call
    /// it before handing the frame to a hook, so that the hook sees the rest
    /// as the unparsed data (clear() from a hook then drops only the rest).
    void consume(std::size_t n) { current_.remove_prefix(n); }

    /// Undoes consume() for `tail`, the last bytes consumed, when nothing was
    /// parsed or fed since (a raw-mode hook giving back what it did not
    /// take). Returns false, changing nothing, otherwise: feed it again.
    bool putBack(std::string_view tail) {
        if (!busy_ || !pending_.empty() || !current_.empty()) return false;
        if (current_.data() == nullptr || tail.data() + tail.size() != current_.data())
            return false;
        current_ = tail;
        return true;
    }

    /// The bytes not parsed yet.
    std::string_view unparsed() const { return busy_ ? current_ : stored(); }
    std::size_t size() const { return unparsed().size() + pending_.size(); }
    bool empty() const { return size() == 0; }

    /// Drops everything not parsed yet and returns it (Twisted's
    /// clearLineBuffer). Safe from inside a hook: the views it holds stay
    /// valid until it returns.
    std::string clear() {
        std::string dropped(unparsed());
        dropped += pending_;
        pending_.clear();
        if (busy_) {
            current_ = {};
        } else {
            release();
        }
        return dropped;
    }

private:
    // Marks the buffer busy for the length of one feed, even if a hook throws.
    class Session {
    public:
        explicit Session(FrameBuffer& buffer) : buffer_(buffer) { buffer_.busy_ = true; }
        ~Session() {
            if (!buffer_.current_.empty() || !buffer_.pending_.empty()) buffer_.keepRest();
            buffer_.store_.append(buffer_.pending_);
            buffer_.pending_.clear();
            buffer_.current_ = {};
            buffer_.busy_ = false;
        }
        Session(const Session&) = delete;
        Session& operator=(const Session&) = delete;

    private:
        FrameBuffer& buffer_;
    };

    // The buffer keeps no more than this much spare capacity while empty, so
    // an idle connection does not pin the memory of its largest frame.
    static constexpr std::size_t idleCapacity = 64 * 1024;

    std::string_view stored() const { return std::string_view(store_).substr(start_); }

    // Points current_ at the unparsed bytes: the caller's data itself when
    // nothing is buffered, else the buffer with the data appended.
    void begin(std::string_view data) {
        if (start_ == store_.size()) {
            current_ = data;
            return;
        }
        if (start_ > 0) {
            store_.erase(0, start_);
            start_ = 0;
        }
        store_.append(data);
        current_ = store_;
    }

    // After parsing: remembers the unparsed rest, copying it only if it still
    // lives in the caller's data.
    void keepRest() {
        const char* base = store_.data();
        std::less_equal<const char*> notAfter;  // total order, unlike a raw <=
        bool inStore =
            notAfter(base, current_.data()) && notAfter(current_.data(), base + store_.size());
        if (current_.empty()) {
            release();
        } else if (inStore) {
            start_ = static_cast<std::size_t>(current_.data() - base);
        } else {
            store_.assign(current_);
            start_ = 0;
        }
        current_ = {};
    }

    void release() {
        if (store_.capacity() > idleCapacity) {
            std::string().swap(store_);
        } else {
            store_.clear();
        }
        start_ = 0;
    }

    std::string store_;
    std::size_t start_ = 0;
    std::string_view current_;  // while busy: the unparsed bytes
    std::string pending_;       // data fed while busy, parsed after current_
    bool busy_ = false;
};

}  // namespace twine::detail
