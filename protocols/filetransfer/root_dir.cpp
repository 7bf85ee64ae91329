#include <twine/protocols/filetransfer/root_dir.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace twine::filetransfer {

void UniqueFd::reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void throwSystemError(const std::string& what, int error) {
    const char* code = code::io;
    if (error == ENOSPC || error == EDQUOT) code = code::noSpace;
    if (error == ENOENT) code = code::notFound;
    if (error == ELOOP) code = code::badName;
    throw TransferError(code, what + ": " + std::strerror(error));
}

RootDir::RootDir(const std::string& path)
    : path_(path), fd_(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (!fd_) {
        throw std::runtime_error("cannot open directory " + path + ": " + std::strerror(errno));
    }
}

namespace {

UniqueFd openSubdirectory(int at, const char* part) {
    return UniqueFd(::openat(at, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

}  // namespace

UniqueFd RootDir::openParent(const SafeName& name, bool create) const {
    // One openat per component, creating it only when missing: every file
    // of a tree comes here, so the common case must be one syscall.
    const auto& parts = name.components();
    UniqueFd dir;
    int at = fd_.get();
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        const char* part = parts[i].c_str();
        UniqueFd next = openSubdirectory(at, part);
        if (!next && errno == ENOENT && create) {
            if (::mkdirat(at, part, 0755) != 0 && errno != EEXIST) {
                throwSystemError("mkdir " + name.str(), errno);
            }
            next = openSubdirectory(at, part);
        }
        if (!next) {
            int error = errno;
            if (error == ENOTDIR || error == ELOOP) {
                throw TransferError(code::badName, "'" + name.str() + "': '" + parts[i] +
                                                       "' is not a directory (or is a symlink)");
            }
            throwSystemError("open " + name.str(), error);
        }
        dir = std::move(next);
        at = dir.get();
    }
    if (dir) return dir;
    // A leaf in the root: a fresh descriptor of it rather than dup(). dup()
    // also "closes" the new number, which ThreadSanitizer checks against the
    // number's last owner, and libuv closes its sockets with a raw syscall
    // it never sees, so on a ReactorPool worker every dup() of a number
    // libuv once used was reported as a race.
    dir = UniqueFd(::openat(fd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) throwSystemError("open " + path_, errno);
    return dir;
}

UniqueFd RootDir::openExisting(const SafeName& name) const {
    UniqueFd parent = openParent(name, false);
    UniqueFd file(::openat(parent.get(), name.leaf().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!file) {
        if (errno == ELOOP)
            throw TransferError(code::notFound, "'" + name.str() + "' is a symlink");
        throwSystemError("open " + name.str(), errno);
    }
    return file;
}

}  // namespace twine::filetransfer
