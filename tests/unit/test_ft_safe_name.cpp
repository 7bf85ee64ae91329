#include <twine/protocols/filetransfer/safe_name.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>

#include <doctest/doctest.h>

#include <string>

using twine::filetransfer::SafeName;
using twine::filetransfer::TransferError;

namespace {

bool refused(std::string_view name) {
    try {
        SafeName checked(name);
    } catch (const TransferError& error) {
        CHECK(error.code() == "bad-name");
        return true;
    }
    return false;
}

}  // namespace

TEST_CASE("ordinary relative names are accepted and split into components") {
    SafeName name("photos/2024/IMG 0001.jpg");
    CHECK(name.str() == "photos/2024/IMG 0001.jpg");
    REQUIRE(name.components().size() == 3);
    CHECK(name.leaf() == "IMG 0001.jpg");
    CHECK_FALSE(refused("file"));
    CHECK_FALSE(refused(".hidden"));
    CHECK_FALSE(refused("a..b"));
    CHECK_FALSE(refused("..."));
    CHECK_FALSE(refused("héllo/wörld"));
}

TEST_CASE("names that could escape the root are refused") {
    CHECK(refused("/etc/passwd"));
    CHECK(refused(".."));
    CHECK(refused("../x"));
    CHECK(refused("a/../../x"));
    CHECK(refused("a/.."));
    CHECK(refused("./x"));
    CHECK(refused("a/./b"));
    CHECK(refused("//x"));
}

TEST_CASE("empty names and empty components are refused") {
    CHECK(refused(""));
    CHECK(refused("a//b"));
    CHECK(refused("a/"));
    CHECK(refused("/"));
}

TEST_CASE("NUL, control characters and backslashes are refused") {
    CHECK(refused(std::string("a\0b", 3)));
    CHECK(refused("a\nb"));
    CHECK(refused("a\rb"));
    CHECK(refused("\x1b[31m"));
    CHECK(refused("a\x7f"));
    CHECK(refused("..\\..\\windows"));
    CHECK(refused("a\\b"));
}

TEST_CASE("overlong names, components and depths are refused") {
    CHECK(refused(std::string(SafeName::maxComponentLength + 1, 'a')));
    CHECK_FALSE(refused(std::string(SafeName::maxComponentLength, 'a')));
    std::string deep;
    for (std::size_t i = 0; i <= SafeName::maxDepth; ++i) deep += "d/";
    deep += "f";
    CHECK(refused(deep));
    CHECK(refused(std::string(SafeName::maxLength + 1, 'a')));
}

TEST_CASE("names of the receiver's own temporaries are refused") {
    CHECK(refused(".secret.part"));
    CHECK(refused("dir/.x.part"));
    CHECK_FALSE(refused("x.part"));
    CHECK(SafeName::partName("c.txt") == ".c.txt.part");
}

TEST_CASE("a name lies within the name it was asked under") {
    CHECK(SafeName("a/b/c").within(SafeName("a")));
    CHECK(SafeName("a/b/c").within(SafeName("a/b/c")));
    CHECK_FALSE(SafeName("ab/c").within(SafeName("a")));
    CHECK_FALSE(SafeName("a").within(SafeName("a/b")));
}

TEST_CASE("the error message names the reason and does not echo control bytes") {
    try {
        SafeName name("bad\x1b[2Jname/../x");
        FAIL("accepted");
    } catch (const TransferError& error) {
        std::string what = error.what();
        CHECK(what.find('\x1b') == std::string::npos);
        CHECK(what.find("control character") != std::string::npos);
    }
}
