#include <twine/core/error.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/port.hpp>
#include <twine/protocols/echo.hpp>
#include <twine/transports/reactor_pool.hpp>

#include <doctest/doctest.h>

#include "temp_files.hpp"
#include "test_pool_support.hpp"
#include "time_limit.hpp"

#include <sys/wait.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using pool_test::Outcome;
using twine::testing::failAfter;

namespace {

constexpr std::size_t maxWorkers = 8;

// What each worker did, counted on the worker's own thread.
struct WorkerCounts {
    std::array<std::atomic<int>, maxWorkers> connections{};
    std::array<std::atomic<int>, maxWorkers> started{};
    std::array<std::atomic<int>, maxWorkers> stopped{};
    std::array<std::atomic<bool>, maxWorkers> onOwnThread{};
};

class CountingEcho final : public twine::Echo {
public:
    explicit CountingEcho(std::atomic<int>& count) : count_(count) {}
    void connectionMade() override { ++count_; }

private:
    std::atomic<int>& count_;
};

class CountingFactory final : public twine::ServerFactory {
public:
    CountingFactory(WorkerCounts& counts, std::size_t worker)
        : counts_(counts), worker_(worker), thread_(std::this_thread::get_id()) {
        counts_.onOwnThread[worker_] = true;
    }
    std::unique_ptr<twine::Protocol> buildProtocol(const twine::Address&) override {
        if (std::this_thread::get_id() != thread_) counts_.onOwnThread[worker_] = false;
        return std::make_unique<CountingEcho>(counts_.connections[worker_]);
    }
    void startFactory() override { note(counts_.started); }
    void stopFactory() override { note(counts_.stopped); }

private:
    void note(std::array<std::atomic<int>, maxWorkers>& what) {
        ++what[worker_];
        if (std::this_thread::get_id() != thread_) counts_.onOwnThread[worker_] = false;
    }
    WorkerCounts& counts_;
    std::size_t worker_;
    std::thread::id thread_;
};

std::size_t indexOf(twine::ReactorPool& pool, twine::Reactor& reactor) {
    for (std::size_t i = 0; i < pool.size(); ++i) {
        if (&pool.reactor(i) == &reactor) return i;
    }
    throw std::logic_error("not a worker of this pool");
}

twine::ReactorPool::FactoryMaker countingFactories(twine::ReactorPool& pool, WorkerCounts& counts) {
    return [&pool, &counts](twine::Reactor& reactor) -> std::shared_ptr<twine::Factory> {
        return std::make_shared<CountingFactory>(counts, indexOf(pool, reactor));
    };
}

std::uint16_t portOf(const std::shared_ptr<twine::Port>& port) {
    return port->getHost().port();
}

// A client process: `connections` echo round trips, one connection at a
// time; exits 0 if every one came back. Uses nothing but system calls.
[[noreturn]] void balanceClient(int portPipe, int connections) {
    alarm(60);  // a bound on the whole child, whatever happens
    std::uint16_t port = 0;
    if (::read(portPipe, &port, sizeof port) != sizeof port) _exit(3);
    for (int i = 0; i < connections; ++i) {
        int fd = pool_test::connectTCP(port, 20);
        if (fd < 0) _exit(4);
        char byte = 'x';
        char back = 0;
        if (::send(fd, &byte, 1, MSG_NOSIGNAL) != 1 || ::recv(fd, &back, 1, 0) != 1 ||
            back != 'x') {
            _exit(5);
        }
        ::close(fd);
    }
    _exit(0);
}

}  // namespace

// First in the file: the client processes are forked while this process has
// one thread only.
TEST_CASE("1000 connections from 4 client processes spread evenly over 4 workers") {
    constexpr int processes = 4;
    constexpr int perProcess = 250;
    std::array<int, processes> pipes{};
    std::array<pid_t, processes> children{};
    for (int p = 0; p < processes; ++p) {
        int ends[2];
        REQUIRE(::pipe(ends) == 0);
        children[p] = ::fork();
        REQUIRE(children[p] >= 0);
        if (children[p] == 0) {
            ::close(ends[1]);
            balanceClient(ends[0], perProcess);
        }
        ::close(ends[0]);
        pipes[p] = ends[1];
    }

    WorkerCounts counts;
    std::array<int, processes> exitCodes{};
    std::thread waiter;
    {
        twine::ReactorPool pool(4);
        failAfter(pool.mainReactor(), 90s);
        pool.listen("tcp:0:interface=127.0.0.1", countingFactories(pool, counts))
            .addCallbacks(
                [&](const std::shared_ptr<twine::Port>& port) {
                    const std::uint16_t number = portOf(port);
                    for (int fd : pipes) CHECK(::write(fd, &number, sizeof number) == 2);
                    waiter = std::thread([&] {
                        for (int p = 0; p < processes; ++p) {
                            int status = 0;
                            ::waitpid(children[p], &status, 0);
                            exitCodes[p] = WIFEXITED(status) ? WEXITSTATUS(status) : 100;
                        }
                        pool.stop();
                    });
                },
                [&](const twine::Failure& failure) {
                    FAIL_CHECK(failure.what());
                    for (pid_t child : children) ::kill(child, SIGKILL);
                    pool.stop();
                });
        pool.run();
        if (waiter.joinable()) waiter.join();
    }
    for (int fd : pipes) ::close(fd);
    for (int p = 0; p < processes; ++p) CHECK(exitCodes[p] == 0);
    int total = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        const int served = counts.connections[i];
        INFO("worker " << i << " served " << served);
        // Round-robin hand-over: exactly even, well inside the required ±15%.
        CHECK(served == 250);
        total += served;
    }
    CHECK(total == processes * perProcess);
}

TEST_CASE("a pool of 1, 2 and 4 workers serves several client threads, then stops") {
    for (std::size_t workers : {1U, 2U, 4U}) {
        CAPTURE(workers);
        constexpr int threads = 4;
        constexpr int perThread = 40;
        WorkerCounts counts;
        std::atomic<int> replies{0};
        std::atomic<int> problems{0};
        std::vector<std::thread> clients;
        {
            twine::ReactorPool pool(workers);
            REQUIRE(pool.size() == workers);
            failAfter(pool.mainReactor(), 60s);
            pool.listen("tcp:0:interface=127.0.0.1", countingFactories(pool, counts))
                .addCallbacks(
                    [&](const std::shared_ptr<twine::Port>& port) {
                        const std::uint16_t number = portOf(port);
                        auto left = std::make_shared<std::atomic<int>>(threads);
                        for (int t = 0; t < threads; ++t) {
                            clients.emplace_back([&, number, left, t] {
                                const std::string request(4096 + t, static_cast<char>('a' + t));
                                for (int i = 0; i < perThread; ++i) {
                                    int fd = pool_test::connectTCP(number);
                                    Outcome outcome =
                                        fd < 0 ? Outcome::failed : pool_test::echoOnce(fd, request);
                                    if (fd >= 0) ::close(fd);
                                    (outcome == Outcome::reply ? replies : problems)++;
                                }
                                if (--*left == 0) pool.stop();
                            });
                        }
                    },
                    [&](const twine::Failure& failure) {
                        FAIL_CHECK(failure.what());
                        pool.stop();
                    });
            pool.run();
            for (auto& client : clients) client.join();
        }
        CHECK(replies == threads * perThread);
        CHECK(problems == 0);
        for (std::size_t i = 0; i < workers; ++i) {
            CAPTURE(i);
            CHECK(counts.connections[i] == threads * perThread / static_cast<int>(workers));
            CHECK(counts.started[i] == 1);
            CHECK(counts.stopped[i] == 1);
            CHECK(counts.onOwnThread[i]);
        }
    }
}

TEST_CASE("stopping the pool drains the accept queue: every accepted connection gets its reply") {
    constexpr int threads = 4;
    constexpr int perThread = 50;
    constexpr int total = threads * perThread;
    WorkerCounts counts;
    std::atomic<int> connected{0};
    std::array<std::atomic<int>, 5> outcomes{};
    std::atomic<long> queuedAtStop{-1};
    std::vector<std::thread> clients;
    {
        twine::ReactorPool pool(4);
        failAfter(pool.mainReactor(), 90s);
        std::shared_ptr<twine::Port> listening;
        pool.listen("tcp:0:interface=127.0.0.1", countingFactories(pool, counts))
            .addCallback([&](const std::shared_ptr<twine::Port>& port) {
                listening = port;
                const std::uint16_t number = portOf(port);
                // The main reactor accepts: while this call blocks it, every
                // connection waits in the kernel's accept queue.
                pool.mainReactor().callFromThread([&, number] {
                    for (int t = 0; t < threads; ++t) {
                        clients.emplace_back([&, number, t] {
                            const std::string request(16384, static_cast<char>('A' + t));
                            std::vector<int> fds;
                            for (int i = 0; i < perThread; ++i) {
                                int fd = pool_test::connectTCP(number, 30);
                                if (fd >= 0 && pool_test::sendAll(fd, request)) fds.push_back(fd);
                                ++connected;
                            }
                            for (int fd : fds) {
                                std::string reply;
                                Outcome outcome = pool_test::readExactly(fd, request.size(), reply);
                                if (outcome == Outcome::reply && reply != request) {
                                    outcome = Outcome::failed;
                                }
                                ++outcomes[static_cast<std::size_t>(outcome)];
                                ::close(fd);
                            }
                        });
                    }
                    // Bounded waits for a condition, not for time to pass.
                    const auto deadline = std::chrono::steady_clock::now() + 30s;
                    while (connected < total && std::chrono::steady_clock::now() < deadline) {
                        std::this_thread::sleep_for(1ms);
                    }
                    while (pool_test::acceptQueueLength(number) < total &&
                           std::chrono::steady_clock::now() < deadline) {
                        std::this_thread::sleep_for(1ms);
                    }
                    queuedAtStop = pool_test::acceptQueueLength(number);
                    listening->stopListening();  // drains the queue, here and now
                    pool.stop();
                });
            });
        pool.run();
        for (auto& client : clients) client.join();
    }
    CHECK(queuedAtStop == total);
    CHECK(outcomes[static_cast<std::size_t>(Outcome::reply)] == total);
    CHECK(outcomes[static_cast<std::size_t>(Outcome::reset)] == 0);
    CHECK(outcomes[static_cast<std::size_t>(Outcome::timeout)] == 0);
    int served = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        served += counts.connections[i];
        CHECK(counts.stopped[i] == 1);
    }
    CHECK(served == total);
}

TEST_CASE("forEach and callFromThread storms run every call on its worker's thread, in order") {
    constexpr std::size_t workers = 4;
    constexpr int posters = 4;
    constexpr int callsPerPoster = 5000;
    constexpr int rounds = 200;
    // Plain ints: each is touched only on its worker's thread (TSan checks).
    std::array<std::vector<int>, workers * posters> seen;
    std::array<int, workers> forEachRuns{};
    std::array<std::thread::id, workers> threadOf{};
    std::array<bool, workers> wrongThread{};
    bool finished = false;
    std::vector<std::thread> posterThreads;
    // Meanwhile, forEach rounds from the main thread; each round starts the next.
    // Declared outside the pool so the chain owns no copy of itself.
    std::function<void(int)> round;
    {
        twine::ReactorPool pool(workers);
        failAfter(pool.mainReactor(), 60s);
        round = [&](int n) {
            if (n == rounds) {
                for (auto& thread : posterThreads) thread.join();
                // Posted after every poster's calls: runs after them.
                pool.forEach([](twine::Reactor&) {}).addCallback([&] {
                    finished = true;
                    pool.stop();
                });
                return;
            }
            pool.forEach([&](twine::Reactor& reactor) {
                    const std::size_t w = indexOf(pool, reactor);
                    if (std::this_thread::get_id() != threadOf[w]) wrongThread[w] = true;
                    ++forEachRuns[w];
                })
                .addCallback([&round, n] { round(n + 1); });
        };
        pool.forEach([&](twine::Reactor& reactor) {
                threadOf[indexOf(pool, reactor)] = std::this_thread::get_id();
            })
            .addCallback([&] {
                for (int p = 0; p < posters; ++p) {
                    posterThreads.emplace_back([&, p] {
                        for (int i = 0; i < callsPerPoster; ++i) {
                            for (std::size_t w = 0; w < workers; ++w) {
                                pool.reactor(w).callFromThread([&, w, p, i] {
                                    if (std::this_thread::get_id() != threadOf[w]) {
                                        wrongThread[w] = true;
                                    }
                                    seen[w * posters + static_cast<std::size_t>(p)].push_back(i);
                                });
                            }
                        }
                    });
                }
                round(0);
            });
        pool.run();
        for (auto& thread : posterThreads) {
            if (thread.joinable()) thread.join();  // only when the test timed out
        }
    }
    CHECK(finished);
    for (std::size_t w = 0; w < workers; ++w) {
        CAPTURE(w);
        CHECK(forEachRuns[w] == rounds);
        CHECK_FALSE(wrongThread[w]);
        for (int p = 0; p < posters; ++p) {
            const auto& calls = seen[w * posters + static_cast<std::size_t>(p)];
            REQUIRE(calls.size() == callsPerPoster);
            bool inOrder = true;
            for (int i = 0; i < callsPerPoster; ++i) inOrder = inOrder && calls[i] == i;
            CHECK(inOrder);
        }
    }
}

TEST_CASE("an exception escaping a worker's callback is reported, and the worker goes on") {
    twine::ReactorPool pool(2);
    failAfter(pool.mainReactor(), 20s);
    std::optional<std::string> error;
    std::atomic<int> after{0};
    pool.forEach([&](twine::Reactor& reactor) {
            if (&reactor == &pool.reactor(1)) throw std::runtime_error("worker 1 broke");
        })
        .addErrback([&](const twine::Failure& failure) { error = failure.what(); })
        .addCallback([&] {
            pool.reactor(1).callFromThread([] { throw std::runtime_error("again"); });
            return pool.forEach([&](twine::Reactor&) { ++after; });
        })
        .addCallback([&] { pool.stop(); });
    pool.run();
    REQUIRE(error.has_value());
    CHECK(*error == "worker 1 broke");
    CHECK(after == 2);
}

TEST_CASE("a listen that fails on one worker fails for all, naming the worker") {
    twine::ReactorPool pool(3);
    failAfter(pool.mainReactor(), 20s);
    std::optional<std::string> error;
    std::atomic<int> factories{0};
    std::atomic<int> stopped{0};
    class Stopping final : public twine::ServerFactory {
    public:
        explicit Stopping(std::atomic<int>& stopped) : stopped_(stopped) {}
        void stopFactory() override { ++stopped_; }

    private:
        std::atomic<int>& stopped_;
    };
    pool.listen("tcp:0:interface=127.0.0.1",
                [&](twine::Reactor& reactor) -> std::shared_ptr<twine::Factory> {
                    if (&reactor == &pool.reactor(2)) throw std::runtime_error("no factory here");
                    ++factories;
                    return std::make_shared<Stopping>(stopped);
                })
        .addCallbacks([&](const std::shared_ptr<twine::Port>&) { pool.stop(); },
                      [&](const twine::Failure& failure) {
                          CHECK(failure.check<twine::CannotListenError>());
                          error = failure.what();
                          pool.stop();
                      });
    pool.run();
    REQUIRE(error.has_value());
    CHECK(error->find("worker 2") != std::string::npos);
    CHECK(error->find("no factory here") != std::string::npos);
    CHECK(factories == 2);
    CHECK(stopped == 2);  // the workers that did start stop again
}

TEST_CASE("a pool cannot listen on a port in use, nor on a datagram endpoint") {
    twine::ReactorPool pool(2);
    int taken = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    REQUIRE(::bind(taken, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(taken, 1) == 0);
    socklen_t length = sizeof address;
    ::getsockname(taken, reinterpret_cast<sockaddr*>(&address), &length);
    const std::string inUse =
        "tcp:" + std::to_string(ntohs(address.sin_port)) + ":interface=127.0.0.1";
    std::vector<std::string> errors;
    auto record = [&](const twine::Failure& failure) {
        CHECK(failure.check<twine::CannotListenError>());
        errors.push_back(failure.what());
    };
    auto echo = [] { return twine::ServerFactory::forProtocol<twine::Echo>(); };
    pool.listen(inUse, echo).addErrback(record);
    pool.listen("udp:0", echo).addErrback(record);
    ::close(taken);
    REQUIRE(errors.size() == 2);  // failed at once, before run()
    CHECK(errors[0].find("in use") != std::string::npos);
    CHECK(errors[1].find("stream endpoints only") != std::string::npos);
    std::optional<std::string> malformed;
    pool.listen("tcp:notaport", echo).addErrback([&](const twine::Failure& failure) {
        CHECK(failure.check<std::invalid_argument>());
        malformed = failure.what();
    });
    CHECK(malformed.has_value());
}

TEST_CASE("a pool serves a Unix socket endpoint, each worker its share") {
    twine::testing::TempDir dir("twine-pool");
    const std::string path = dir.file("echo.sock");
    WorkerCounts counts;
    int replies = 0;
    std::thread client;
    {
        twine::ReactorPool pool(2);
        failAfter(pool.mainReactor(), 30s);
        pool.listen("unix:" + path, countingFactories(pool, counts))
            .addCallbacks(
                [&](const std::shared_ptr<twine::Port>&) {
                    client = std::thread([&] {
                        for (int i = 0; i < 10; ++i) {
                            int fd = pool_test::connectUNIX(path);
                            if (fd >= 0 && pool_test::echoOnce(fd, "over unix") == Outcome::reply) {
                                ++replies;
                            }
                            if (fd >= 0) ::close(fd);
                        }
                        pool.stop();
                    });
                },
                [&](const twine::Failure& failure) {
                    FAIL_CHECK(failure.what());
                    pool.stop();
                });
        pool.run();
        if (client.joinable()) client.join();
    }
    CHECK(replies == 10);
    CHECK(counts.connections[0] == 5);
    CHECK(counts.connections[1] == 5);
}

TEST_CASE("ReactorPool(0) makes one worker per CPU the process may use") {
    twine::ReactorPool pool(0);
    CHECK(pool.size() == twine::ReactorPool::availableCpus());
    CHECK(pool.size() >= 1);
    CHECK_THROWS_AS(pool.reactor(pool.size()), std::out_of_range);
}

TEST_CASE("stop() before run() makes run() return once everything has stopped") {
    twine::ReactorPool pool(2);
    WorkerCounts counts;
    bool listened = false;
    pool.listen("tcp:0:interface=127.0.0.1", countingFactories(pool, counts))
        .addCallback([&](const std::shared_ptr<twine::Port>&) { listened = true; });
    pool.stop();
    failAfter(pool.mainReactor(), 20s);
    pool.run();
    CHECK_THROWS_AS(pool.run(), twine::ReactorNotRestartable);
    // The set-up was posted to each worker before the stop was.
    CHECK(listened);
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(counts.started[i] == 1);
        CHECK(counts.stopped[i] == 1);
    }
}
