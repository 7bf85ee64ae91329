#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace twine::filetransfer {

/// One control message of the wire protocol: a verb and named fields, sent
/// as one line "VERB key=value ..." with values percent-encoded
/// (PROTOCOL.md). Parsing enforces every limit, so hostile input gives a
/// TransferError("bad-message"), never unbounded memory.
class Message {
public:
    /// The longest line (without its delimiter) either side accepts.
    static constexpr std::size_t maxLineLength = 8192;
    static constexpr std::size_t maxFields = 16;
    static constexpr std::size_t maxKeyLength = 32;
    static constexpr std::size_t maxVerbLength = 16;

    Message() = default;
    explicit Message(std::string verb) : verb_(std::move(verb)) {}

    const std::string& verb() const { return verb_; }

    /// Adds a field; chainable: Message("FILE").set("name", n).set("size", s).
    Message& set(std::string key, std::string value);
    Message& set(std::string key, std::uint64_t value);

    bool has(std::string_view key) const;
    /// The field's value; throws TransferError("bad-message") if missing.
    const std::string& get(std::string_view key) const;
    /// A decimal unsigned field (no sign, no leading zeros, fits in 63 bits).
    std::uint64_t getNumber(std::string_view key) const;
    /// A lower-case hex field of exactly `bytes` bytes, returned decoded.
    std::string getHex(std::string_view key, std::size_t bytes) const;

    /// The wire form, without the line delimiter.
    std::string encode() const;
    /// Parses one line (without delimiter); throws TransferError("bad-message").
    static Message decode(std::string_view line);

private:
    std::string verb_;
    std::vector<std::pair<std::string, std::string>> fields_;
};

/// Lower-case hex of arbitrary bytes, and back (throws on bad input).
std::string toHex(std::string_view bytes);
std::string fromHex(std::string_view hex);

}  // namespace twine::filetransfer
