#include <twine/protocols/filetransfer/receive_root.hpp>
#include <twine/protocols/filetransfer/resume.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace twine::filetransfer {
namespace {

bool exists(int directory, const std::string& leaf) {
    struct stat st {};
    return ::fstatat(directory, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

void checkFreeSpace(int directory, const std::string& name, std::uint64_t needed) {
    struct statvfs vfs {};
    if (::fstatvfs(directory, &vfs) != 0) return;  // unknown: the writes will tell
    std::uint64_t available = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    if (available < needed) {
        throw TransferError(code::noSpace, "not enough space for '" + name + "': need " +
                                               std::to_string(needed) + " bytes, " +
                                               std::to_string(available) + " available");
    }
}

std::uint64_t fileSize(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throwSystemError("stat", errno);
    return static_cast<std::uint64_t>(st.st_size);
}

// What the receiver holds under a name: its parent directory (none if a
// parent is missing, or is not a directory: begin() reports that) and,
// if the name is there, its stat.
struct Held {
    SharedFd directory;
    bool present = false;
    struct stat stat {};
};

Held lookUp(SharedParents& parents, const SafeName& name) {
    Held held;
    try {
        held.directory = parents.parentOf(name, false);
    } catch (const TransferError&) {
        return held;
    }
    held.present =
        ::fstatat(held.directory->get(), name.leaf().c_str(), &held.stat, AT_SYMLINK_NOFOLLOW) == 0;
    return held;
}

}  // namespace

ReceiveRoot::ReceiveRoot(const std::string& path, Options options)
    : dir_(path), options_(options) {}

std::unique_ptr<IncomingFile> ReceiveRoot::begin(const FileInfo& info) {
    SafeName name(info.name);
    checkSize(name, info);
    SharedFd directory = parents_.parentOf(name, true);
    const bool present = exists(directory->get(), name.leaf());
    return claimAndOpen(std::move(name), info, std::move(directory), present);
}

ReceiveRoot::Taken ReceiveRoot::take(const FileInfo& info) {
    SafeName name(info.name);
    Held held = lookUp(parents_, name);
    if (held.present && matches(held.directory->get(), name, held.stat, info))
        return {true, nullptr};
    checkSize(name, info);
    if (!held.directory) held.directory = parents_.parentOf(name, true);
    return {false, claimAndOpen(std::move(name), info, std::move(held.directory), held.present)};
}

std::unique_ptr<IncomingFile> ReceiveRoot::claimAndOpen(SafeName name, const FileInfo& info,
                                                        SharedFd directory, bool present) {
    const std::string claimed = name.str();
    claim(claimed);
    try {
        return open(std::move(name), info, std::move(directory), present);
    } catch (...) {
        release(claimed);
        throw;
    }
}

std::unique_ptr<IncomingFile> ReceiveRoot::open(SafeName name, const FileInfo& info,
                                                SharedFd directory, bool present) {
    checkOverwrite(present, name);
    const int dir = directory->get();
    std::string partName = SafeName::partName(name.leaf());
    if (!present && info.size <= IncomingFile::unnamedLimit) {
        UniqueFd file = openUnnamed(dir, partName);
        if (file) {
            checkFreeSpace(dir, name.str(), info.size);
            return std::make_unique<IncomingFile>(shared_from_this(), std::move(name), info,
                                                  std::move(directory), std::move(file), 0, 0,
                                                  IncomingFile::Partial::unnamed);
        }
    }
    // Created exclusively first: for a new file (the common case) one lookup.
    bool created = true;
    UniqueFd part(
        ::openat(dir, partName.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!part && errno == EEXIST) {
        created = false;
        part = UniqueFd(::openat(dir, partName.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
    }
    if (!part) throwSystemError((created ? "create " : "open ") + name.str(), errno);
    const std::uint64_t partSize = created ? 0 : fileSize(part.get());
    std::uint64_t have = resume::offerable(partSize, info.size);
    try {
        checkFreeSpace(dir, name.str(), info.size - have);
    } catch (const TransferError&) {
        // A refused offer leaves nothing behind on a full disk.
        if (created) ::unlinkat(dir, partName.c_str(), 0);
        throw;
    }
    return std::make_unique<IncomingFile>(shared_from_this(), std::move(name), info,
                                          std::move(directory), std::move(part), have, partSize);
}

// A new small file gets no name until it is whole (see IncomingFile),
// unless a partial of it is there to resume (left by an earlier twine-ft,
// or by a replacement of an existing copy). Nothing (not even an error)
// where the partial is there, or O_TMPFILE fails: the named partial's open
// resumes it, or reports why not.
UniqueFd ReceiveRoot::openUnnamed(int directory, const std::string& partName) {
    if (UniqueFd(::openat(directory, partName.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ||
        errno != ENOENT) {
        return UniqueFd();
    }
    return UniqueFd(::openat(directory, ".", O_RDWR | O_TMPFILE | O_CLOEXEC, 0600));
}

void ReceiveRoot::claim(const std::string& name) {
    std::lock_guard lock(claims_);
    if (!busy_.insert(name).second) {
        throw TransferError(code::busy, "'" + name + "' is being received already");
    }
}

bool ReceiveRoot::receiving(const std::string& name) const {
    std::lock_guard lock(claims_);
    return busy_.count(name) != 0;
}

std::optional<std::uint64_t> ReceiveRoot::whenReleased(const std::string& name,
                                                       std::function<void()> released) {
    std::lock_guard lock(claims_);
    if (busy_.count(name) == 0) return std::nullopt;
    const std::uint64_t id = ++nextWaiter_;
    waiters_.emplace(id, std::make_pair(name, std::move(released)));
    return id;
}

void ReceiveRoot::cancelWait(std::uint64_t id) {
    std::lock_guard lock(claims_);
    waiters_.erase(id);
}

void ReceiveRoot::release(const std::string& name) {
    std::vector<std::function<void()>> ready;
    {
        std::lock_guard lock(claims_);
        busy_.erase(name);
        for (auto it = waiters_.begin(); it != waiters_.end();) {
            if (it->second.first == name) {
                ready.push_back(std::move(it->second.second));
                it = waiters_.erase(it);
            } else {
                ++it;
            }
        }
    }
    // Outside the lock: a waiter may claim the name again at once.
    for (auto& released : ready) released();
}

void ReceiveRoot::check(const FileInfo& info) const {
    SafeName name(info.name);
    checkSize(name, info);
    if (receiving(name.str())) {
        throw TransferError(code::busy, "'" + name.str() + "' is being received already");
    }
    SharedFd directory;
    try {
        directory = parents_.parentOf(name, false);
    } catch (const TransferError& error) {
        if (error.code() == code::notFound) return;  // would be made
        throw;
    }
    checkOverwrite(exists(directory->get(), name.leaf()), name);
    checkFreeSpace(directory->get(), name.str(), info.size);
}

void ReceiveRoot::checkSize(const SafeName& name, const FileInfo& info) const {
    if (info.size > options_.maxSize) {
        throw TransferError(code::tooLarge, "'" + name.str() + "' is " + std::to_string(info.size) +
                                                " bytes, over the " +
                                                std::to_string(options_.maxSize) + " byte limit");
    }
}

void ReceiveRoot::checkOverwrite(bool present, const SafeName& name) const {
    if (!options_.allowOverwrite && present) {
        throw TransferError(code::exists, "'" + name.str() + "' exists (overwrite not allowed)");
    }
}

bool ReceiveRoot::upToDate(const FileInfo& info) const {
    SafeName name(info.name);
    Held held = lookUp(parents_, name);
    return held.present && matches(held.directory->get(), name, held.stat, info);
}

bool ReceiveRoot::matches(int directory, const SafeName& name, const struct stat& held,
                          const FileInfo& info) const {
    if (!S_ISREG(held.st_mode) || static_cast<std::uint64_t>(held.st_size) != info.size) {
        return false;
    }
    if (info.digest.empty()) {
        return static_cast<std::int64_t>(held.st_mtim.tv_sec) ==
               static_cast<std::int64_t>(info.mtime);
    }
    return sameContents(directory, name, info);
}

// --checksum: the contents decide. A match is brought up to the offer's
// mode and mtime, as a transfer would have left it, so the next quick
// check (without --checksum) finds it up to date too.
bool ReceiveRoot::sameContents(int directory, const SafeName& name, const FileInfo& info) const {
    UniqueFd file(::openat(directory, name.leaf().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!file) return false;
    FileDigest digest;
    try {
        digest.updateFromFile(file.get(), info.size);
    } catch (const TransferError&) {
        return false;  // shorter than it was a moment ago: changed
    }
    if (digest.digest() != info.digest) return false;
    if (!info.dryRun) {
        ::fchmod(file.get(), info.mode & 0777);
        struct timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(info.mtime), 0}};
        ::futimens(file.get(), times);
    }
    return true;
}

void ReceiveRoot::makeDirectory(const FileInfo& info) {
    SafeName name(info.name);
    SharedFd parent = parents_.parentOf(name, true);
    if (::mkdirat(parent->get(), name.leaf().c_str(), info.mode & 0777) != 0 && errno != EEXIST) {
        throwSystemError("mkdir " + name.str(), errno);
    }
    UniqueFd made(::openat(parent->get(), name.leaf().c_str(),
                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!made) {
        throw TransferError(code::badName, "'" + name.str() + "' exists and is not a directory");
    }
}

IncomingFile::IncomingFile(std::shared_ptr<ReceiveRoot> root, SafeName name, FileInfo info,
                           SharedFd directory, UniqueFd part, std::uint64_t have,
                           std::uint64_t partSize, Partial partial)
    : root_(std::move(root)),
      name_(std::move(name)),
      info_(std::move(info)),
      directory_(std::move(directory)),
      part_(std::move(part)),
      partName_(SafeName::partName(name_.leaf())),
      partial_(partial),
      have_(have),
      partSize_(partSize) {
    prefix_.updateFromFile(part_.get(), have_);
}

IncomingFile::~IncomingFile() {
    // An offer accepted but never sent to (the connection went first).
    if (!done_ && partial_ == Partial::named && have_ == 0 && position_ == 0) {
        ::unlinkat(directory_->get(), partName_.c_str(), 0);
    }
    root_->release(name_.str());
}

void IncomingFile::start(std::uint64_t offset) {
    if (offset != 0 && offset != have_) {
        throw TransferError(code::unexpected, "data must start at 0 or at the partial's end");
    }
    // Cut only what is past the offset: ftruncate changes the partial's
    // times even at its own size, a journalled inode update for every new
    // (empty) partial of a tree.
    if (partSize_ != offset) {
        if (::ftruncate(part_.get(), static_cast<off_t>(offset)) != 0) {
            throwSystemError("truncate " + name_.str(), errno);
        }
        partSize_ = offset;
    }
    hash_ = offset == 0 ? FileDigest() : prefix_;
    position_ = offset;
    started_ = offset;
    writebackFrom_ = offset;
}

void IncomingFile::write(std::string_view data) {
    if (data.size() > info_.size - position_) {
        throw TransferError(code::unexpected, "more data than announced for '" + name_.str() + "'");
    }
    while (!data.empty()) {
        // Hashed piece by piece, so each is still in the cache when written.
        std::string_view piece = data.substr(0, writePiece);
        hash_.update(piece);
        writeAt(piece);
        data.remove_prefix(piece.size());
    }
    startWriteback();
}

void IncomingFile::writeAt(std::string_view data) {
    while (!data.empty()) {
        ssize_t done =
            ::pwrite(part_.get(), data.data(), data.size(), static_cast<off_t>(position_));
        if (done < 0 && errno == EINTR) continue;
        if (done < 0) throwSystemError("write " + name_.str(), errno);
        position_ += static_cast<std::uint64_t>(done);
        partSize_ = std::max(partSize_, position_);
        data.remove_prefix(static_cast<std::size_t>(done));
    }
}

void IncomingFile::startWriteback() {
    // Without this the kernel holds the whole file dirty and finish()'s
    // fsync writes it all while the sender waits for OK (a quarter of the
    // time of a 512 MiB transfer). Starting writeback of each finished
    // window as it fills is asynchronous and leaves fsync little to do.
    if (position_ - writebackFrom_ < writebackWindow) return;
    std::uint64_t length = (position_ - writebackFrom_) / writebackWindow * writebackWindow;
    ::sync_file_range(part_.get(), static_cast<off_t>(writebackFrom_), static_cast<off_t>(length),
                      SYNC_FILE_RANGE_WRITE);
    writebackFrom_ += length;
}

void IncomingFile::finish(std::string_view expectedDigest) {
    seal(expectedDigest);
    syncData();
    moveIntoPlace();
    syncDirectory();
}

void IncomingFile::seal(std::string_view expectedDigest) {
    if (position_ != info_.size) {
        throw TransferError(code::unexpected, "'" + name_.str() + "' ended early");
    }
    if (hash_.digest() != expectedDigest) {
        discard();
        throw TransferError(code::hashMismatch,
                            "the digest of '" + name_.str() + "' does not match");
    }
    applyModeAndTime(part_.get());
}

void IncomingFile::applyModeAndTime(int fd) const {
    ::fchmod(fd, info_.mode & 0777);
    struct timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(info_.mtime), 0}};
    ::futimens(fd, times);
}

void IncomingFile::syncData() {
    if (::fsync(part_.get()) != 0) throwSystemError("fsync " + name_.str(), errno);
}

void IncomingFile::moveIntoPlace() {
    if (partial_ == Partial::unnamed) {
        linkIntoPlace();
    } else {
        renameIntoPlace();
    }
    done_ = true;
}

void IncomingFile::renameIntoPlace() {
    if (::renameat(directory_->get(), partName_.c_str(), directory_->get(), name_.leaf().c_str()) !=
        0) {
        throwSystemError("rename " + name_.str(), errno);
    }
}

// linkat names an O_TMPFILE file by its descriptor (AT_EMPTY_PATH, which
// needs CAP_DAC_READ_SEARCH) or by its /proc/self/fd path (which needs
// /proc). Where neither works, or the name was taken since the offer (a
// rename replaces it, as for a named partial), the data is copied to a
// named partial, made durable, and renamed.
void IncomingFile::linkIntoPlace() {
    const int fd = part_.get();
    const int dir = directory_->get();
    const char* leaf = name_.leaf().c_str();
    if (::linkat(fd, "", dir, leaf, AT_EMPTY_PATH) == 0) return;
    if (errno != EEXIST) {
        const std::string self = "/proc/self/fd/" + std::to_string(fd);
        if (::linkat(AT_FDCWD, self.c_str(), dir, leaf, AT_SYMLINK_FOLLOW) == 0) return;
    }
    nameByCopy();
}

void IncomingFile::nameByCopy() {
    const int dir = directory_->get();
    UniqueFd named(::openat(dir, partName_.c_str(),
                            O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!named) throwSystemError("create " + name_.str(), errno);
    partial_ = Partial::named;
    errno = 0;
    std::string bytes(static_cast<std::size_t>(position_), '\0');
    if (::pread(part_.get(), bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()) ||
        ::pwrite(named.get(), bytes.data(), bytes.size(), 0) !=
            static_cast<ssize_t>(bytes.size())) {
        const int error = errno == 0 ? EIO : errno;  // a short read or write sets none
        discard();
        throwSystemError("copy " + name_.str(), error);
    }
    applyModeAndTime(named.get());
    if (::fsync(named.get()) != 0) {
        const int error = errno;
        discard();
        throwSystemError("fsync " + name_.str(), error);
    }
    part_ = std::move(named);
    renameIntoPlace();
}

void IncomingFile::syncDirectory() {
    ::fsync(directory_->get());  // the rename itself survives a crash
}

void IncomingFile::discard() {
    if (partial_ == Partial::named) ::unlinkat(directory_->get(), partName_.c_str(), 0);
    done_ = true;
}

}  // namespace twine::filetransfer
