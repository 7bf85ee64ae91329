#include <twine/protocols/filetransfer/message.hpp>
#include <twine/protocols/filetransfer/sha256.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>

#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace twine::filetransfer {

struct Sha256::Context {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Context() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
    if (context_->ctx == nullptr || EVP_DigestInit_ex(context_->ctx, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("SHA-256 initialisation failed");
    }
}

Sha256::~Sha256() = default;

Sha256::Sha256(const Sha256& other) : context_(std::make_unique<Context>()) {
    if (EVP_MD_CTX_copy_ex(context_->ctx, other.context_->ctx) != 1) {
        throw std::runtime_error("SHA-256 copy failed");
    }
}

Sha256& Sha256::operator=(const Sha256& other) {
    if (this != &other && EVP_MD_CTX_copy_ex(context_->ctx, other.context_->ctx) != 1) {
        throw std::runtime_error("SHA-256 copy failed");
    }
    return *this;
}

void Sha256::update(std::string_view data) {
    EVP_DigestUpdate(context_->ctx, data.data(), data.size());
}

std::string Sha256::digest() const {
    // Finalising consumes a context: finalise a copy so the state lives on.
    Sha256 copy(*this);
    std::string out(size, '\0');
    unsigned int length = 0;
    EVP_DigestFinal_ex(copy.context_->ctx, reinterpret_cast<unsigned char*>(out.data()), &length);
    return out;
}

std::string Sha256::hexDigest() const {
    return toHex(digest());
}

void Sha256::updateFromFile(int fd, std::uint64_t length) {
    std::vector<char> buffer(1 << 20);
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
