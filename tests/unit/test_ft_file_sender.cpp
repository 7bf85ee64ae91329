#include <twine/core/clock.hpp>
#include <twine/protocols/filetransfer/file_sender.hpp>
#include <twine/protocols/filetransfer/file_digest.hpp>
#include <twine/transports/string_transport.hpp>

#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace ft = twine::filetransfer;

namespace {

// A temporary file holding `content`, deleted with the fixture.
struct TempFile {
    std::string path = "/tmp/twine-ft-sender-XXXXXX";
    int fd;
    explicit TempFile(const std::string& content) : fd(mkstemp(path.data())) {
        REQUIRE(fd >= 0);
        REQUIRE(::write(fd, content.data(), content.size()) ==
                static_cast<ssize_t>(content.size()));
    }
    ~TempFile() {
        ::close(fd);
        ::unlink(path.c_str());
    }
};

std::string pattern(std::size_t size) {
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>(i * 7 + i / 251);
    return data;
}

struct Outcome {
    bool done = false;
    std::uint64_t progress = 0;
};

ft::FileSender::Events eventsFor(Outcome& outcome) {
    ft::FileSender::Events events;
    events.progress = [&outcome](std::uint64_t sent) { outcome.progress = sent; };
    events.done = [&outcome] { outcome.done = true; };
    events.failed = [](const std::exception_ptr&) { FAIL("read failed"); };
    return events;
}

}  // namespace

TEST_CASE("the sender writes the range, hashes it, and unregisters when done") {
    std::string content = pattern(3 * ft::FileSender::chunkSize + 5);
    TempFile file(content);
    twine::Clock clock;
    twine::StringTransport transport;
    ft::FileDigest hash;
    Outcome outcome;
    ft::FileSender sender(transport, clock, file.fd, 0, content.size(), hash, eventsFor(outcome));
    sender.start();
    CHECK(outcome.done);
    CHECK(transport.value() == content);
    CHECK(transport.producer() == nullptr);
    ft::FileDigest expected;
    expected.update(content);
    CHECK(hash.digest() == expected.digest());
    CHECK(outcome.progress == content.size());
}

TEST_CASE("a paused sender writes nothing until it is resumed") {
    std::string content = pattern(4 * ft::FileSender::chunkSize);
    TempFile file(content);
    twine::Clock clock;
    twine::StringTransport transport;
    ft::FileDigest hash;
    Outcome outcome;
    ft::FileSender sender(transport, clock, file.fd, 0, content.size(), hash, eventsFor(outcome));
    // The transport pauses it as soon as it is registered (its buffer is full).
    sender.pauseProducing();
    sender.start();
    CHECK(transport.producer() == &sender);
    CHECK(transport.streaming());
    CHECK(transport.value().empty());
    clock.advance(twine::Duration(1));
    CHECK(transport.value().empty());
    sender.resumeProducing();
    CHECK(outcome.done);
    CHECK(transport.value() == content);
}

TEST_CASE("a sender that is never paused yields to the loop between turns") {
    std::size_t turn = ft::FileSender::chunksPerTurn * ft::FileSender::chunkSize;
    std::string content = pattern(turn + 10);
    TempFile file(content);
    twine::Clock clock;
    twine::StringTransport transport;
    ft::FileDigest hash;
    Outcome outcome;
    ft::FileSender sender(transport, clock, file.fd, 0, content.size(), hash, eventsFor(outcome));
    sender.start();
    CHECK_FALSE(outcome.done);
    CHECK(transport.value().size() == turn);
    clock.advance(twine::Duration(0));
    CHECK(outcome.done);
    CHECK(transport.value() == content);
}

TEST_CASE("a resumed send starts at the offset and continues the prefix hash") {
    std::string content = pattern(100000);
    TempFile file(content);
    twine::Clock clock;
    twine::StringTransport transport;
    ft::FileDigest hash;
    hash.update(std::string_view(content).substr(0, 40000));
    Outcome outcome;
    ft::FileSender sender(transport, clock, file.fd, 40000, 60000, hash, eventsFor(outcome));
    sender.start();
    CHECK(outcome.done);
    CHECK(transport.value() == content.substr(40000));
    ft::FileDigest expected;
    expected.update(content);
    CHECK(hash.digest() == expected.digest());
}

TEST_CASE("a stopped sender writes no more") {
    std::string content = pattern(2 * ft::FileSender::chunkSize);
    TempFile file(content);
    twine::Clock clock;
    twine::StringTransport transport;
    ft::FileDigest hash;
    Outcome outcome;
    ft::FileSender sender(transport, clock, file.fd, 0, content.size(), hash, eventsFor(outcome));
    sender.pauseProducing();
    sender.start();
    sender.stopProducing();
    sender.resumeProducing();
    CHECK_FALSE(outcome.done);
    CHECK(transport.value().empty());
}
