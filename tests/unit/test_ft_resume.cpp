#include <twine/protocols/filetransfer/file_digest.hpp>
#include <twine/protocols/filetransfer/receive_root.hpp>
#include <twine/protocols/filetransfer/resume.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>

#include <doctest/doctest.h>

#include "temp_files.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
namespace ft = twine::filetransfer;

namespace {

using twine::testing::readFile;
using twine::testing::TempDir;
using twine::testing::writeFile;

std::string digestOf(std::string_view data) {
    ft::FileDigest hash;
    hash.update(data);
    return hash.digest();
}

ft::FileInfo info(std::string name, std::string_view content) {
    ft::FileInfo file;
    file.name = std::move(name);
    file.size = content.size();
    file.mode = 0640;
    file.mtime = 1700000000;
    return file;
}

// Content too large to be received unnamed: it gets a resumable ".NAME.part".
std::string resumable(std::string_view head) {
    std::string content(head);
    content.resize(ft::IncomingFile::unnamedLimit + 1, '.');
    return content;
}

std::string codeOf(auto&& action) {
    try {
        action();
    } catch (const ft::TransferError& error) {
        return error.code();
    }
    return "ok";
}

}  // namespace

TEST_CASE("the sender resumes only when its prefix matches the receiver's partial") {
    std::string ours = "hello, world";
    auto prefix = [&](std::uint64_t n) { return digestOf(std::string_view(ours).substr(0, n)); };
    CHECK(ft::resume::startOffset(5, digestOf("hello"), ours.size(), prefix) == 5);
    CHECK(ft::resume::startOffset(5, digestOf("HELLO"), ours.size(), prefix) == 0);
    CHECK(ft::resume::startOffset(0, "", ours.size(), prefix) == 0);
    CHECK(ft::resume::startOffset(99, digestOf("x"), ours.size(), prefix) == 0);
    CHECK(ft::resume::startOffset(12, digestOf(ours), ours.size(), prefix) == 12);
}

TEST_CASE("a partial longer than the announced file is not offered") {
    CHECK(ft::resume::offerable(10, 100) == 10);
    CHECK(ft::resume::offerable(100, 100) == 100);
    CHECK(ft::resume::offerable(101, 100) == 0);
}

TEST_CASE("a received file takes its final name only after the SHA-256 matches") {
    TempDir dir;
    auto root = std::make_shared<ft::ReceiveRoot>(dir.path, ft::ReceiveRoot::Options{});
    std::string content = resumable("some file content");
    auto file = root->begin(info("sub/dir/f.txt", content));
    CHECK(file->have() == 0);
    file->start(0);
    file->write(content);
    CHECK(fs::exists(dir.path / "sub/dir/.f.txt.part"));
    CHECK_FALSE(fs::exists(dir.path / "sub/dir/f.txt"));
    file->finish(digestOf(content));
    CHECK(readFile(dir.path / "sub/dir/f.txt") == content);
    CHECK_FALSE(fs::exists(dir.path / "sub/dir/.f.txt.part"));
    auto status = fs::status(dir.path / "sub/dir/f.txt");
    CHECK((status.permissions() & fs::perms::all) == static_cast<fs::perms>(0640));
}

TEST_CASE("a small new file has no name at all until it is whole") {
    TempDir dir;
    auto root = std::make_shared<ft::ReceiveRoot>(dir.path, ft::ReceiveRoot::Options{});
    std::string content(ft::IncomingFile::unnamedLimit, 's');
    auto file = root->begin(info("sub/f.txt", content));
    file->start(0);
    file->write(content);
    CHECK(fs::is_empty(dir.path / "sub"));
    file->finish(digestOf(content));
    CHECK(readFile(dir.path / "sub/f.txt") == content);
    CHECK((fs::status(dir.path / "sub/f.txt").permissions() & fs::perms::all) ==
          static_cast<fs::perms>(0640));
    struct stat st {};
    REQUIRE(::stat((dir.path / "sub/f.txt").c_str(), &st) == 0);
    CHECK(st.st_mtime == 1700000000);
    CHECK(std::distance(fs::directory_iterator(dir.path / "sub"), fs::directory_iterator()) == 1);
}

TEST_CASE("a small file dropped mid-way leaves nothing behind, and starts over") {
    TempDir dir;
    auto root = std::make_shared<ft::ReceiveRoot>(dir.path, ft::ReceiveRoot::Options{});
    std::string content = "0123456789abcdef";
    {
        auto file = root->begin(info("f", content));
        file->start(0);
        file->write(content.substr(0, 6));
    }
    CHECK(fs::is_empty(dir.path));
    auto file = root->begin(info("f", content));
    CHECK(file->have() == 0);
    file->start(0);
    file->write(content);
    file->finish(digestOf(content));
    CHECK(readFile(dir.path / "f") == content);
}

TEST_CASE("a small file whose name was taken since the offer replaces it, as a rename would") {
    TempDir dir;
    auto root = std::make_shared<ft::ReceiveRoot>(dir.path, ft::ReceiveRoot::Options{true});
    auto file = root->begin(info("f", "new"));
    file->start(0);
    file->write("new");
    writeFile(dir.path / "f", "planted meanwhile");
    file->finish(digestOf("new"));
    CHECK(readFile(dir.path / "f") == "new");
    CHECK_FALSE(fs::exists(dir.path / ".f.part"));
}

TEST_CASE("a hash mismatch leaves no file, final or partial") {
    TempDir dir;
    auto root = std::make_shared<ft::ReceiveRoot>(dir.path, ft::ReceiveRoot::Options{});
    auto file = root->begin(info("f", "abc"));
    file->start(0);
    file->write("abd");
    CHECK(codeOf([&] { file->finish(digestOf("abc")); }) == "hash-mismatch");
    CHECK(fs::is_empty(dir.path));
}

TEST_CASE("an interrupted receive resumes from the partial, hashing across both parts") {
    TempDir dir;
    auto root = std::make_shared<ft::ReceiveRoot>(dir.path, ft::ReceiveRoot::Options{});
    std::string content = resumable("0123456789abcdef");
    {
        auto file = root->begin(info("f", content));
        file->start(0);
        file->write(content.substr(0, 6));
    }  // dropped mid-way: the partial stays
    auto file = root->begin(info("f", content));
    CHECK(file->have() == 6);
    CHECK(file->haveDigest() == digestOf(content.substr(0, 6)));
    file->start(6);
    file->write(content.substr(6));
    file->finish(digestOf(content));
    CHECK(readFile(dir.path / "f") == content);
}

TEST_CASE("a resume refused by the sender starts over from zero") {
    TempDir dir;
    auto root = std::make_shared<ft::ReceiveRoot>(dir.path, ft::ReceiveRoot::Options{});
    // A small file's partial from an earlier twine-ft is resumable as well.
    writeFile(dir.path / ".f.part", "XXXX");
    auto file = root->begin(info("f", "abcdefgh"));
    CHECK(file->have() == 4);
    file->start(0);
    file->write("abcdefgh");
    file->finish(digestOf("abcdefgh"));
    CHECK(readFile(dir.path / "f") == "abcdefgh");
    CHECK_FALSE(fs::exists(dir.path / ".f.part"));
    CHECK(codeOf([&] {
              auto again = root->begin(info("g", "abc"));
              again->start(2);
          }) == "unexpected");
}

TEST_CASE("existing files are not overwritten unless allowed") {
    TempDir dir;
    writeFile(dir.path / "f", "old");
    auto strict = std::make_shared<ft::ReceiveRoot>(dir.path, ft::ReceiveRoot::Options{});
    CHECK(codeOf([&] { strict->begin(info("f", "new")); }) == "exists");
    auto lenient = std::make_shared<ft::ReceiveRoot>(dir.path, ft::ReceiveRoot::Options{true});
    auto file = lenient->begin(info("f", "new"));
    file->start(0);
    file->write("new");
    file->finish(digestOf("new"));
    CHECK(readFile(dir.path / "f") == "new");
}

TEST_CASE("a second concurrent receive of one name is busy until the first ends") {
    TempDir dir;
    auto root = std::make_shared<ft::ReceiveRoot>(dir.path, ft::ReceiveRoot::Options{});
    auto first = root->begin(info("f", "abc"));
    CHECK(codeOf([&] { root->begin(info("f", "abc")); }) == "busy");
    CHECK(codeOf([&] { root->begin(info("g", "abc")); }) == "ok");
    first.reset();
    CHECK(codeOf([&] { root->begin(info("f", "abc")); }) == "ok");
}

TEST_CASE("files over the maximum size and more data than announced are refused") {
    TempDir dir;
    ft::ReceiveRoot::Options options;
    options.maxSize = 4;
    auto root = std::make_shared<ft::ReceiveRoot>(dir.path, options);
    CHECK(codeOf([&] { root->begin(info("big", "12345")); }) == "too-large");
    auto file = root->begin(info("f", "1234"));
    file->start(0);
    CHECK(codeOf([&] { file->write("12345"); }) == "unexpected");
    CHECK(codeOf([&] { file->finish(digestOf("1234")); }) == "unexpected");
}

TEST_CASE("a file larger than the free space is refused before any write") {
    TempDir dir;
    auto root = std::make_shared<ft::ReceiveRoot>(dir.path, ft::ReceiveRoot::Options{});
    ft::FileInfo huge = info("huge", "");
    huge.size = std::uint64_t{1} << 62;
    CHECK(codeOf([&] { root->begin(huge); }) == "no-space");
    CHECK_FALSE(fs::exists(dir.path / "huge"));
}

TEST_CASE("a symlink planted in the tree is not followed") {
    TempDir dir;
    TempDir outside;
    fs::create_directory_symlink(outside.path, dir.path / "link");
    fs::create_symlink(outside.path / "target", dir.path / "file");
    auto root = std::make_shared<ft::ReceiveRoot>(dir.path, ft::ReceiveRoot::Options{true});
    CHECK(codeOf([&] { root->begin(info("link/x", "abc")); }) == "bad-name");
    CHECK(fs::is_empty(outside.path));
    writeFile(dir.path / ".file.part", "");
    fs::remove(dir.path / ".file.part");
    fs::create_symlink(outside.path / "target", dir.path / ".file.part");
    CHECK(codeOf([&] { root->begin(info("file", "abc")); }) != "ok");
    CHECK(fs::is_empty(outside.path));
}

TEST_CASE("hostile names are refused before anything is created") {
    TempDir dir;
    auto root = std::make_shared<ft::ReceiveRoot>(dir.path, ft::ReceiveRoot::Options{});
    CHECK(codeOf([&] { root->begin(info("../escape", "x")); }) == "bad-name");
    CHECK(codeOf([&] { root->begin(info("/tmp/abs", "x")); }) == "bad-name");
    CHECK(codeOf([&] { root->begin(info("a/../../b", "x")); }) == "bad-name");
    CHECK(fs::is_empty(dir.path));
}
