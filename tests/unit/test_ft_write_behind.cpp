#include <twine/protocols/filetransfer/transfer_error.hpp>
#include <twine/protocols/filetransfer/write_behind.hpp>

#include <doctest/doctest.h>

#include "test_ft_posted_calls.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

namespace ft = twine::filetransfer;
using twine::testing::PostedCalls;

namespace {

std::string pattern(std::size_t size) {
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>(i * 7 + i / 251);
    return data;
}

// What the writer reported, on the test (loop) thread.
struct Outcome {
    int writable = 0;
    std::optional<std::string> failed;    // the error code
    std::optional<std::string> finished;  // "" on success, else the error code
};

ft::WriteBehind::Events eventsFor(Outcome& outcome) {
    ft::WriteBehind::Events events;
    events.writable = [&outcome] { ++outcome.writable; };
    events.failed = [&outcome](const ft::TransferError& error) { outcome.failed = error.code(); };
    events.finished = [&outcome](const ft::TransferError* error) {
        outcome.finished = error == nullptr ? "" : error->code();
    };
    return events;
}

// A sink that holds the worker in its first call until the test opens it.
class Gate {
public:
    ft::WriteBehind::Sink sink(std::string& into) {
        return [this, &into](std::string_view data) {
            std::unique_lock lock(mutex_);
            opened_.wait(lock, [this] { return open_; });
            into.append(data);
        };
    }
    void open() {
        {
            std::lock_guard lock(mutex_);
            open_ = true;
        }
        opened_.notify_all();
    }

private:
    std::mutex mutex_;
    std::condition_variable opened_;
    bool open_ = false;
};

// Writes `data` in reads of `read` bytes, waiting for the writer whenever it
// says every buffer is taken, as the protocol does.
void writeAll(ft::WriteBehind& writer, PostedCalls& loop, std::string_view data, std::size_t read) {
    while (!data.empty()) {
        while (writer.full()) REQUIRE(loop.runOne());
        writer.write(data.substr(0, read));
        data.remove_prefix(std::min(read, data.size()));
    }
}

}  // namespace

TEST_CASE("bytes written behind reach the sink whole and in order, then the last step runs") {
    PostedCalls loop;
    Outcome outcome;
    std::string sunk;
    std::size_t sunkBeforeLast = 0;
    std::string data = pattern(10500);
    ft::WriteBehind writer(loop.post(), [&sunk](std::string_view bytes) { sunk.append(bytes); },
                           eventsFor(outcome), {3, 1000});
    writeAll(writer, loop, data, 777);
    writer.finish([&] { sunkBeforeLast = sunk.size(); });
    while (!outcome.finished) REQUIRE(loop.runOne());
    CHECK(*outcome.finished == "");
    CHECK(sunk == data);
    CHECK(sunkBeforeLast == data.size());
    CHECK(writer.completed());
    CHECK_FALSE(outcome.failed);
}

TEST_CASE("the writer asks to stop reading when every buffer is taken, and says when one is free") {
    PostedCalls loop;
    Outcome outcome;
    Gate gate;
    std::string sunk;
    ft::WriteBehind writer(loop.post(), gate.sink(sunk), eventsFor(outcome), {2, 100});
    CHECK_FALSE(writer.full());
    writer.write(pattern(150));  // one buffer to the worker, which is held; half of the last
    CHECK(writer.full());
    CHECK(outcome.writable == 0);
    gate.open();
    while (outcome.writable == 0) REQUIRE(loop.runOne());
    CHECK_FALSE(writer.full());
    CHECK(sunk == pattern(100));
}

TEST_CASE("a failing sink is reported once; later data and the last step are dropped") {
    PostedCalls loop;
    Outcome outcome;
    int calls = 0;
    bool lastRan = false;
    ft::WriteBehind writer(loop.post(),
                           [&calls](std::string_view) {
                               if (++calls == 2)
                                   throw ft::TransferError(ft::code::noSpace, "disk full");
                           },
                           eventsFor(outcome), {4, 100});
    writer.write(pattern(350));
    writer.finish([&lastRan] { lastRan = true; });
    while (!outcome.failed) REQUIRE(loop.runOne());
    CHECK(*outcome.failed == "no-space");
    writer.stop();
    loop.runPending();
    CHECK(calls == 2);
    CHECK_FALSE(lastRan);
    CHECK_FALSE(outcome.finished);
    CHECK_FALSE(writer.completed());
}

TEST_CASE("a writer stopped mid-file writes everything it was given before its thread ends") {
    PostedCalls loop;
    Outcome outcome;
    std::string sunk;
    std::string data = pattern(1050);
    {
        ft::WriteBehind writer(loop.post(), [&sunk](std::string_view bytes) { sunk.append(bytes); },
                               eventsFor(outcome), {2, 100});
        writer.write(data);  // far more than its buffers: it holds the rest until stopped
    }
    CHECK(sunk == data);
    loop.runPending();  // reports after it is gone do nothing
    CHECK_FALSE(outcome.finished);
    CHECK_FALSE(outcome.failed);
}

TEST_CASE("a cancelled writer stops without the last step and reports nothing more") {
    PostedCalls loop;
    Outcome outcome;
    std::string sunk;
    bool lastRan = false;
    std::string data = pattern(450);
    ft::WriteBehind writer(loop.post(), [&sunk](std::string_view bytes) { sunk.append(bytes); },
                           eventsFor(outcome), {8, 100});
    writer.write(data);
    writer.cancel();
    writer.finish([&lastRan] { lastRan = true; });
    loop.runPending();
    CHECK(data.starts_with(sunk));
    CHECK(sunk.size() % 100 == 0);  // whole buffers only
    CHECK_FALSE(lastRan);
    CHECK_FALSE(outcome.finished);
}
