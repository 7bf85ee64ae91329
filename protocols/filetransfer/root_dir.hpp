#pragma once

#include <twine/protocols/filetransfer/safe_name.hpp>

#include <string>

namespace twine::filetransfer {

/// An open file descriptor, closed on destruction.
class UniqueFd {
public:
    /// Holds no descriptor.
    UniqueFd() = default;
    /// Takes ownership of `fd` (-1: none).
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() { reset(); }
    /// Takes the other's descriptor; the other holds none.
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    /// Closes ours, then takes the other's.
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = other.release();
        }
        return *this;
    }
    /// The descriptor, still owned; -1 if none.
    int get() const { return fd_; }
    /// Whether a descriptor is held.
    explicit operator bool() const { return fd_ >= 0; }
    /// Gives the descriptor up without closing it.
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }
    /// Closes the descriptor, if any.
    void reset();

private:
    int fd_ = -1;
};

/// A directory that names are resolved beneath: every component is opened
/// relative to the previous one with O_NOFOLLOW, so a symlink planted inside
/// the tree cannot lead a read or a write outside it.
class RootDir {
public:
    /// Opens `path` as the root; throws std::runtime_error if it is not a
    /// readable directory.
    explicit RootDir(const std::string& path);

    /// The root's descriptor, owned by this object.
    int fd() const { return fd_.get(); }
    /// The path it was opened from, for messages.
    const std::string& path() const { return path_; }

    /// Opens the directory holding `name`'s leaf; creates missing parents
    /// (mode 0755) when `create` is set. Throws TransferError.
    UniqueFd openParent(const SafeName& name, bool create) const;
    /// Opens `name` itself (file or directory) read-only, without following
    /// a symlink anywhere on the way. Throws TransferError("not-found"/"io").
    UniqueFd openExisting(const SafeName& name) const;

private:
    std::string path_;
    UniqueFd fd_;
};

/// "operation NAME: strerror" as a TransferError: "no-space" for ENOSPC and
/// EDQUOT, "not-found" for ENOENT, "io" otherwise.
[[noreturn]] void throwSystemError(const std::string& what, int error);

}  // namespace twine::filetransfer
