#include <twine/core/failure.hpp>

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <typeinfo>

namespace twine {
namespace {

std::string demangle(const std::type_info* type) {
    if (type == nullptr) return "unknown";
    int status = 0;
    std::unique_ptr<char, decltype(&std::free)> name(
        abi::__cxa_demangle(type->name(), nullptr, nullptr, &status), &std::free);
    return status == 0 && name ? std::string(name.get()) : std::string(type->name());
}

}  // namespace

Failure::Failure() : Failure(std::current_exception()) {}

Failure::Failure(std::exception_ptr exception) : exception_(std::move(exception)) {
    if (!exception_) {
        exception_ = std::make_exception_ptr(std::logic_error("Failure of no exception"));
    }
    try {
        std::rethrow_exception(exception_);
    } catch (const std::exception& e) {
        what_ = e.what();
        typeName_ = demangle(abi::__cxa_current_exception_type());
    } catch (...) {
        what_ = "unknown exception";
        typeName_ = demangle(abi::__cxa_current_exception_type());
    }
}

void Failure::rethrow() const {
    std::rethrow_exception(exception_);
}

std::string Failure::describe() const {
    return typeName_ + ": " + what_;
}

}  // namespace twine
