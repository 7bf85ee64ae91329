#pragma once

#include <cstdint>
#include <string>

namespace twine_ft {

/// Where a whole transfer (a tree, several paths) stands: counts and bytes
/// done of those planned, the rate the bytes moved at, and what that
/// leaves. Pure arithmetic on what it is given, so it is tested without a clock.
struct OverallProgress {
    std::uint64_t filesDone = 0;   ///< Verified, up to date or failed.
    std::uint64_t filesTotal = 0;  ///< 0: not known (a fetch is not told).
    std::uint64_t bytesDone = 0;   ///< Of the files done and the current one.
    std::uint64_t bytesTotal = 0;
    std::uint64_t bytesMoved = 0;  ///< What crossed the wire, for the rate.
    double elapsed = 0;            ///< Seconds since the transfer began.

    /// Bytes a second moved so far (0 before any time has passed).
    double rate() const;
    /// Seconds left at that rate; negative when unknown.
    double secondsLeft() const;
    /// Percent of the planned bytes done (of the files if no bytes are planned).
    double percent() const;
    /// "412/1000 files  105.2 MiB / 256.0 MiB  41%  98.1 MiB/s  ETA 0:06".
    std::string line() const;
};

}  // namespace twine_ft
