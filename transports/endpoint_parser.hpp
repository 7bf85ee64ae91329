#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace twine {

/// One endpoint description ("tcp:1234:interface=127.0.0.1") split with
/// Twisted's strports grammar: fields are separated by ':', a field
/// "key=value" is a keyword parameter and any other field is positional, and
/// a backslash makes the next character literal ("unix:/tmp/a\:b.sock").
///
/// Each endpoint type's parser takes the parameters it knows, one by one, and
/// then calls finish(), which rejects whatever is left: so adding a type (udp,
/// ssl, tls) is one small function. Every problem throws std::invalid_argument
/// with a message that quotes the description and names the problem.
class EndpointParameters {
public:
    /// Splits a description; throws on an empty description or type, a
    /// trailing lone backslash, or a keyword given twice.
    static EndpointParameters parse(std::string_view description);

    /// The first field: "tcp", "unix", ...
    const std::string& type() const { return type_; }
    /// The description as given, for messages.
    const std::string& text() const { return text_; }

    /// Gives the positional fields, in order, to those of `names` not given
    /// as keywords (Twisted's "tcp:localhost:80" == "tcp:host=localhost:port=80",
    /// and "tcp:80:host=x" gives 80 to port). Throws if some are left over.
    void bindPositional(std::initializer_list<std::string_view> names);

    /// Removes and returns a parameter, if given.
    std::optional<std::string> take(std::string_view key);
    /// As take, but a missing parameter is an error.
    std::string require(std::string_view key);

    /// A port number, 0..65535 (or 1..65535 unless allowZero).
    std::optional<std::uint16_t> takePort(std::string_view key, bool allowZero);
    /// A decimal integer within [min, max].
    std::optional<long> takeInteger(std::string_view key, long min, long max);
    /// An octal file mode such as 660 or 0660, at most 7777.
    std::optional<int> takeMode(std::string_view key);
    /// The longest duration takeSeconds accepts: about eleven days.
    static constexpr double maxSeconds = 1e6;
    /// A non-negative number of seconds, such as 10 or 2.5, at most maxSeconds.
    std::optional<double> takeSeconds(std::string_view key);

    /// Throws naming the first parameter nobody took.
    void finish() const;

    /// Throws std::invalid_argument("invalid endpoint '<text>': <problem>").
    [[noreturn]] void fail(const std::string& problem) const;

private:
    std::string type_;
    std::string text_;
    std::vector<std::string> positional_;
    std::map<std::string, std::string, std::less<>> keywords_;
};

/// Escapes '\\', ':' and '=' so that `value` reads back as one field.
std::string escapeEndpointValue(std::string_view value);

}  // namespace twine
