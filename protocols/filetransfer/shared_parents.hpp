#pragma once

#include <twine/protocols/filetransfer/root_dir.hpp>
#include <twine/protocols/filetransfer/safe_name.hpp>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace twine::filetransfer {

/// A directory descriptor that several holders share; closed with the last.
using SharedFd = std::shared_ptr<const UniqueFd>;

/// The parent directories of the files being received beneath a RootDir,
/// each opened once and shared by every file in it while any holds it.
///
/// A tree's files come directory by directory: sharing saves each file the
/// parent's open and close, and a receiver with a full window of files in
/// flight holds one descriptor per directory instead of one per file.
/// Only descriptors someone still holds are kept (weak references): a
/// directory replaced after its last file is opened afresh. Thread-safe (a
/// root serves every worker reactor).
class SharedParents {
public:
    /// Opens beneath `root`, which must outlive this.
    explicit SharedParents(const RootDir& root) : root_(root) {}

    /// The directory holding `name`'s leaf, as RootDir::openParent opens it
    /// (creating missing parents when `create` is set). Throws TransferError.
    SharedFd parentOf(const SafeName& name, bool create);

private:
    void prune();

    const RootDir& root_;
    std::mutex mutex_;
    std::unordered_map<std::string, std::weak_ptr<const UniqueFd>> open_;
    std::size_t pruneAt_ = 64;
};

}  // namespace twine::filetransfer
