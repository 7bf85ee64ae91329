#include <twine/protocols/filetransfer/message.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>

#include <algorithm>
#include <limits>

namespace twine::filetransfer {
namespace {

[[noreturn]] void bad(const std::string& why) {
    throw TransferError(code::badMessage, "malformed message: " + why);
}

bool isPlain(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~' || c == '/' || c == ',';
}

int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void appendEncoded(std::string& out, std::string_view value) {
    static constexpr char digits[] = "0123456789ABCDEF";
    for (unsigned char c : value) {
        if (isPlain(c)) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += digits[c >> 4];
            out += digits[c & 15];
        }
    }
}

std::string percentDecode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%') {
            if (i + 2 >= text.size()) bad("truncated %-escape");
            int high = hexValue(text[i + 1]);
            int low = hexValue(text[i + 2]);
            if (high < 0 || low < 0) bad("invalid %-escape");
            out += static_cast<char>(high * 16 + low);
            i += 2;
        } else if (isPlain(static_cast<unsigned char>(c))) {
            out += c;
        } else {
            bad("unescaped byte in value");
        }
    }
    return out;
}

bool validKey(std::string_view key) {
    if (key.empty() || key.size() > Message::maxKeyLength) return false;
    return std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

bool validVerb(std::string_view verb) {
    if (verb.empty() || verb.size() > Message::maxVerbLength) return false;
    return std::all_of(verb.begin(), verb.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

Message& Message::set(std::string key, std::string value) {
    fields_.emplace_back(std::move(key), std::move(value));
    return *this;
}

Message& Message::set(std::string key, std::uint64_t value) {
    return set(std::move(key), std::to_string(value));
}

bool Message::has(std::string_view key) const {
    return std::any_of(fields_.begin(), fields_.end(),
                       [&](const auto& field) { return field.first == key; });
}

const std::string& Message::get(std::string_view key) const {
    for (const auto& [name, value] : fields_) {
        if (name == key) return value;
    }
    bad(verb_ + " lacks field '" + std::string(key) + "'");
}

std::uint64_t Message::getNumber(std::string_view key) const {
    const std::string& text = get(key);
    if (text.empty() || text.size() > 19 || (text.size() > 1 && text[0] == '0')) {
        bad("field '" + std::string(key) + "' is not a number");
    }
    std::uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') bad("field '" + std::string(key) + "' is not a number");
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        bad("field '" + std::string(key) + "' is out of range");
    }
    return value;
}

std::string Message::getHex(std::string_view key, std::size_t bytes) const {
    const std::string& text = get(key);
    if (text.size() != bytes * 2) bad("field '" + std::string(key) + "' has the wrong length");
    return fromHex(text);
}

std::string Message::encode() const {
    std::string line = verb_;
    for (const auto& [key, value] : fields_) {
        line += ' ';
        line += key;
        line += '=';
        appendEncoded(line, value);
    }
    return line;
}

Message Message::decode(std::string_view line) {
    if (line.size() > maxLineLength) bad("line longer than " + std::to_string(maxLineLength));
    std::size_t space = line.find(' ');
    std::string_view verb = line.substr(0, space);
    if (!validVerb(verb)) bad("invalid verb");
    Message message{std::string(verb)};
    while (space != std::string_view::npos) {
        line.remove_prefix(space + 1);
        space = line.find(' ');
        std::string_view field = line.substr(0, space);
        std::size_t equals = field.find('=');
        if (equals == std::string_view::npos) bad("field without '='");
        std::string_view key = field.substr(0, equals);
        if (!validKey(key)) bad("invalid field name");
        if (message.has(key)) bad("duplicate field '" + std::string(key) + "'");
        if (message.fields_.size() == maxFields) bad("too many fields");
        message.set(std::string(key), percentDecode(field.substr(equals + 1)));
    }
    return message;
}

std::string toHex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::string fromHex(std::string_view hex) {
    if (hex.size() % 2 != 0) bad("odd-length hex");
    std::string out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        int high = hexValue(hex[i]);
        int low = hexValue(hex[i + 1]);
        if (high < 0 || low < 0 || (hex[i] >= 'A' && hex[i] <= 'F') ||
            (hex[i + 1] >= 'A' && hex[i + 1] <= 'F')) {
            bad("invalid hex");
        }
        out += static_cast<char>(high * 16 + low);
    }
    return out;
}

}  // namespace twine::filetransfer
