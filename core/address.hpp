#pragma once

#include <cstdint>
#include <string>

struct sockaddr;
struct sockaddr_storage;

namespace twine {

/// Where a connection or datagram comes from or goes to: an IPv4 or IPv6 host
/// and port, or a Unix socket path (a leading '@' names a Linux abstract
/// socket). Twisted's IPv4Address / IPv6Address / UNIXAddress in one value.
class Address {
public:
    /// What kind of address this is; none for a default-constructed one.
    enum class Family { none, ipv4, ipv6, unixSocket };

    /// An empty address, Family::none (an unknown or unconnected peer).
    Address() = default;
    /// An IPv4 address. `host` is kept as given, not checked: use fromIp to parse.
    static Address ipv4(std::string host, std::uint16_t port);
    /// An IPv6 address, `host` without brackets, kept as given.
    static Address ipv6(std::string host, std::uint16_t port);
    /// A Unix socket path ('@' first for an abstract socket).
    static Address unixPath(std::string path);
    /// Parses a numeric IPv4 or IPv6 literal; Family::none if it is neither.
    static Address fromIp(const std::string& host, std::uint16_t port);
    /// Converts what the kernel reports (getpeername, recvfrom, accept).
    static Address fromSockaddr(const sockaddr* address, unsigned length = 0);

    /// The kind of address.
    Family family() const { return family_; }
    /// IPv4 or IPv6.
    bool isIp() const { return family_ == Family::ipv4 || family_ == Family::ipv6; }
    /// The IP literal, for IP families (the path for Family::unixSocket).
    const std::string& host() const { return host_; }
    /// The port, for IP families; 0 otherwise.
    std::uint16_t port() const { return port_; }
    /// The socket path, for Family::unixSocket.
    const std::string& path() const { return host_; }

    /// Fills `out` for bind/connect/sendto; returns its length, 0 if this
    /// address cannot be expressed as a sockaddr.
    unsigned toSockaddr(sockaddr_storage& out) const;

    /// "127.0.0.1:80", "[::1]:80", "unix:/run/x.sock".
    std::string toString() const;

    /// Same family, host (or path) and port.
    friend bool operator==(const Address&, const Address&) = default;

private:
    Address(Family family, std::string host, std::uint16_t port)
        : family_(family), host_(std::move(host)), port_(port) {}

    Family family_ = Family::none;
    std::string host_;
    std::uint16_t port_ = 0;
};

}  // namespace twine
