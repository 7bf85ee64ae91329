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
};

}  // namespace twine::filetransfer
