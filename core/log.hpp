#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace twine {

class Failure;

namespace log {

/// Severity, lowest first.
enum class Level { debug, info, warn, error };

/// One message, as an observer receives it.
struct Event {
    Level level;               ///< Its severity.
    std::string_view message;  ///< Valid only during the observer's call.
};

/// Receives every event at or above the minimum level. The default observer
/// writes "twine [level] message" lines to stderr.
using Observer = std::function<void(const Event&)>;

/// Replaces the observer; an empty function restores the default. Thread-safe;
/// the observer may be called from any thread that logs.
void setObserver(Observer observer);
/// Drops events below `minimum` (info by default). Thread-safe.
void setLevel(Level minimum);
/// Whether an event at `level` would be emitted: test it before building an
/// expensive message.
bool enabled(Level level);

/// Hands `message` to the observer if `level` is enabled. Thread-safe.
void emit(Level level, std::string_view message);
/// emit at Level::debug.
inline void debug(std::string_view message) {
    emit(Level::debug, message);
}
/// emit at Level::info.
inline void info(std::string_view message) {
    emit(Level::info, message);
}
/// emit at Level::warn.
inline void warn(std::string_view message) {
    emit(Level::warn, message);
}
/// emit at Level::error.
inline void error(std::string_view message) {
    emit(Level::error, message);
}

/// Logs a failure at error level as "context: TypeName: message".
void failure(const Failure& failure, std::string_view context);

/// "debug", "info", "warn" or "error".
std::string_view levelName(Level level);

}  // namespace log
}  // namespace twine
