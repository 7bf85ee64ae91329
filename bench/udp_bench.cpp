// twine's side of the UDP benchmark, and its load generator.
//
//   udp_bench server --port PORT [--interface 127.0.0.1] [--idle-ms 1000]
//       twine's DatagramEcho (rate limiting off): prints "ready", echoes until
//       no datagram came for idle-ms after the first, then prints
//       "server datagrams=N seconds=T rate=R" (first to last datagram), the
//       same line as bench/udp_floor.
//   udp_bench load --port PORT --mode pingpong|flood [--count N] [--seconds S] [--size B]
//       pingpong: one datagram in flight, the next sent when its echo is back;
//       prints "pingpong roundtrips=N seconds=T rate=R lost=L".
//       flood: sends as fast as sendmmsg allows, never reads (the server's
//       line gives the rate it kept up); prints "flood sent=N seconds=T rate=R".
//
// The load generator uses plain sockets, so it costs the same whichever
// server it drives. bench/udp_bench.sh runs both servers against it.

#include <twine/core/reactor.hpp>
#include <twine/protocols/datagram_echo.hpp>
#include <twine/transports/udp_port.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct Options {
    std::string command;
    std::string interface = "127.0.0.1";
    std::uint16_t port = 0;
    std::string mode = "pingpong";
    std::uint64_t count = 200000;
    double seconds = 5;
    std::size_t size = 64;
    long idleMs = 1000;
};

[[noreturn]] void usage(const char* problem) {
    std::fprintf(stderr,
                 "udp_bench: %s\n"
                 "usage: udp_bench server --port PORT [--interface ADDR] [--idle-ms MS]\n"
                 "       udp_bench load --port PORT --mode pingpong|flood [--count N]"
                 " [--seconds S] [--size B] [--interface ADDR]\n",
                 problem);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    if (argc < 2) usage("a command is required");
    Options options;
    options.command = argv[1];
    std::map<std::string, std::string> values;
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc) usage("every option takes a value");
        values[argv[i]] = argv[i + 1];
    }
    for (const auto& [name, value] : values) {
        if (name == "--port") {
            const long port = std::strtol(value.c_str(), nullptr, 10);
            if (port <= 0 || port > 65535) usage("--port must be 1 to 65535");
            options.port = static_cast<std::uint16_t>(port);
        } else if (name == "--interface") {
            options.interface = value;
        } else if (name == "--mode") {
            options.mode = value;
        } else if (name == "--count") {
            options.count = std::strtoull(value.c_str(), nullptr, 10);
        } else if (name == "--seconds") {
            options.seconds = std::strtod(value.c_str(), nullptr);
        } else if (name == "--size") {
            options.size = std::strtoul(value.c_str(), nullptr, 10);
        } else if (name == "--idle-ms") {
            options.idleMs = std::strtol(value.c_str(), nullptr, 10);
        } else {
            usage(("unknown option " + name).c_str());
        }
    }
    if (options.port == 0) usage("--port is required");
    if (options.size == 0 || options.size > 65507) usage("--size must be 1 to 65507");
    if (options.count == 0 || options.seconds <= 0) usage("--count and --seconds must be > 0");
    return options;
}

// --- Server ---------------------------------------------------------------------

/// The echo under test, counting as the floor does (one clock read a datagram).
class CountingEcho : public twine::DatagramEcho {
public:
    using DatagramEcho::DatagramEcho;
    void datagramReceived(std::string_view data, const twine::Address& from) override {
        const Clock::time_point now = Clock::now();
        if (datagrams++ == 0) first = now;
        last = now;
        DatagramEcho::datagramReceived(data, from);
    }
    std::uint64_t datagrams = 0;
    Clock::time_point first, last;
};

int runServer(const Options& options) {
    twine::Reactor reactor;
    auto echo =
        std::make_shared<CountingEcho>(reactor, twine::DatagramEchoLimits{.ratePerSecond = 0});
    reactor.listenUDP(options.port, echo, {.interface = options.interface});
    const auto idle = std::chrono::milliseconds(options.idleMs);
    std::function<void()> check = [&] {
        if (echo->datagrams > 0 && Clock::now() - echo->last > idle) {
            reactor.stop();
            return;
        }
        reactor.callLater(100ms, check);
    };
    reactor.callLater(100ms, check);
    std::printf("ready\n");
    std::fflush(stdout);
    reactor.run();
    const double seconds = std::chrono::duration<double>(echo->last - echo->first).count();
    std::printf("server datagrams=%llu seconds=%.6f rate=%.0f\n",
                static_cast<unsigned long long>(echo->datagrams), seconds,
                seconds > 0 ? static_cast<double>(echo->datagrams) / seconds : 0.0);
    return 0;
}

// --- Load -----------------------------------------------------------------------

int connectedSocket(const Options& options) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(options.port);
    if (inet_pton(AF_INET, options.interface.c_str(), &to.sin_addr) != 1) {
        usage("load: --interface must be an IPv4 address");
    }
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
        std::perror("udp_bench load: socket/connect");
        std::exit(1);
    }
    return fd;
}

double secondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

int runPingPong(const Options& options) {
    const int fd = connectedSocket(options);
    std::vector<char> out(options.size, 'p');
    std::vector<char> in(65536);
    std::uint64_t roundTrips = 0;
    std::uint64_t lost = 0;
    const Clock::time_point start = Clock::now();
    while (roundTrips < options.count && secondsSince(start) < options.seconds) {
        std::memcpy(out.data(), &roundTrips, std::min(sizeof roundTrips, out.size()));
        if (::send(fd, out.data(), out.size(), 0) < 0) {
            ++lost;  // refused (server not up yet) or dropped: try again
            ::usleep(1000);
            continue;
        }
        pollfd wait{fd, POLLIN, 0};
        if (::poll(&wait, 1, 200) <= 0) {
            ++lost;
            continue;
        }
        if (::recv(fd, in.data(), in.size(), 0) == static_cast<ssize_t>(out.size())) {
            ++roundTrips;
        }
    }
    const double seconds = secondsSince(start);
    std::printf("pingpong roundtrips=%llu seconds=%.6f rate=%.0f lost=%llu\n",
                static_cast<unsigned long long>(roundTrips), seconds,
                static_cast<double>(roundTrips) / seconds, static_cast<unsigned long long>(lost));
    ::close(fd);
    return roundTrips > 0 ? 0 : 1;
}

int runFlood(const Options& options) {
    const int fd = connectedSocket(options);
    constexpr std::size_t batch = 64;
    std::vector<char> out(options.size, 'f');
    iovec iov{out.data(), out.size()};
    std::vector<mmsghdr> messages(batch);
    for (mmsghdr& message : messages) {
        message = {};
        message.msg_hdr.msg_iov = &iov;
        message.msg_hdr.msg_iovlen = 1;
    }
    std::uint64_t sent = 0;
    const Clock::time_point start = Clock::now();
    while (sent < options.count && secondsSince(start) < options.seconds) {
        const auto n = static_cast<unsigned>(std::min<std::uint64_t>(batch, options.count - sent));
        const int rc = ::sendmmsg(fd, messages.data(), n, 0);
        if (rc > 0) sent += static_cast<std::uint64_t>(rc);
    }
    const double seconds = secondsSince(start);
    std::printf("flood sent=%llu seconds=%.6f rate=%.0f\n", static_cast<unsigned long long>(sent),
                seconds, static_cast<double>(sent) / seconds);
    ::close(fd);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse(argc, argv);
    if (options.command == "server") return runServer(options);
    if (options.command != "load") usage("the command is server or load");
    if (options.mode == "pingpong") return runPingPong(options);
    if (options.mode == "flood") return runFlood(options);
    usage("--mode is pingpong or flood");
}
