#pragma once

#include <cstddef>
#include <string>
#include <string_view>

struct bio_st;

namespace twine::detail {

/// The two byte streams between OpenSSL and the transport below it, as a
/// custom BIO (Twisted's memory BIOs, without their copies). OpenSSL reads
/// ciphertext straight from the chunk the reactor just read (`input`); only
/// a partial record left at the end is kept (`stash`). Records OpenSSL
/// writes are appended to `output`, handed to the transport in one write.
struct TLSBuffers {
    std::string_view input;
    std::string stash;
    std::size_t stashOffset = 0;
    std::string output;

    /// Copies up to `size` bytes of ciphertext for OpenSSL; 0 if none.
    std::size_t read(char* out, std::size_t size);
    /// Keeps what OpenSSL did not read of `input`, before the reactor reuses it.
    void keepUnread();
    /// Ciphertext received but not read by OpenSSL yet.
    std::size_t unread() const { return stash.size() - stashOffset + input.size(); }
};

/// A BIO reading from and writing to `buffers`, which must outlive it.
bio_st* newTLSBio(TLSBuffers& buffers);

}  // namespace twine::detail
