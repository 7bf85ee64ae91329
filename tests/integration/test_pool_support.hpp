#pragma once

// Shared by the ReactorPool tests: blocking loopback clients (each read and
// write bounded by a socket timeout) and the accept queue length of a
// listening port, read from /proc/net/tcp.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace pool_test {

enum class Outcome { reply, cleanClose, reset, timeout, failed };

inline const char* name(Outcome outcome) {
    switch (outcome) {
        case Outcome::reply:
            return "reply";
        case Outcome::cleanClose:
            return "clean close";
        case Outcome::reset:
            return "reset";
        case Outcome::timeout:
            return "timeout";
        case Outcome::failed:
            return "failed";
    }
    return "?";
}

inline void boundWaits(int fd, int seconds) {
    timeval limit{seconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
}

/// A blocking TCP connection to 127.0.0.1:port (from `source`, if given),
/// or -1. Every later read and write gives up after `seconds`.
inline int connectTCP(std::uint16_t port, int seconds = 20, const char* source = nullptr,
                      int receiveBuffer = 0) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    boundWaits(fd, seconds);
    if (receiveBuffer > 0) {
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, sizeof receiveBuffer);
    }
    if (source != nullptr) {
        sockaddr_in local{};
        local.sin_family = AF_INET;
        ::inet_pton(AF_INET, source, &local.sin_addr);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
            ::close(fd);
            return -1;
        }
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

inline int connectUNIX(const std::string& path, int seconds = 20) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    boundWaits(fd, seconds);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

inline bool sendAll(int fd, const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
        ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        sent += static_cast<std::size_t>(n);
    }
    return true;
}

/// Reads exactly `size` bytes into `out`, or says why not.
inline Outcome readExactly(int fd, std::size_t size, std::string& out) {
    out.clear();
    char buffer[65536];
    while (out.size() < size) {
        ssize_t n = ::recv(fd, buffer, std::min(sizeof buffer, size - out.size()), 0);
        if (n > 0) {
            out.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0) {
            return Outcome::cleanClose;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == ECONNRESET) {
            return Outcome::reset;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return Outcome::timeout;
        } else {
            return Outcome::failed;
        }
    }
    return Outcome::reply;
}

/// One request, its echo, and how the connection ended.
inline Outcome echoOnce(int fd, const std::string& request) {
    if (!sendAll(fd, request)) return Outcome::failed;
    std::string reply;
    Outcome outcome = readExactly(fd, request.size(), reply);
    if (outcome == Outcome::reply && reply != request) return Outcome::failed;
    return outcome;
}

/// The connections waiting in the accept queue of the IPv4 socket
/// listening on `port` (the rx_queue column of /proc/net/tcp), or -1.
inline long acceptQueueLength(std::uint16_t port) {
    std::ifstream table("/proc/net/tcp");
    std::string line;
    std::getline(table, line);  // the header
    char wanted[8];
    std::snprintf(wanted, sizeof wanted, ":%04X", port);
    while (std::getline(table, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, state, queues;
        fields >> slot >> local >> remote >> state >> queues;
        if (state != "0A" || local.size() < 5 || local.substr(local.size() - 5) != wanted) {
            continue;
        }
        return std::stol(queues.substr(queues.find(':') + 1), nullptr, 16);
    }
    return -1;
}

}  // namespace pool_test
