#include <twine/protocols/filetransfer/message.hpp>
#include <twine/protocols/filetransfer/session_key.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

using twine::filetransfer::SessionKey;
using twine::filetransfer::toHex;

TEST_CASE("the session key is HKDF-SHA256 of the token with twine-ft v2's salt and info") {
    // Expected values computed independently (Python's hmac module, RFC 5869
    // extract-then-expand), so a change of label or hash is caught.
    CHECK(toHex(SessionKey::derive("s3cret")) ==
          "8a0dad2f5e77d7ef3d2c9d766efe8f61a2aa76cf00600b1c7020183ff37df832");
    CHECK(SessionKey::derive("s3cret").size() == SessionKey::size);
}

TEST_CASE("tokens differing in one letter give unrelated keys; the same token the same key") {
    CHECK(toHex(SessionKey::derive("s3creT")) ==
          "c1d11b8eaf45c33c0e4cf41d00ccbbe5b9165baeb81ce4f524ec0d7cf6aa3d60");
    CHECK(SessionKey::derive("s3cret") == SessionKey::derive("s3cret"));
    CHECK(SessionKey::derive("s3cret") != SessionKey::derive("s3cret "));
}

TEST_CASE("an empty token is refused rather than keying TLS with a constant") {
    CHECK_THROWS_AS(SessionKey::derive(""), std::invalid_argument);
}

TEST_CASE("the PSK identity names the scheme and carries nothing of the token") {
    CHECK(std::string(SessionKey::identity).find("twine-ft/2") == 0);
}
