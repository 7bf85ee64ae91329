#include <twine/protocols/filetransfer/aligned_buffer.hpp>
#include <twine/protocols/filetransfer/file_digest.hpp>
#include <twine/protocols/filetransfer/message.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>

// Compiled into this file (xxhash is a header library as well), so twine's
// users link nothing more.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

namespace twine::filetransfer {

struct FileDigest::State {
    XXH3_state_t* xxh = XXH3_createState();
    State() {
        if (xxh == nullptr) throw std::bad_alloc();
    }
    ~State() { XXH3_freeState(xxh); }
    State(const State&) = delete;
    State& operator=(const State&) = delete;
};

FileDigest::FileDigest() : state_(std::make_unique<State>()) {
    XXH3_128bits_reset(state_->xxh);
}

FileDigest::~FileDigest() = default;

FileDigest::FileDigest(const FileDigest& other) : state_(std::make_unique<State>()) {
    XXH3_copyState(state_->xxh, other.state_->xxh);
}

FileDigest& FileDigest::operator=(const FileDigest& other) {
    if (this != &other) XXH3_copyState(state_->xxh, other.state_->xxh);
    return *this;
}

void FileDigest::update(std::string_view data) {
    XXH3_128bits_update(state_->xxh, data.data(), data.size());
}

std::string FileDigest::digest() const {
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state_->xxh));
    return std::string(reinterpret_cast<const char*>(canonical.digest), size);
}

std::string FileDigest::hexDigest() const {
    return toHex(digest());
}

void FileDigest::updateFromFile(int fd, std::uint64_t length) {
    if (length == 0) return;  // a new file: nothing to read (and no buffer to zero)
    AlignedBuffer buffer(static_cast<std::size_t>(std::min<std::uint64_t>(length, 1 << 20)));
    std::uint64_t offset = 0;
    while (offset < length) {
        std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), length - offset));
        ssize_t got = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw TransferError(code::io, std::string("read: ") + std::strerror(errno));
        if (got == 0) throw TransferError(code::io, "file shorter than expected");
        update(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
        offset += static_cast<std::uint64_t>(got);
    }
}

}  // namespace twine::filetransfer
