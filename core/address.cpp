#include <twine/core/address.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>

namespace twine {

Address Address::ipv4(std::string host, std::uint16_t port) {
    return Address(Family::ipv4, std::move(host), port);
}

Address Address::ipv6(std::string host, std::uint16_t port) {
    return Address(Family::ipv6, std::move(host), port);
}

Address Address::unixPath(std::string path) {
    return Address(Family::unixSocket, std::move(path), 0);
}

Address Address::fromIp(const std::string& host, std::uint16_t port) {
    in_addr v4{};
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return ipv4(host, port);
    in6_addr v6{};
    if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return ipv6(host, port);
    return Address();
}

Address Address::fromSockaddr(const sockaddr* address, unsigned length) {
    if (address == nullptr) return Address();
    char text[INET6_ADDRSTRLEN] = {};
    switch (address->sa_family) {
        case AF_INET: {
            const auto* in = reinterpret_cast<const sockaddr_in*>(address);
            inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
            return ipv4(text, ntohs(in->sin_port));
        }
        case AF_INET6: {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
            inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
            return ipv6(text, ntohs(in6->sin6_port));
        }
        case AF_UNIX: {
            const auto* un = reinterpret_cast<const sockaddr_un*>(address);
            const unsigned offset = offsetof(sockaddr_un, sun_path);
            if (length != 0 && length <= offset) return unixPath("");
            std::size_t size = length != 0 ? length - offset : std::strlen(un->sun_path);
            if (size > 0 && un->sun_path[0] == '\0') {
                std::string name(size, '@');  // '@' then the abstract name's bytes
                name.replace(1, size - 1, un->sun_path + 1, size - 1);
                return unixPath(std::move(name));
            }
            return unixPath(std::string(un->sun_path, strnlen(un->sun_path, size)));
        }
        default:
            return Address();
    }
}

unsigned Address::toSockaddr(sockaddr_storage& out) const {
    std::memset(&out, 0, sizeof out);
    switch (family_) {
        case Family::ipv4: {
            auto* in = reinterpret_cast<sockaddr_in*>(&out);
            in->sin_family = AF_INET;
            in->sin_port = htons(port_);
            return inet_pton(AF_INET, host_.c_str(), &in->sin_addr) == 1 ? sizeof(sockaddr_in) : 0;
        }
        case Family::ipv6: {
            auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons(port_);
            return inet_pton(AF_INET6, host_.c_str(), &in6->sin6_addr) == 1 ? sizeof(sockaddr_in6)
                                                                            : 0;
        }
        case Family::unixSocket: {
            auto* un = reinterpret_cast<sockaddr_un*>(&out);
            un->sun_family = AF_UNIX;
            if (host_.size() >= sizeof un->sun_path) return 0;
            std::memcpy(un->sun_path, host_.data(), host_.size());
            const unsigned offset = offsetof(sockaddr_un, sun_path);
            if (!host_.empty() && host_[0] == '@') {
                un->sun_path[0] = '\0';  // Linux abstract namespace
                return offset + host_.size();
            }
            return offset + host_.size() + 1;
        }
        case Family::none:
            return 0;
    }
    return 0;
}

std::string Address::toString() const {
    switch (family_) {
        case Family::ipv4:
            return host_ + ":" + std::to_string(port_);
        case Family::ipv6:
            return "[" + host_ + "]:" + std::to_string(port_);
        case Family::unixSocket:
            return "unix:" + host_;
        case Family::none:
            return "(none)";
    }
    return "(none)";
}

}  // namespace twine
