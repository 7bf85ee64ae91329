#include <twine/core/port.hpp>
#include <twine/protocols/chat.hpp>
#include <twine/protocols/chat_hub.hpp>
#include <twine/transports/reactor_pool.hpp>

#include <doctest/doctest.h>

#include "test_pool_support.hpp"
#include "time_limit.hpp"

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using twine::testing::failAfter;

namespace {

// Lines from a blocking socket; empty optional when the connection ends or
// a read times out.
class LineReader {
public:
    explicit LineReader(int fd) : fd_(fd) {}
    std::optional<std::string> next() {
        for (;;) {
            if (auto end = buffer_.find('\n'); end != std::string::npos) {
                std::string line = buffer_.substr(0, end);
                buffer_.erase(0, end + 1);
                return line;
            }
            char chunk[65536];
            const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) return std::nullopt;
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }
    /// Skips lines until one equals `wanted`; false if it never came.
    bool waitFor(const std::string& wanted) {
        while (auto line = next()) {
            if (*line == wanted) return true;
        }
        return false;
    }

private:
    int fd_;
    std::string buffer_;
};

twine::ReactorPool::FactoryMaker hubFactories(const std::shared_ptr<twine::ChatHub>& hub) {
    return [hub](twine::Reactor& reactor) -> std::shared_ptr<twine::Factory> {
        return hub->makeFactory(reactor);
    };
}

// Connects in order, so that connection k goes to worker k % size (the
// pool hands connections over round-robin, in accept order).
std::vector<int> connectInOrder(std::uint16_t port, int count, int receiveBuffer = 0) {
    std::vector<int> fds;
    for (int i = 0; i < count; ++i) {
        fds.push_back(pool_test::connectTCP(port, 20, nullptr, i == 0 ? receiveBuffer : 0));
    }
    return fds;
}

}  // namespace

TEST_CASE("a chat line reaches every client on every worker, in the order its sender sent it") {
    constexpr int clients = 8;
    constexpr int linesEach = 200;
    auto hub = twine::ChatHub::create();
    std::atomic<int> welcomed{0};
    std::atomic<int> complete{0};
    std::atomic<int> outOfOrder{0};
    std::optional<std::string> duplicateReply;
    std::vector<std::thread> threads;
    {
        twine::ReactorPool pool(4);
        failAfter(pool.mainReactor(), 60s);
        pool.listen("tcp:0:interface=127.0.0.1", hubFactories(hub))
            .addCallback([&](const std::shared_ptr<twine::Port>& port) {
                const std::uint16_t number = port->getHost().port();
                threads.emplace_back([&, number] {
                    std::vector<int> fds = connectInOrder(number, clients);
                    std::vector<std::thread> talkers;
                    for (int c = 0; c < clients; ++c) {
                        talkers.emplace_back([&, c, fd = fds[c]] {
                            LineReader reader(fd);
                            const std::string nick = "c" + std::to_string(c);
                            pool_test::sendAll(fd, nick + "\n");
                            if (!reader.waitFor("Welcome, " + nick + "!")) return;
                            ++welcomed;
                            // Everyone joined before anyone talks.
                            const auto deadline = std::chrono::steady_clock::now() + 20s;
                            while (welcomed < clients &&
                                   std::chrono::steady_clock::now() < deadline) {
                                std::this_thread::sleep_for(1ms);
                            }
                            std::string burst;
                            for (int k = 0; k < linesEach; ++k) {
                                burst += "m " + std::to_string(k) + "\n";
                            }
                            pool_test::sendAll(fd, burst);
                            std::map<std::string, int> nextFrom;
                            int received = 0;
                            while (received < (clients - 1) * linesEach) {
                                auto line = reader.next();
                                if (!line) break;
                                if (line->empty() || (*line)[0] != '<') continue;
                                const auto close = line->find("> m ");
                                const std::string from = line->substr(1, close - 1);
                                const int k = std::stoi(line->substr(close + 4));
                                if (k != nextFrom[from]++) ++outOfOrder;
                                ++received;
                            }
                            if (received == (clients - 1) * linesEach) ++complete;
                        });
                    }
                    for (auto& talker : talkers) talker.join();
                    // A ninth client on worker 0 asks for the name of c1 (worker 1).
                    int late = pool_test::connectTCP(number);
                    LineReader reader(late);
                    pool_test::sendAll(late, "c1\n");
                    reader.next();  // "What's your name?"
                    duplicateReply = reader.next();
                    ::close(late);
                    for (int fd : fds) ::close(fd);
                    pool.stop();
                });
            });
        pool.run();
        for (auto& thread : threads) thread.join();
    }
    CHECK(welcomed == clients);
    CHECK(complete == clients);
    CHECK(outOfOrder == 0);
    REQUIRE(duplicateReply.has_value());
    CHECK(*duplicateReply == "Name taken, please choose another.");
}

TEST_CASE("a chat client that does not read is dropped; the others get every line") {
    constexpr int lines = 8000;
    const std::string filler(1000, 'x');
    auto hub = twine::ChatHub::create();
    std::optional<pool_test::Outcome> slowEnd;
    int fastReceived = 0;
    int fastOutOfOrder = 0;
    std::vector<std::thread> threads;
    {
        twine::ReactorPool pool(2);
        failAfter(pool.mainReactor(), 90s);
        pool.listen("tcp:0:interface=127.0.0.1", hubFactories(hub))
            .addCallback([&](const std::shared_ptr<twine::Port>& port) {
                const std::uint16_t number = port->getHost().port();
                threads.emplace_back([&, number] {
                    // slow: worker 0 (a small receive buffer), talker: worker 1,
                    // fast: worker 0.
                    std::vector<int> fds = connectInOrder(number, 3, 4096);
                    const int slow = fds[0], talker = fds[1], fast = fds[2];
                    LineReader slowReader(slow), talkerReader(talker), fastReader(fast);
                    pool_test::sendAll(slow, "slow\n");
                    pool_test::sendAll(talker, "talker\n");
                    pool_test::sendAll(fast, "fast\n");
                    const bool joined = slowReader.waitFor("Welcome, slow!") &&
                                        talkerReader.waitFor("Welcome, talker!") &&
                                        fastReader.waitFor("Welcome, fast!");
                    if (joined) {
                        // In steps of 250 lines (well under ChatRoom::maxQueuedBytes):
                        // the fast client never falls a step behind however the
                        // threads are scheduled, while the slow one falls ever further.
                        constexpr int step = 250;
                        const std::string prefix = "<talker> ";
                        for (int sent = 0; sent < lines && fastReceived == sent;) {
                            for (int k = sent; k < sent + step; ++k) {
                                pool_test::sendAll(talker, std::to_string(k) + " " + filler + "\n");
                            }
                            sent += step;
                            while (fastReceived < sent) {
                                auto line = fastReader.next();
                                if (!line) break;
                                if (line->rfind(prefix, 0) != 0) continue;
                                if (std::stoi(line->substr(prefix.size())) != fastReceived) {
                                    ++fastOutOfOrder;
                                }
                                ++fastReceived;
                            }
                        }
                        std::string rest;
                        slowEnd = pool_test::readExactly(slow, std::size_t(1) << 30, rest);
                    }
                    for (int fd : fds) ::close(fd);
                    pool.stop();
                });
            });
        pool.run();
        for (auto& thread : threads) thread.join();
    }
    CHECK(fastReceived == lines);
    CHECK(fastOutOfOrder == 0);
    REQUIRE(slowEnd.has_value());
    INFO("the slow client's connection ended with: " << std::string(pool_test::name(*slowEnd)));
    CHECK((*slowEnd == pool_test::Outcome::reset || *slowEnd == pool_test::Outcome::cleanClose));
}
