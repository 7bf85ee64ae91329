#include <twine/protocols/filetransfer/shared_parents.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>

#include <doctest/doctest.h>

#include "temp_files.hpp"

#include <sys/stat.h>

#include <filesystem>

namespace fs = std::filesystem;
namespace ft = twine::filetransfer;
using twine::testing::TempDir;

namespace {

ino_t inodeOf(const ft::SharedFd& directory) {
    struct stat st {};
    REQUIRE(::fstat(directory->get(), &st) == 0);
    return st.st_ino;
}

ino_t inodeOf(const fs::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_ino;
}

}  // namespace

TEST_CASE("files in one directory share its descriptor") {
    TempDir root;
    ft::RootDir dir(root.path.string());
    ft::SharedParents parents(dir);
    ft::SharedFd a = parents.parentOf(ft::SafeName("sub/a"), true);
    ft::SharedFd b = parents.parentOf(ft::SafeName("sub/b"), false);
    CHECK(a == b);
    CHECK(inodeOf(a) == inodeOf(root.path / "sub"));
    ft::SharedFd top = parents.parentOf(ft::SafeName("c"), false);
    CHECK(top != a);
    CHECK(inodeOf(top) == inodeOf(root.path));
}

TEST_CASE("a directory nobody holds is opened afresh") {
    TempDir root;
    ft::RootDir dir(root.path.string());
    ft::SharedParents parents(dir);
    ino_t first = 0;
    {
        ft::SharedFd held = parents.parentOf(ft::SafeName("sub/a"), true);
        first = inodeOf(held);
    }
    // Replaced while no file in it was being received: the new one is used.
    fs::rename(root.path / "sub", root.path / "old");
    fs::create_directory(root.path / "sub");
    ft::SharedFd again = parents.parentOf(ft::SafeName("sub/b"), false);
    CHECK(inodeOf(again) != first);
    CHECK(inodeOf(again) == inodeOf(root.path / "sub"));
}

TEST_CASE("a missing parent is an error unless it may be made, and a symlink never is followed") {
    TempDir root;
    ft::RootDir dir(root.path.string());
    ft::SharedParents parents(dir);
    CHECK_THROWS_AS(parents.parentOf(ft::SafeName("none/a"), false), ft::TransferError);
    fs::create_directory_symlink("/tmp", root.path / "link");
    CHECK_THROWS_AS(parents.parentOf(ft::SafeName("link/a"), true), ft::TransferError);
    CHECK(parents.parentOf(ft::SafeName("made/a"), true));
    CHECK(fs::is_directory(root.path / "made"));
}
