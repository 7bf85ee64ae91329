#include <twine/transports/proxy_header.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace twine {
namespace {

using Status = ProxyHeaderParse::Status;

constexpr std::string_view v1Prefix = "PROXY ";
constexpr std::string_view v2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};

// v2 byte 13: the version in the high nibble, the command in the low one.
constexpr unsigned char v2Local = 0x20;
constexpr unsigned char v2Proxy = 0x21;
// v2 byte 14: the address family in the high nibble, the transport in the low.
enum Family : unsigned char { familyUnspec = 0, familyInet = 1, familyInet6 = 2, familyUnix = 3 };
constexpr unsigned char streamTransport = 1;
constexpr unsigned char datagramTransport = 2;

constexpr std::size_t inetBlock = 4 + 4 + 2 + 2;
constexpr std::size_t inet6Block = 16 + 16 + 2 + 2;
constexpr std::size_t unixPathBytes = 108;
constexpr std::size_t unixBlock = 2 * unixPathBytes;

ProxyHeaderParse incomplete() {
    return {};
}

ProxyHeaderParse invalid(std::string error) {
    ProxyHeaderParse parse;
    parse.status = Status::invalid;
    parse.error = std::move(error);
    return parse;
}

ProxyHeaderParse complete(ProxyHeader header, std::size_t length) {
    ProxyHeaderParse parse;
    parse.status = Status::complete;
    parse.header = std::move(header);
    parse.length = length;
    return parse;
}

// Whether `received` is a prefix of `expected`, or the other way round.
bool agreesWith(std::string_view received, std::string_view expected) {
    const std::size_t n = std::min(received.size(), expected.size());
    return received.substr(0, n) == expected.substr(0, n);
}

// ---------------------------------------------------------------------------
// Version 1: "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n".

std::vector<std::string_view> splitOnSpaces(std::string_view line) {
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    while (true) {
        const std::size_t space = line.find(' ', start);
        fields.push_back(line.substr(start, space - start));
        if (space == std::string_view::npos) return fields;
        start = space + 1;
    }
}

// A port as the spec writes it: decimal, 0..65535, no sign or leading zero.
bool parsePort(std::string_view text, std::uint16_t& port) {
    if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return false;
    unsigned value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value > 65535) return false;
    port = static_cast<std::uint16_t>(value);
    return true;
}

// A numeric address of the given family, in the canonical text the kernel's
// addresses use (so getPeer() compares equal either way).
bool parseHost(std::string_view text, int family, std::uint16_t port, Address& address) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return false;
    const std::string host(text);
    sockaddr_storage storage{};
    if (family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        if (inet_pton(AF_INET, host.c_str(), &in->sin_addr) != 1) return false;
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) != 1) return false;
    }
    address = Address::fromSockaddr(reinterpret_cast<const sockaddr*>(&storage));
    return true;
}

ProxyHeaderParse parseV1Line(std::string_view line, std::size_t length) {
    ProxyHeader header;
    header.version = 1;
    std::vector<std::string_view> fields = splitOnSpaces(line);
    // fields[0] is "PROXY".
    if (fields.size() >= 2 && fields[1] == "UNKNOWN") {
        header.local = true;  // the rest of the line is to be ignored
        return complete(std::move(header), length);
    }
    if (fields.size() < 2 || (fields[1] != "TCP4" && fields[1] != "TCP6")) {
        return invalid("PROXY v1: unknown protocol (expected TCP4, TCP6 or UNKNOWN)");
    }
    if (fields.size() != 6) {
        return invalid("PROXY v1: expected 'PROXY " + std::string(fields[1]) +
                       " source destination sourcePort destinationPort'");
    }
    const int family = fields[1] == "TCP4" ? AF_INET : AF_INET6;
    std::uint16_t sourcePort = 0;
    std::uint16_t destinationPort = 0;
    if (!parsePort(fields[4], sourcePort) || !parsePort(fields[5], destinationPort)) {
        return invalid("PROXY v1: a port is not a number from 0 to 65535");
    }
    if (!parseHost(fields[2], family, sourcePort, header.source) ||
        !parseHost(fields[3], family, destinationPort, header.destination)) {
        return invalid("PROXY v1: an address is not a valid " + std::string(fields[1]) +
                       " address");
    }
    return complete(std::move(header), length);
}

ProxyHeaderParse parseV1(std::string_view received) {
    const std::size_t searched = std::min(received.size(), proxyV1MaxLength);
    const std::size_t newline = received.substr(0, searched).find('\n');
    if (newline == std::string_view::npos) {
        if (searched == proxyV1MaxLength) {
            return invalid("PROXY v1: no CRLF within 107 bytes (header too long)");
        }
        return incomplete();
    }
    if (newline == 0 || received[newline - 1] != '\r') {
        return invalid("PROXY v1: the line must end with CRLF");
    }
    std::string_view line = received.substr(0, newline - 1);
    if (line.find('\r') != std::string_view::npos || line.find('\0') != std::string_view::npos) {
        return invalid("PROXY v1: control characters in the line");
    }
    return parseV1Line(line, newline + 1);
}

// ---------------------------------------------------------------------------
// Version 2: signature, command, family, length, address block, TLVs.

std::uint16_t readU16(const unsigned char* bytes) {
    return static_cast<std::uint16_t>((bytes[0] << 8) | bytes[1]);
}

Address inetAddress(const unsigned char* address, const unsigned char* port) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    std::memcpy(&in.sin_addr, address, 4);
    std::memcpy(&in.sin_port, port, 2);
    return Address::fromSockaddr(reinterpret_cast<const sockaddr*>(&in));
}

Address inet6Address(const unsigned char* address, const unsigned char* port) {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    std::memcpy(&in6.sin6_addr, address, 16);
    std::memcpy(&in6.sin6_port, port, 2);
    return Address::fromSockaddr(reinterpret_cast<const sockaddr*>(&in6));
}

Address unixAddress(const unsigned char* path) {
    const char* text = reinterpret_cast<const char*>(path);
    return Address::unixPath(std::string(text, strnlen(text, unixPathBytes)));
}

// The TLVs (type, 16-bit length, value) must tile the rest of the header.
bool tlvsFit(const unsigned char* tlvs, std::size_t size) {
    std::size_t at = 0;
    while (at < size) {
        if (size - at < 3) return false;
        const std::size_t valueLength = readU16(tlvs + at + 1);
        at += 3;
        if (valueLength > size - at) return false;
        at += valueLength;
    }
    return true;
}

// The addresses of a PROXY command, from a block known to hold `needed` bytes.
void readAddresses(unsigned char family, const unsigned char* block, ProxyHeader& header) {
    switch (family) {
        case familyInet:
            header.source = inetAddress(block, block + 8);
            header.destination = inetAddress(block + 4, block + 10);
            return;
        case familyInet6:
            header.source = inet6Address(block, block + 32);
            header.destination = inet6Address(block + 16, block + 34);
            return;
        case familyUnix:
            header.source = unixAddress(block);
            header.destination = unixAddress(block + unixPathBytes);
            return;
        default:
            header.local = true;  // UNSPEC: the socket's own addresses apply
    }
}

std::size_t addressBlockSize(unsigned char family) {
    switch (family) {
        case familyInet:
            return inetBlock;
        case familyInet6:
            return inet6Block;
        case familyUnix:
            return unixBlock;
        default:
            return 0;
    }
}

ProxyHeaderParse parseV2(std::string_view received, std::size_t maxV2Length) {
    if (received.size() < proxyV2FixedLength) return incomplete();
    const auto* bytes = reinterpret_cast<const unsigned char*>(received.data());
    const unsigned char command = bytes[12];
    const unsigned char family = bytes[13] >> 4;
    const unsigned char transport = bytes[13] & 0x0f;
    const std::size_t length = readU16(bytes + 14);
    if ((command & 0xf0) != 0x20) return invalid("PROXY v2: unsupported version");
    if (command != v2Local && command != v2Proxy) return invalid("PROXY v2: unknown command");
    if (family > familyUnix || transport > datagramTransport) {
        return invalid("PROXY v2: unknown address family or transport");
    }
    if (length > maxV2Length) {
        return invalid("PROXY v2: header of " + std::to_string(length) +
                       " bytes is over the limit of " + std::to_string(maxV2Length));
    }
    const std::size_t needed = addressBlockSize(family);
    if (command == v2Proxy && length < needed) {
        return invalid("PROXY v2: the address block is shorter than its family needs");
    }
    if (received.size() < proxyV2FixedLength + length) return incomplete();

    ProxyHeader header;
    header.version = 2;
    const unsigned char* block = bytes + proxyV2FixedLength;
    if (command == v2Local) {
        header.local = true;  // ignore the block, whatever it says
    } else {
        readAddresses(family, block, header);
        if (!header.local && transport != streamTransport) {
            return invalid("PROXY v2: a datagram header on a stream connection");
        }
        if (!tlvsFit(block + needed, length - needed)) {
            return invalid("PROXY v2: a TLV runs past the end of the header");
        }
    }
    return complete(std::move(header), proxyV2FixedLength + length);
}

// ---------------------------------------------------------------------------
// Formatting (for clients, tests and load generators).

bool sameFamily(const ProxyHeader& header, Address::Family family) {
    return header.source.family() == family && header.destination.family() == family;
}

void appendU16(std::string& out, std::uint16_t value) {
    out += static_cast<char>(value >> 8);
    out += static_cast<char>(value & 0xff);
}

void appendIp(std::string& out, const Address& address, int family) {
    std::array<unsigned char, 16> bytes{};
    if (inet_pton(family, address.host().c_str(), bytes.data()) != 1) {
        throw std::invalid_argument("PROXY header: not an IP address: " + address.host());
    }
    out.append(reinterpret_cast<const char*>(bytes.data()), family == AF_INET ? 4 : 16);
}

void appendUnixPath(std::string& out, const Address& address) {
    if (address.path().size() >= unixPathBytes) {
        throw std::invalid_argument("PROXY header: Unix socket path too long");
    }
    std::string path = address.path();
    path.resize(unixPathBytes, '\0');
    out += path;
}

}  // namespace

ProxyHeaderParse parseProxyHeader(std::string_view received, std::size_t maxV2Length) {
    if (received.empty()) return incomplete();
    if (received[0] == 'P') {
        if (!agreesWith(received, v1Prefix)) return invalid("not a PROXY protocol header");
        return received.size() < v1Prefix.size() ? incomplete() : parseV1(received);
    }
    if (!agreesWith(received, v2Signature)) return invalid("not a PROXY protocol header");
    return parseV2(received, maxV2Length);
}

std::string formatProxyHeaderV1(const ProxyHeader& header) {
    if (header.local) return "PROXY UNKNOWN\r\n";
    const char* protocol = nullptr;
    if (sameFamily(header, Address::Family::ipv4)) protocol = "TCP4";
    if (sameFamily(header, Address::Family::ipv6)) protocol = "TCP6";
    if (protocol == nullptr) {
        throw std::invalid_argument("PROXY v1 carries only IPv4 or IPv6 address pairs");
    }
    return std::string("PROXY ") + protocol + " " + header.source.host() + " " +
           header.destination.host() + " " + std::to_string(header.source.port()) + " " +
           std::to_string(header.destination.port()) + "\r\n";
}

std::string formatProxyHeaderV2(const ProxyHeader& header) {
    std::string out(v2Signature);
    std::string block;
    unsigned char family = familyUnspec;
    if (!header.local) {
        if (sameFamily(header, Address::Family::ipv4) ||
            sameFamily(header, Address::Family::ipv6)) {
            const int af = header.source.family() == Address::Family::ipv4 ? AF_INET : AF_INET6;
            family = af == AF_INET ? familyInet : familyInet6;
            appendIp(block, header.source, af);
            appendIp(block, header.destination, af);
            appendU16(block, header.source.port());
            appendU16(block, header.destination.port());
        } else if (sameFamily(header, Address::Family::unixSocket)) {
            family = familyUnix;
            appendUnixPath(block, header.source);
            appendUnixPath(block, header.destination);
        } else {
            throw std::invalid_argument("PROXY v2: the two addresses differ in family");
        }
    }
    out += static_cast<char>(header.local ? v2Local : v2Proxy);
    out += static_cast<char>(header.local ? 0 : (family << 4) | streamTransport);
    appendU16(out, static_cast<std::uint16_t>(block.size()));
    return out + block;
}

}  // namespace twine
