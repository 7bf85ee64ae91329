#include <twine/protocols/filetransfer/auth.hpp>
#include <twine/protocols/filetransfer/message.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <fstream>
#include <stdexcept>

namespace twine::filetransfer::auth {
namespace {

std::string hmac(std::string_view token, std::string_view label, std::string_view first,
                 std::string_view second) {
    std::string input(label);
    input += first;
    input += second;
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()),
             reinterpret_cast<const unsigned char*>(input.data()), input.size(), out,
             &length) == nullptr) {
        throw std::runtime_error("HMAC-SHA256 failed");
    }
    return std::string(reinterpret_cast<const char*>(out), length);
}

}  // namespace

std::string randomBytes(std::size_t count) {
    std::string out(count, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {
        throw std::runtime_error("no randomness available (RAND_bytes failed)");
    }
    return out;
}

std::string generateToken() {
    return toHex(randomBytes(32));
}

std::string readTokenFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read token file " + path);
    std::string token;
    std::getline(in, token);
    auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!token.empty() && isSpace(token.back())) token.pop_back();
    while (!token.empty() && isSpace(token.front())) token.erase(0, 1);
    if (token.empty()) throw std::runtime_error("token file " + path + " is empty");
    return token;
}

std::string clientProof(std::string_view token, std::string_view serverNonce,
                        std::string_view clientNonce) {
    return hmac(token, "twine-ft client", serverNonce, clientNonce);
}

std::string serverProof(std::string_view token, std::string_view serverNonce,
                        std::string_view clientNonce) {
    return hmac(token, "twine-ft server", serverNonce, clientNonce);
}

bool equal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace twine::filetransfer::auth
