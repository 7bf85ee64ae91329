// FileDigest: XXH3-128 as xxhsum -H2 prints it, streamed and copied.
#include <twine/protocols/filetransfer/file_digest.hpp>
#include <twine/protocols/filetransfer/message.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>

#include <doctest/doctest.h>

#include <unistd.h>
#include <cstdio>
#include <string>

namespace ft = twine::filetransfer;

namespace {

std::string hexOf(std::string_view data) {
    ft::FileDigest digest;
    digest.update(data);
    return digest.hexDigest();
}

}  // namespace

TEST_CASE("the digests in PROTOCOL.md's worked example are XXH3-128 of the bytes") {
    CHECK(hexOf("hel") == "f6af8958f3e71bd5fe825c2a2852b8dd");
    CHECK(hexOf("hello\n") == "6bba86c7e069f56d5a10b435f1c8e49c");
    CHECK(ft::FileDigest().digest().size() == ft::FileDigest::size);
}

TEST_CASE("a digest fed in pieces equals one fed at once, and a copy goes on alone") {
    std::string data(100000, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 % 251);
    ft::FileDigest pieces;
    for (std::size_t at = 0; at < data.size(); at += 777) pieces.update(data.substr(at, 777));
    CHECK(pieces.hexDigest() == hexOf(data));

    ft::FileDigest prefix;
    prefix.update("hel");
    ft::FileDigest resumed(prefix);
    resumed.update("lo\n");
    CHECK(prefix.hexDigest() == hexOf("hel"));
    CHECK(resumed.hexDigest() == hexOf("hello\n"));
    prefix = resumed;
    CHECK(prefix.hexDigest() == hexOf("hello\n"));
}

TEST_CASE("a file's prefix is digested without moving its offset; a short file is an io error") {
    char path[] = "/tmp/twine-digest-XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    ::unlink(path);
    REQUIRE(::write(fd, "hello\n", 6) == 6);
    ft::FileDigest digest;
    digest.updateFromFile(fd, 3);
    CHECK(digest.hexDigest() == hexOf("hel"));
    CHECK(::lseek(fd, 0, SEEK_CUR) == 6);
    ft::FileDigest tooLong;
    CHECK_THROWS_AS(tooLong.updateFromFile(fd, 7), ft::TransferError);
    ::close(fd);
}
