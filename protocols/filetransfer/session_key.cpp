#include <twine/protocols/filetransfer/session_key.hpp>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>
#include <stdexcept>

namespace twine::filetransfer {
namespace {

constexpr std::string_view salt = "twine-ft v2 psk salt";
constexpr std::string_view info = "twine-ft v2 tls13 external psk";

OSSL_PARAM octets(const char* key, std::string_view bytes) {
    // OpenSSL only reads these (the KDF copies them).
    return OSSL_PARAM_construct_octet_string(key, const_cast<char*>(bytes.data()), bytes.size());
}

}  // namespace

std::string SessionKey::derive(std::string_view token) {
    if (token.empty()) throw std::invalid_argument("an empty token cannot make a key");
    std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr),
                                                          &EVP_KDF_free);
    if (!kdf) throw std::runtime_error("OpenSSL has no HKDF");
    std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> context(EVP_KDF_CTX_new(kdf.get()),
                                                                      &EVP_KDF_CTX_free);
    if (!context) throw std::runtime_error("cannot create an HKDF context");
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        octets(OSSL_KDF_PARAM_KEY, token),
        octets(OSSL_KDF_PARAM_SALT, salt),
        octets(OSSL_KDF_PARAM_INFO, info),
        OSSL_PARAM_construct_end(),
    };
    std::string key(size, '\0');
    if (EVP_KDF_derive(context.get(), reinterpret_cast<unsigned char*>(key.data()), key.size(),
                       params) != 1) {
        throw std::runtime_error("HKDF-SHA256 failed");
    }
    return key;
}

}  // namespace twine::filetransfer
