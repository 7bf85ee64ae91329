#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace twine::filetransfer {

/// Resume decisions, kept apart from I/O so they can be tested alone
/// (PROTOCOL.md, "Resume").
namespace resume {

/// The receiver's side: how much of a partial file it offers to keep. A
/// partial longer than the announced file cannot be a prefix of it.
std::uint64_t offerable(std::uint64_t partialSize, std::uint64_t announcedSize);

/// The sender's side: where to start sending. `ourPrefixDigest(n)` returns
/// the digest of our first n bytes; it is called only when a resume is
/// possible. Returns `have` if our prefix matches the receiver's, else 0.
std::uint64_t startOffset(std::uint64_t have, std::string_view theirPrefixDigest,
                          std::uint64_t ourSize,
                          const std::function<std::string(std::uint64_t)>& ourPrefixDigest);

}  // namespace resume
}  // namespace twine::filetransfer
