#include <twine/core/failure.hpp>
#include <twine/core/log.hpp>

#include <atomic>
#include <cstdio>
#include <mutex>

namespace twine::log {
namespace {

// The observer may be replaced from any thread; logging itself is rare enough
// that a mutex costs nothing measurable.
std::mutex observerMutex;
Observer currentObserver;
std::atomic<Level> minimumLevel{Level::info};

void writeToStderr(const Event& event) {
    std::string line = "twine [";
    line += levelName(event.level);
    line += "] ";
    line += event.message;
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

void setObserver(Observer observer) {
    std::lock_guard lock(observerMutex);
    currentObserver = std::move(observer);
}

void setLevel(Level minimum) {
    minimumLevel = minimum;
}

bool enabled(Level level) {
    return level >= minimumLevel.load(std::memory_order_relaxed);
}

void emit(Level level, std::string_view message) {
    if (!enabled(level)) return;
    Observer observer;
    {
        // Copied out, so an observer that itself logs cannot deadlock.
        std::lock_guard lock(observerMutex);
        observer = currentObserver;
    }
    Event event{level, message};
    if (observer) {
        observer(event);
    } else {
        writeToStderr(event);
    }
}

void failure(const Failure& failure, std::string_view context) {
    std::string message(context);
    message += ": ";
    message += failure.describe();
    emit(Level::error, message);
}

std::string_view levelName(Level level) {
    switch (level) {
        case Level::debug:
            return "debug";
        case Level::info:
            return "info";
        case Level::warn:
            return "warn";
        case Level::error:
            return "error";
    }
    return "?";
}

}  // namespace twine::log
