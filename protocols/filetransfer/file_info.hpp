#pragma once

#include <cstdint>
#include <string>

namespace twine::filetransfer {

/// What a FILE or DIR message announces.
struct FileInfo {
    /// The relative name on the wire, '/'-separated ("photos/a.jpg").
    std::string name;
    /// Bytes in the file; 0 for a directory.
    std::uint64_t size = 0;
    /// Permission bits only (07777 masked to 0777 on receipt).
    std::uint32_t mode = 0644;
    /// Modification time, seconds since the epoch.
    std::int64_t mtime = 0;
    /// A DIR message rather than a FILE one.
    bool directory = false;
    /// With --checksum: the XXH3-128 digest (raw, 16 bytes) of the whole
    /// file, so the receiver compares contents instead of size and mtime.
    /// Empty otherwise.
    std::string digest;
    /// With --dry-run: the receiver only says what it would do.
    bool dryRun = false;
};

}  // namespace twine::filetransfer
