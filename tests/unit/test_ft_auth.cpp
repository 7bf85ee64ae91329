#include <twine/protocols/filetransfer/auth.hpp>
#include <twine/protocols/filetransfer/message.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace auth = twine::filetransfer::auth;
using twine::filetransfer::toHex;

TEST_CASE("HMAC-SHA256 proofs are HMAC(token, label | server nonce | client nonce)") {
    // Same as: printf 'twine-ft clientSSCC' | openssl dgst -sha256 -hmac tok
    CHECK(toHex(auth::clientProof("tok", "SS", "CC")) ==
          "209bc4b8c54cfc4396907ce9b77900116832d7ede36c8a6c6a5dc69b01fb9878");
    CHECK(auth::clientProof("tok", "SS", "CC") != auth::serverProof("tok", "SS", "CC"));
    CHECK(auth::clientProof("tok", "n1", "n2") != auth::clientProof("tok", "n2", "n1"));
    CHECK(auth::clientProof("tok", "n1", "n2") != auth::clientProof("tol", "n1", "n2"));
}

TEST_CASE("nonces and generated tokens are fresh") {
    CHECK(auth::randomBytes(auth::nonceSize).size() == auth::nonceSize);
    CHECK(auth::randomBytes(32) != auth::randomBytes(32));
    std::string token = auth::generateToken();
    CHECK(token.size() == 64);
    CHECK(token != auth::generateToken());
}

TEST_CASE("constant-time comparison compares lengths and bytes") {
    CHECK(auth::equal("abc", "abc"));
    CHECK_FALSE(auth::equal("abc", "abd"));
    CHECK_FALSE(auth::equal("abc", "ab"));
    CHECK(auth::equal("", ""));
}

TEST_CASE("a token file gives its first line trimmed; missing or empty files are errors") {
    char path[] = "/tmp/twine-ft-token-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    std::FILE* file = fdopen(fd, "w");
    std::fputs("  s3cret \nsecond line\n", file);
    std::fclose(file);
    CHECK(auth::readTokenFile(path) == "s3cret");
    file = std::fopen(path, "w");
    std::fputs("\n", file);
    std::fclose(file);
    CHECK_THROWS(auth::readTokenFile(path));
    std::remove(path);
    CHECK_THROWS(auth::readTokenFile(path));
}
