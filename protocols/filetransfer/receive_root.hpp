#pragma once

#include <twine/protocols/filetransfer/file_digest.hpp>
#include <twine/protocols/filetransfer/file_info.hpp>
#include <twine/protocols/filetransfer/root_dir.hpp>
#include <twine/protocols/filetransfer/shared_parents.hpp>

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace twine::filetransfer {

class IncomingFile;

/// The directory a receiver writes into, shared by all of a server's
/// connections: it enforces the policy (overwrite, maximum size) and knows
/// which names are being written, so a second upload to one name is "busy".
///
/// Threads: one root may serve connections on several reactors (twine-ft
/// serve --workers): the claims on names are guarded by a lock, so the
/// "busy" rule holds across workers. Everything else it does is a system
/// call on descriptors it owns.
class ReceiveRoot : public std::enable_shared_from_this<ReceiveRoot> {
public:
    /// The receiver's policy.
    struct Options {
        /// Replace an existing file (atomically) instead of answering "exists".
        bool allowOverwrite = false;
        /// Larger files are refused with "too-large" before any byte is sent.
        std::uint64_t maxSize = std::numeric_limits<std::int64_t>::max();
    };

    /// Opens `path` as the root (RootDir: std::runtime_error if it is not a
    /// readable directory). Held by shared_ptr: files being received keep it.
    ReceiveRoot(const std::string& path, Options options);

    /// Starts receiving `info` (a file): checks the name, the policy and the
    /// free space, opens (or reopens, to resume) ".NAME.part". Throws
    /// TransferError with the code to report.
    std::unique_ptr<IncomingFile> begin(const FileInfo& info);
    /// True if `info`'s name already holds a regular file of its size and
    /// mtime (seconds), as rsync's quick check: it need not be sent again.
    /// With `info.digest` (--checksum) the size and the contents' digest
    /// are compared instead, and a match takes the offer's mode and mtime.
    /// Throws TransferError for a bad name.
    bool upToDate(const FileInfo& info) const;
    /// What take() makes of an offer.
    struct Taken {
        /// The copy held is up to date (upToDate()): nothing to receive.
        bool upToDate = false;
        /// Otherwise the file to receive, as begin() makes it.
        std::unique_ptr<IncomingFile> file;
    };
    /// upToDate(), then begin() if it is not, in one pass over the name:
    /// the parent is opened and the final name looked up once, which is
    /// most of the receiver's work for a tree of small files.
    Taken take(const FileInfo& info);
    /// What begin() would refuse, without claiming, creating or changing
    /// anything (--dry-run): throws the TransferError begin() would. A
    /// missing parent directory is not an error: it would be made.
    void check(const FileInfo& info) const;
    /// Creates a directory announced by DIR (mode applied, existing is fine).
    void makeDirectory(const FileInfo& info);

    /// The root directory.
    const RootDir& dir() const { return dir_; }
    /// The policy given.
    const Options& options() const { return options_; }

    /// True while `name` (as SafeName spells it) is being received.
    bool receiving(const std::string& name) const;
    /// If `name` is being received, calls `released` once it no longer is
    /// (a new connection resuming a file waits for the one that died to let
    /// go of it) and returns an id for cancelWait; otherwise returns nothing
    /// and never calls it. `released` runs on the thread that lets go of the
    /// name, which may be another reactor's: it should only hand the news to
    /// its own reactor (Reactor::callFromThread). After cancelWait(id)
    /// returns, `released` is not called (but may be running elsewhere).
    std::optional<std::uint64_t> whenReleased(const std::string& name,
                                              std::function<void()> released);
    /// Drops a wait whenReleased registered; an unknown id is ignored.
    void cancelWait(std::uint64_t id);

private:
    friend class IncomingFile;
    /// begin() once the name is claimed: the partial and the space, in
    /// `directory` (the parent), where the final name is `present` or not.
    std::unique_ptr<IncomingFile> open(SafeName name, const FileInfo& info, SharedFd directory,
                                       bool present);
    /// An O_TMPFILE in `directory` for a new small file (see the .cpp).
    static UniqueFd openUnnamed(int directory, const std::string& partName);
    /// Claims the name and opens it, releasing the claim if that fails.
    std::unique_ptr<IncomingFile> claimAndOpen(SafeName name, const FileInfo& info,
                                               SharedFd directory, bool present);
    /// The quick check (or --checksum's) against `held`, the stat of the copy held.
    bool matches(int directory, const SafeName& name, const struct stat& held,
                 const FileInfo& info) const;
    /// "too-large" past the maximum size.
    void checkSize(const SafeName& name, const FileInfo& info) const;
    /// "exists" where overwriting is not allowed and the name is taken.
    void checkOverwrite(bool present, const SafeName& name) const;
    /// upToDate() with --checksum: compares the digest of the file held.
    bool sameContents(int directory, const SafeName& name, const FileInfo& info) const;
    /// Marks `name` as being received; throws TransferError "busy" if it is.
    void claim(const std::string& name);
    void release(const std::string& name);

    RootDir dir_;
    mutable SharedParents parents_{dir_};
    Options options_;
    mutable std::mutex claims_;  // guards busy_, waiters_ and nextWaiter_
    std::set<std::string> busy_;
    std::map<std::uint64_t, std::pair<std::string, std::function<void()>>> waiters_;
    std::uint64_t nextWaiter_ = 0;
};

/// One file being received: data goes to ".NAME.part" beside the final
/// name, hashed on the way; finish() renames it only once the digest
/// matches. Destroying it unfinished keeps the partial for a resume (an
/// empty one, with nothing to resume, is removed).
///
/// A new file of at most unnamedLimit bytes is received into an unnamed
/// file instead (O_TMPFILE) and linked to its final name when whole: no
/// directory entry is made and renamed away, which was a third of the
/// receiver's system time for a tree of small files. It leaves nothing
/// behind when the connection goes, and is sent again whole (a partial
/// already there, from an earlier twine-ft, is resumed as before).
class IncomingFile {
public:
    /// Files this small are not worth resuming: unnamed until whole.
    static constexpr std::uint64_t unnamedLimit = 64 << 10;
    /// Where the data goes until finish(): ".NAME.part", or a file with no name.
    enum class Partial { named, unnamed };

    /// Made by ReceiveRoot::begin, which has claimed `name` and opened the
    /// files; the claim is released when this is destroyed. `partSize` is
    /// the partial's length when opened (0 if just created).
    IncomingFile(std::shared_ptr<ReceiveRoot> root, SafeName name, FileInfo info,
                 SharedFd directory, UniqueFd part, std::uint64_t have, std::uint64_t partSize,
                 Partial partial = Partial::named);
    ~IncomingFile();
    IncomingFile(const IncomingFile&) = delete;
    IncomingFile& operator=(const IncomingFile&) = delete;

    /// What the FILE message announced.
    const FileInfo& info() const { return info_; }
    /// The name, checked.
    const SafeName& name() const { return name_; }
    /// How many bytes of a partial may be kept, and their digest.
    std::uint64_t have() const { return have_; }
    /// The digest (raw) of the have() bytes kept.
    std::string haveDigest() const { return prefix_.digest(); }

    /// Data will start at `offset` (have() or 0): the partial is cut there.
    void start(std::uint64_t offset);
    /// Appends data; throws TransferError ("no-space" when the disk is full).
    void write(std::string_view data);
    /// The partial's length so far: the offset started at plus what write() appended.
    std::uint64_t written() const { return position_; }
    /// What write() appended since start(): the bytes that crossed the wire.
    std::uint64_t received() const { return position_ - started_; }
    /// Checks length and digest, applies mode and mtime, fsyncs and renames
    /// into place. On a mismatch the partial is deleted. Throws TransferError.
    /// The same as seal(), syncData(), moveIntoPlace() and syncDirectory().
    void finish(std::string_view expectedDigest);
    /// The first step of finish(): checks length and digest (deleting the
    /// partial on a mismatch) and applies mode and mtime. Throws TransferError.
    void seal(std::string_view expectedDigest);
    /// Makes the partial's data durable (fsync). Throws TransferError.
    void syncData();
    /// Renames (or links) the sealed partial to its final name. Throws TransferError.
    void moveIntoPlace();
    /// Makes the rename durable (fsync of the directory).
    void syncDirectory();
    /// The directory the file lives in (for a batch's syncfs).
    int directory() const { return directory_->get(); }
    /// Gives up and deletes the partial (after a full disk, say).
    void discard();

private:
    /// Dirty data is handed to the disk in windows this large.
    static constexpr std::uint64_t writebackWindow = 8 << 20;
    /// The most one pwrite is given. The page cache sizes its folios by the
    /// write: on the 2-vCPU VM this was measured on, writing 1 GiB in 1 MiB
    /// pwrites cost 3.5 s of system time, in 256 KiB ones 1.3 s, in 128 KiB
    /// ones 0.45 s (bench figures in the README).
    static constexpr std::size_t writePiece = 128 << 10;
    void writeAt(std::string_view data);
    void startWriteback();
    void applyModeAndTime(int fd) const;
    void renameIntoPlace();
    void linkIntoPlace();
    void nameByCopy();

    std::shared_ptr<ReceiveRoot> root_;
    SafeName name_;
    FileInfo info_;
    SharedFd directory_;  // shared with the other files in it (SharedParents)
    UniqueFd part_;
    std::string partName_;
    Partial partial_;
    std::uint64_t have_;
    std::uint64_t partSize_;  // the partial's length: start() cuts it only if it must
    std::uint64_t position_ = 0;
    std::uint64_t started_ = 0;
    std::uint64_t writebackFrom_ = 0;
    FileDigest prefix_;
    FileDigest hash_;
    bool done_ = false;
};

}  // namespace twine::filetransfer
