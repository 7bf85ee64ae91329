#pragma once

#include <twine/core/address.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace twine {

/// What a PROXY protocol header (HAProxy's, versions 1 and 2) says about the
/// connection a load balancer forwards: who the client is and which address
/// it connected to.
struct ProxyHeader {
    int version = 0;  ///< 1 (text) or 2 (binary)
    /// A connection the balancer made on its own behalf (v2 LOCAL, such as a
    /// health check) or for a protocol it cannot describe (v1 UNKNOWN, v2
    /// family UNSPEC): it carries no addresses, and the socket's own apply.
    bool local = false;
    Address source;       ///< the client, as the balancer saw it
    Address destination;  ///< the address the client connected to

    /// Every field equal.
    friend bool operator==(const ProxyHeader&, const ProxyHeader&) = default;
};

/// The outcome of looking for a header at the start of a connection's bytes.
struct ProxyHeaderParse {
    /// Where the parse stands.
    enum class Status {
        incomplete,  ///< a valid header so far: wait for more bytes
        complete,    ///< `header` holds it and it is `length` bytes long
        invalid,     ///< `error` says why; the connection should be closed
    };
    Status status = Status::incomplete;  ///< The outcome.
    ProxyHeader header;                  ///< When complete: what the header says.
    std::size_t length = 0;              ///< When complete: the header's bytes.
    std::string error;                   ///< When invalid: why, for the log.
};

/// A version 1 header is at most this long, CRLF included (the spec's limit).
inline constexpr std::size_t proxyV1MaxLength = 107;
/// The fixed part of a version 2 header: signature, command, family, length.
inline constexpr std::size_t proxyV2FixedLength = 16;
/// The default limit on a version 2 header's variable part (addresses and
/// TLVs): the largest address block (Unix, 216 bytes) with room for the TLVs
/// balancers send (ALPN, authority, SSL details, cloud endpoint ids).
inline constexpr std::size_t proxyV2DefaultMaxLength = 4096;

/// Parses the header at the start of `received` (every byte the peer has sent
/// so far), detecting the version from the first bytes. Never reads past the
/// header; a header that is not yet complete but already wrong is reported
/// invalid at once, so a peer cannot make the caller wait on garbage. A v2
/// header whose variable part is longer than `maxV2Length` is invalid. TLVs
/// are skipped (checked only to lie within the header).
ProxyHeaderParse parseProxyHeader(std::string_view received,
                                  std::size_t maxV2Length = proxyV2DefaultMaxLength);

/// The header as a version 1 line: "PROXY TCP4 src dst sport dport\r\n", or
/// "PROXY UNKNOWN\r\n" for a local header. Throws std::invalid_argument for
/// addresses version 1 cannot carry (Unix sockets, mixed families).
std::string formatProxyHeaderV1(const ProxyHeader& header);

/// The header in version 2's binary form (PROXY over STREAM, or LOCAL),
/// with no TLVs. Throws std::invalid_argument for mixed address families.
std::string formatProxyHeaderV2(const ProxyHeader& header);

}  // namespace twine
