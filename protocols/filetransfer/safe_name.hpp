#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace twine::filetransfer {

/// A file name as it crosses the wire: a relative path checked component by
/// component, so a receiver can open it under its root and never outside.
/// Refused (TransferError "bad-name"): empty names, absolute paths, empty,
/// "." and ".." components, NUL and other control characters, backslashes,
/// names of our own temporaries (".x.part"), and anything too long or deep.
class SafeName {
public:
    /// The longest whole name, in bytes.
    static constexpr std::size_t maxLength = 4096;
    /// The longest component, in bytes (NAME_MAX).
    static constexpr std::size_t maxComponentLength = 255;
    /// The most components.
    static constexpr std::size_t maxDepth = 64;

    /// Checks `name`; throws TransferError("bad-name") naming the reason.
    explicit SafeName(std::string_view name);

    /// "a/b/c.txt"
    const std::string& str() const { return name_; }
    /// {"a", "b", "c.txt"}
    const std::vector<std::string>& components() const { return components_; }
    /// The last component: "c.txt".
    const std::string& leaf() const { return components_.back(); }
    /// True if this name is `other` or lies under it ("a/b" is under "a").
    bool within(const SafeName& other) const;

    /// The temporary a receiver writes before the final rename: ".c.txt.part".
    static std::string partName(std::string_view leaf);

private:
    std::string name_;
    std::vector<std::string> components_;
};

}  // namespace twine::filetransfer
