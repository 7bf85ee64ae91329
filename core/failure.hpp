#pragma once

#include <exception>
#include <string>
#include <type_traits>
#include <utility>

namespace twine {

/// An exception captured as a value, as Twisted's Failure: it travels down
/// Deferred chains and into connectionLost. Copies share the exception.
class Failure {
public:
    /// Captures the exception currently being handled (call inside a catch).
    Failure();
    /// Wraps a captured exception; a null one becomes a std::logic_error.
    explicit Failure(std::exception_ptr exception);

    /// Captures a copy of `error`, so errback(ConnectionDone()) reads naturally.
    template <class E>
    requires std::is_base_of_v<std::exception, std::decay_t<E>> Failure(
        E&& error)  // NOLINT: implicit, so errback(ConnectionDone()) reads naturally
        : Failure(std::make_exception_ptr(std::forward<E>(error))) {}

    /// True if the exception is an E (or derives from it).
    template <class E>
    bool check() const {
        try {
            std::rethrow_exception(exception_);
        } catch (const E&) {
            return true;
        } catch (...) {
            return false;
        }
    }

    /// Rethrows the original exception unless it is an E: an errback that
    /// handles only E calls trap<E>() first, as in Twisted.
    template <class E>
    void trap() const {
        if (!check<E>()) rethrow();
    }

    /// Throws the original exception, with its type.
    [[noreturn]] void rethrow() const;
    /// The captured exception, never null.
    const std::exception_ptr& exception() const { return exception_; }

    /// The exception's message.
    const std::string& what() const { return what_; }
    /// The exception's demangled type name, e.g. "twine::ConnectionDone".
    const std::string& typeName() const { return typeName_; }
    /// "TypeName: message", for logs.
    std::string describe() const;

private:
    std::exception_ptr exception_;
    std::string what_;
    std::string typeName_;
};

}  // namespace twine
