#include <twine/protocols/filetransfer/safe_name.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>

namespace twine::filetransfer {
namespace {

[[noreturn]] void refuse(std::string_view name, const std::string& why) {
    // Quote only a printable prefix: the name itself may be hostile.
    std::string shown;
    for (unsigned char c : name.substr(0, 80)) {
        shown += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
    }
    throw TransferError(code::badName, "unsafe name '" + shown + "': " + why);
}

bool isPartName(std::string_view component) {
    return component.size() > 6 && component.front() == '.' && component.ends_with(".part");
}

void checkComponent(std::string_view name, std::string_view component) {
    if (component.empty()) refuse(name, "empty path component");
    if (component == "." || component == "..") refuse(name, "'.' or '..' component");
    if (component.size() > SafeName::maxComponentLength) refuse(name, "component too long");
    if (isPartName(component)) refuse(name, "reserved temporary name");
}

}  // namespace

SafeName::SafeName(std::string_view name) : name_(name) {
    if (name.empty()) refuse(name, "empty name");
    if (name.size() > maxLength) refuse(name, "name too long");
    if (name.front() == '/') refuse(name, "absolute path");
    for (unsigned char c : name) {
        if (c == 0) refuse(name, "NUL byte");
        if (c < 0x20 || c == 0x7f) refuse(name, "control character");
        if (c == '\\') refuse(name, "backslash");
    }
    std::size_t start = 0;
    while (true) {
        std::size_t slash = name.find('/', start);
        std::string_view component = name.substr(start, slash - start);
        checkComponent(name, component);
        components_.emplace_back(component);
        if (components_.size() > maxDepth) refuse(name, "too deep");
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
}

bool SafeName::within(const SafeName& other) const {
    if (other.components_.size() > components_.size()) return false;
    for (std::size_t i = 0; i < other.components_.size(); ++i) {
        if (components_[i] != other.components_[i]) return false;
    }
    return true;
}

std::string SafeName::partName(std::string_view leaf) {
    std::string part = ".";
    part += leaf;
    part += ".part";
    return part;
}

}  // namespace twine::filetransfer
