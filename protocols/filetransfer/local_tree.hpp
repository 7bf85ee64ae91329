#pragma once

#include <twine/protocols/filetransfer/file_info.hpp>
#include <twine/protocols/filetransfer/root_dir.hpp>

#include <functional>
#include <string>
#include <vector>

namespace twine::filetransfer {

/// A file or directory to send: what the FILE/DIR message announces and
/// how to open it.
struct OutgoingEntry {
    /// The name, size, mode and mtime announced.
    FileInfo info;
    /// Opens the file for reading; throws TransferError.
    std::function<UniqueFd()> open;
    /// Offer the file's digest (--checksum).
    bool checksum = false;
    /// Send its data compressed if it shrinks (--compress).
    bool compress = false;
};

/// Lists what sending `path` means: the file itself, or a directory and
/// everything under it (parents before children), named on the wire
/// relative to the path's parent ("photos/a.jpg" for path ".../photos").
/// Symlinks inside a tree are skipped and reported through `note`, never
/// followed. Throws TransferError("not-found") if `path` does not exist.
std::vector<OutgoingEntry> listLocal(const std::string& path,
                                     const std::function<void(const std::string&)>& note);

/// Lists `name` under a served root the same way, opening every file
/// beneath the root without following symlinks.
std::vector<OutgoingEntry> listServed(const RootDir& root, const std::string& name,
                                      const std::function<void(const std::string&)>& note);

}  // namespace twine::filetransfer
