#include <twine/transports/tls_bio.hpp>

#include <twine/core/copy_bytes.hpp>

#include <openssl/bio.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace twine::detail {

std::size_t TLSBuffers::read(char* out, std::size_t size) {
    std::size_t copied = 0;
    if (stashOffset < stash.size()) {
        copied = std::min(size, stash.size() - stashOffset);
        copyBytes(out, stash.data() + stashOffset, copied);
        stashOffset += copied;
        if (stashOffset == stash.size()) {
            stash.clear();
            stashOffset = 0;
        }
    }
    const std::size_t fromInput = std::min(size - copied, input.size());
    if (fromInput == 0) return copied;
    copyBytes(out + copied, input.data(), fromInput);
    input.remove_prefix(fromInput);
    return copied + fromInput;
}

void TLSBuffers::keepUnread() {
    if (input.empty()) return;
    stash.append(input);
    input = {};
}

namespace {

TLSBuffers& buffersOf(BIO* bio) {
    return *static_cast<TLSBuffers*>(BIO_get_data(bio));
}

int bioWrite(BIO* bio, const char* data, int size) {
    BIO_clear_retry_flags(bio);
    if (size <= 0) return 0;
    appendBytes(buffersOf(bio).output, std::string_view(data, static_cast<std::size_t>(size)));
    return size;
}

int bioRead(BIO* bio, char* out, int size) {
    BIO_clear_retry_flags(bio);
    if (size <= 0) return 0;
    const std::size_t copied = buffersOf(bio).read(out, static_cast<std::size_t>(size));
    if (copied == 0) {
        // Not an end of stream: more may arrive. The transport reports EOF.
        BIO_set_retry_read(bio);
        return -1;
    }
    return static_cast<int>(copied);
}

long bioControl(BIO* bio, int command, long, void*) {
    switch (command) {
        case BIO_CTRL_FLUSH:
            return 1;
        case BIO_CTRL_PENDING:
            return static_cast<long>(std::min<std::size_t>(buffersOf(bio).unread(), LONG_MAX));
        case BIO_CTRL_WPENDING:
            return 0;
        default:
            return 0;
    }
}

int bioCreate(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
}

const BIO_METHOD* tlsBioMethod() {
    // Built once and kept for the life of the process (OpenSSL's own methods are static too).
    static BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "twine-tls");
        BIO_meth_set_write(m, bioWrite);
        BIO_meth_set_read(m, bioRead);
        BIO_meth_set_ctrl(m, bioControl);
        BIO_meth_set_create(m, bioCreate);
        return m;
    }();
    return method;
}

}  // namespace

BIO* newTLSBio(TLSBuffers& buffers) {
    BIO* bio = BIO_new(tlsBioMethod());
    if (bio != nullptr) BIO_set_data(bio, &buffers);
    return bio;
}

}  // namespace twine::detail
