#include <twine/protocols/filetransfer/commit_queue.hpp>
#include <twine/protocols/filetransfer/file_digest.hpp>

#include <doctest/doctest.h>

#include "temp_files.hpp"
#include "test_ft_posted_calls.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace ft = twine::filetransfer;

namespace {

using twine::testing::PostedCalls;
using twine::testing::readFile;
using twine::testing::TempDir;

// A received file, written and sealed, ready to commit.
std::unique_ptr<ft::IncomingFile> sealed(ft::ReceiveRoot& root, const std::string& name,
                                         const std::string& content) {
    ft::FileInfo info;
    info.name = name;
    info.size = content.size();
    auto file = root.begin(info);
    file->start(0);
    file->write(content);
    ft::FileDigest digest;
    digest.update(content);
    file->seal(digest.digest());
    return file;
}

struct Reports {
    std::vector<std::string> names;
    std::vector<std::string> errors;
    ft::CommitQueue::Committed callback() {
        return [this](std::unique_ptr<ft::IncomingFile> file, const ft::TransferError* error) {
            names.push_back(file->info().name);
            errors.push_back(error ? error->code() : "");
        };
    }
};

}  // namespace

TEST_CASE("committed files take their final names and are reported in the order added") {
    TempDir dir;
    auto root = std::make_shared<ft::ReceiveRoot>(dir.path.string(), ft::ReceiveRoot::Options{});
    PostedCalls loop;
    Reports reports;
    {
        ft::CommitQueue queue(loop.post(), reports.callback());
        for (int i = 0; i < 20; ++i) {
            queue.add(sealed(*root, "f" + std::to_string(i), std::string(i, 'x')));
        }
        CHECK(queue.pending() == 20);
        while (reports.names.size() < 20) REQUIRE(loop.runOne());
        CHECK(queue.pending() == 0);
    }
    for (int i = 0; i < 20; ++i) {
        CHECK(reports.names[i] == "f" + std::to_string(i));
        CHECK(reports.errors[i].empty());
        CHECK(readFile(dir.path / ("f" + std::to_string(i))) == std::string(i, 'x'));
        CHECK_FALSE(fs::exists(dir.path / (".f" + std::to_string(i) + ".part")));
    }
    // Reported files let go of their names: the same name may be received again.
    CHECK_FALSE(root->receiving("f0"));
}

TEST_CASE("drain commits and reports everything added before it returns") {
    TempDir dir;
    auto root = std::make_shared<ft::ReceiveRoot>(dir.path.string(), ft::ReceiveRoot::Options{});
    PostedCalls loop;
    Reports reports;
    ft::CommitQueue queue(loop.post(), reports.callback());
    queue.add(sealed(*root, "a", "1"));
    queue.add(sealed(*root, "b", "22"));
    queue.drain();
    CHECK(reports.names == std::vector<std::string>{"a", "b"});
    CHECK(readFile(dir.path / "b") == "22");
    loop.runPending();  // a wake-up posted before the drain finds nothing more
    CHECK(reports.names.size() == 2);
}

TEST_CASE("without a loop to post to, a file is committed inside add") {
    TempDir dir;
    auto root = std::make_shared<ft::ReceiveRoot>(dir.path.string(), ft::ReceiveRoot::Options{});
    Reports reports;
    ft::CommitQueue queue({}, reports.callback());
    queue.add(sealed(*root, "now", "here"));
    CHECK(reports.names == std::vector<std::string>{"now"});
    CHECK(readFile(dir.path / "now") == "here");
}
