#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace twine {

class Failure;

namespace log {

enum class Level { debug, info, warn, error };

struct Event {
    Level level;
    std::string_view message;
};

/// Receives every event at or above the minimum level. The default observer
/// writes "twine [level] message" lines to stderr.
using Observer = std::function<void(const Event&)>;

/// Replaces the observer; an empty function restores the default.
void setObserver(Observer observer);
void setLevel(Level minimum);
bool enabled(Level level);

void emit(Level level, std::string_view message);
inline void debug(std::string_view message) {
    emit(Level::debug, message);
}
inline void info(std::string_view message) {
    emit(Level::info, message);
}
inline void warn(std::string_view message) {
    emit(Level::warn, message);
}
inline void error(std::string_view message) {
    emit(Level::error, message);
}

/// Logs a failure at error level as "context: TypeName: message".
void failure(const Failure& failure, std::string_view context);

std::string_view levelName(Level level);

}  // namespace log
}  // namespace twine
