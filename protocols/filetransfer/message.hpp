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
    /// The most fields a message may carry.
    static constexpr std::size_t maxFields = 16;
    /// The longest field name.
    static constexpr std::size_t maxKeyLength = 32;
    /// The longest verb.
    static constexpr std::size_t maxVerbLength = 16;

    /// A message with no verb and no fields.
    Message() = default;
    /// A message with `verb` ("HELLO", "FILE", ...) and no fields yet.
    explicit Message(std::string verb) : verb_(std::move(verb)) {}

    /// The verb.
    const std::string& verb() const { return verb_; }

    /// Adds a field; chainable: Message("FILE").set("name", n).set("size", s).
    Message& set(std::string key, std::string value);
    /// Adds a decimal field.
    Message& set(std::string key, std::uint64_t value);

    /// Whether the field is present.
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
/// Decodes hex (either case); throws TransferError("bad-message") for an odd
/// length or a non-hex digit.
std::string fromHex(std::string_view hex);

}  // namespace twine::filetransfer
