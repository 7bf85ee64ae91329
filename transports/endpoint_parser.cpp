#include <twine/transports/endpoint_parser.hpp>

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace twine {
namespace {

// One ':'-separated field: a key and value if it held an unescaped '='.
struct Field {
    std::string first;
    std::optional<std::string> value;
};

// Twisted's _tokenize: only the first unescaped '=' of a field splits it, so
// a value may itself hold '=' ("path=a=b" is path "a=b").
std::optional<std::vector<Field>> splitFields(std::string_view text) {
    std::vector<Field> fields(1);
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        Field& field = fields.back();
        std::string& current = field.value ? *field.value : field.first;
        if (c == '\\') {
            if (++i == text.size()) return std::nullopt;  // nothing to escape
            current += text[i];
        } else if (c == ':') {
            fields.emplace_back();
        } else if (c == '=' && !field.value) {
            field.value.emplace();
        } else {
            current += c;
        }
    }
    return fields;
}

std::string quoted(std::string_view text) {
    return "'" + std::string(text) + "'";
}

}  // namespace

EndpointParameters EndpointParameters::parse(std::string_view description) {
    EndpointParameters result;
    result.text_ = std::string(description);
    if (description.empty()) result.fail("the description is empty");
    auto fields = splitFields(description);
    if (!fields) result.fail("it ends with a lone backslash");
    Field& typeField = fields->front();
    if (typeField.value || typeField.first.empty()) {
        result.fail("it must start with the endpoint type (such as tcp: or unix:)");
    }
    result.type_ = std::move(typeField.first);
    for (std::size_t i = 1; i < fields->size(); ++i) {
        Field& field = (*fields)[i];
        if (!field.value) {
            result.positional_.push_back(std::move(field.first));
            continue;
        }
        if (field.first.empty()) result.fail("a parameter has no name before '='");
        auto [where, inserted] = result.keywords_.emplace(field.first, std::move(*field.value));
        if (!inserted) result.fail("parameter '" + where->first + "' is given twice");
    }
    return result;
}

void EndpointParameters::bindPositional(std::initializer_list<std::string_view> names) {
    std::size_t next = 0;
    for (std::string_view name : names) {
        if (next == positional_.size()) break;
        if (keywords_.contains(name)) continue;
        keywords_.emplace(std::string(name), std::move(positional_[next++]));
    }
    if (next < positional_.size()) {
        fail("unexpected positional parameter " + quoted(positional_[next]));
    }
    positional_.clear();
}

std::optional<std::string> EndpointParameters::take(std::string_view key) {
    auto where = keywords_.find(key);
    if (where == keywords_.end()) return std::nullopt;
    std::string value = std::move(where->second);
    keywords_.erase(where);
    return value;
}

std::string EndpointParameters::require(std::string_view key) {
    auto value = take(key);
    if (!value) fail("missing " + std::string(key));
    return std::move(*value);
}

std::optional<long> EndpointParameters::takeInteger(std::string_view key, long min, long max) {
    auto value = take(key);
    if (!value) return std::nullopt;
    long number = 0;
    const char* end = value->data() + value->size();
    auto [stop, error] = std::from_chars(value->data(), end, number);
    if (value->empty() || error == std::errc::invalid_argument || stop != end) {
        fail(std::string(key) + " " + quoted(*value) + " is not a number");
    }
    if (error == std::errc::result_out_of_range || number < min || number > max) {
        fail(std::string(key) + " " + *value + " is out of range (" + std::to_string(min) + "-" +
             std::to_string(max) + ")");
    }
    return number;
}

std::optional<std::uint16_t> EndpointParameters::takePort(std::string_view key, bool allowZero) {
    auto port = takeInteger(key, allowZero ? 0 : 1, 65535);
    if (!port) return std::nullopt;
    return static_cast<std::uint16_t>(*port);
}

std::optional<int> EndpointParameters::takeMode(std::string_view key) {
    auto value = take(key);
    if (!value) return std::nullopt;
    int mode = 0;
    const char* end = value->data() + value->size();
    auto [stop, error] = std::from_chars(value->data(), end, mode, 8);
    if (value->empty() || error != std::errc() || stop != end || mode < 0 || mode > 07777) {
        fail(std::string(key) + " " + quoted(*value) + " is not an octal file mode such as 660");
    }
    return mode;
}

std::optional<double> EndpointParameters::takeSeconds(std::string_view key) {
    auto value = take(key);
    if (!value) return std::nullopt;
    double seconds = 0;
    const char* end = value->data() + value->size();
    auto [stop, error] = std::from_chars(value->data(), end, seconds, std::chars_format::fixed);
    if (value->empty() || error != std::errc() || stop != end || !std::isfinite(seconds) ||
        seconds < 0) {
        fail(std::string(key) + " " + quoted(*value) + " is not a number of seconds");
    }
    // Bounded so that it converts to libuv's milliseconds without overflow
    // (found by tests/fuzz/fuzz_endpoint_parser: 5.7e78 was accepted).
    if (seconds > maxSeconds) {
        fail(std::string(key) + " " + quoted(*value) + " is more than " +
             std::to_string(static_cast<long>(maxSeconds)) + " seconds");
    }
    return seconds;
}

void EndpointParameters::finish() const {
    if (!positional_.empty()) fail("unexpected positional parameter " + quoted(positional_[0]));
    if (!keywords_.empty()) {
        fail("unknown parameter '" + keywords_.begin()->first + "' for " + type_ + " endpoints");
    }
}

void EndpointParameters::fail(const std::string& problem) const {
    throw std::invalid_argument("invalid endpoint " + quoted(text_) + ": " + problem);
}

std::string escapeEndpointValue(std::string_view value) {
    std::string escaped;
    escaped.reserve(value.size());
    for (char c : value) {
        if (c == '\\' || c == ':' || c == '=') escaped += '\\';
        escaped += c;
    }
    return escaped;
}

}  // namespace twine
