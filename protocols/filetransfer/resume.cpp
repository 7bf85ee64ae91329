#include <twine/protocols/filetransfer/auth.hpp>
#include <twine/protocols/filetransfer/resume.hpp>

namespace twine::filetransfer::resume {

std::uint64_t offerable(std::uint64_t partialSize, std::uint64_t announcedSize) {
    return partialSize <= announcedSize ? partialSize : 0;
}

std::uint64_t startOffset(std::uint64_t have, std::string_view theirPrefixDigest,
                          std::uint64_t ourSize,
                          const std::function<std::string(std::uint64_t)>& ourPrefixDigest) {
    if (have == 0 || have > ourSize) return 0;
    return auth::equal(ourPrefixDigest(have), theirPrefixDigest) ? have : 0;
}

}  // namespace twine::filetransfer::resume
