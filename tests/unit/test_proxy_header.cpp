#include <twine/transports/proxy_header.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <string_view>

using twine::Address;
using twine::ProxyHeader;
using twine::ProxyHeaderParse;
using Status = ProxyHeaderParse::Status;
using namespace std::string_literals;

namespace {

ProxyHeader tcp4Header() {
    ProxyHeader header;
    header.source = Address::ipv4("192.0.2.10", 56324);
    header.destination = Address::ipv4("198.51.100.1", 443);
    return header;
}

ProxyHeader tcp6Header() {
    ProxyHeader header;
    header.source = Address::ipv6("2001:db8::10", 40000);
    header.destination = Address::ipv6("2001:db8::1", 8080);
    return header;
}

ProxyHeader withVersion(ProxyHeader header, int version) {
    header.version = version;
    return header;
}

// Every proper prefix of a valid header is reported incomplete.
void checkPrefixesIncomplete(std::string_view header) {
    for (std::size_t n = 0; n < header.size(); ++n) {
        INFO("prefix of " << n << " bytes");
        CHECK(twine::parseProxyHeader(header.substr(0, n)).status == Status::incomplete);
    }
}

std::string invalidReason(std::string_view received) {
    ProxyHeaderParse parse = twine::parseProxyHeader(received);
    REQUIRE(parse.status == Status::invalid);
    return parse.error;
}

// A v2 header with the given command, family byte and body.
std::string v2(unsigned char command, unsigned char family, std::string body) {
    std::string header("\r\n\r\n\0\r\nQUIT\n", 12);
    header += static_cast<char>(command);
    header += static_cast<char>(family);
    header += static_cast<char>(body.size() >> 8);
    header += static_cast<char>(body.size() & 0xff);
    return header + body;
}

std::string tlv(unsigned char type, std::string value) {
    std::string out;
    out += static_cast<char>(type);
    out += static_cast<char>(value.size() >> 8);
    out += static_cast<char>(value.size() & 0xff);
    return out + value;
}

}  // namespace

TEST_CASE("PROXY v1: TCP4 and TCP6 give the client's and the destination's addresses") {
    const std::string line = "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n";
    ProxyHeaderParse parse = twine::parseProxyHeader(line + "GET / HTTP/1.0\r\n");
    REQUIRE(parse.status == Status::complete);
    CHECK(parse.length == line.size());  // the payload after it is not part of it
    CHECK(parse.header == withVersion(tcp4Header(), 1));

    // IPv6 in any spelling comes back in the kernel's canonical form.
    parse = twine::parseProxyHeader("PROXY TCP6 2001:DB8:0::10 2001:db8::1 40000 8080\r\n");
    REQUIRE(parse.status == Status::complete);
    CHECK(parse.header == withVersion(tcp6Header(), 1));
}

TEST_CASE("PROXY v1: UNKNOWN is a local connection, whatever follows it on the line") {
    for (std::string line : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff:f...f:ffff 1 2 3\r\n"}) {
        ProxyHeaderParse parse = twine::parseProxyHeader(line);
        REQUIRE(parse.status == Status::complete);
        CHECK(parse.header.local);
        CHECK(parse.length == line.size());
    }
}

TEST_CASE("PROXY v1: a header split anywhere waits for the rest") {
    checkPrefixesIncomplete("PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n");
}

TEST_CASE("PROXY v1: the longest line is 107 bytes, CRLF included") {
    std::string line = "PROXY UNKNOWN ";
    line += std::string(twine::proxyV1MaxLength - line.size() - 2, 'x') + "\r\n";
    REQUIRE(line.size() == twine::proxyV1MaxLength);
    CHECK(twine::parseProxyHeader(line).status == Status::complete);

    std::string longer = "PROXY UNKNOWN " + std::string(twine::proxyV1MaxLength, 'x');
    CHECK(invalidReason(longer).find("too long") != std::string::npos);
    // Decided as soon as 107 bytes without an end of line are in.
    CHECK(twine::parseProxyHeader(longer.substr(0, twine::proxyV1MaxLength)).status ==
          Status::invalid);
}

TEST_CASE("PROXY v1: every malformed line is refused with a reason") {
    const char* lines[] = {
        "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\n",      // LF without CR
        "PROXY TCP5 192.0.2.10 198.51.100.1 56324 443\r\n",    // unknown protocol
        "PROXY TCP4 192.0.2.10 198.51.100.1 56324\r\n",        // a field missing
        "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443 1\r\n",  // a field too many
        "PROXY TCP4  192.0.2.10 198.51.100.1 56324 443\r\n",   // two spaces
        "PROXY TCP4 192.0.2.10 198.51.100.1 65536 443\r\n",    // port out of range
        "PROXY TCP4 192.0.2.10 198.51.100.1 056324 443\r\n",   // leading zero
        "PROXY TCP4 192.0.2.10 198.51.100.1 -1 443\r\n",       // sign
        "PROXY TCP4 192.0.2.300 198.51.100.1 56324 443\r\n",   // not an address
        "PROXY TCP4 2001:db8::10 198.51.100.1 56324 443\r\n",  // IPv6 under TCP4
        "PROXY TCP6 192.0.2.10 2001:db8::1 56324 443\r\n",     // IPv4 under TCP6
        "PROXY TCP4 192.0.2.10 198.51.100.1 56324 44\r3\r\n",  // CR inside
        "PROXY\r\n",                                           // nothing at all
    };
    for (const char* line : lines) {
        INFO(line);
        CHECK_FALSE(invalidReason(line).empty());
    }
    // A NUL inside the line.
    CHECK_FALSE(invalidReason("PROXY TCP4 192.0.2.10\0 1 2 3\r\n"s).empty());
}

TEST_CASE("A connection that does not begin with a PROXY header is refused at once") {
    CHECK(invalidReason("GET / HTTP/1.1\r\n") == "not a PROXY protocol header");
    CHECK(invalidReason("PROXZ") == "not a PROXY protocol header");
    CHECK(invalidReason("\r\n\r\nX") == "not a PROXY protocol header");
    CHECK(invalidReason(std::string(1, '\x16')) == "not a PROXY protocol header");  // TLS
}

TEST_CASE("PROXY v2: IPv4, IPv6 and Unix addresses read back as they were formatted") {
    ProxyHeader unixHeader;
    unixHeader.source = Address::unixPath("/run/client.sock");
    unixHeader.destination = Address::unixPath("/run/server.sock");
    for (const ProxyHeader& sent : {tcp4Header(), tcp6Header(), unixHeader}) {
        const std::string bytes = twine::formatProxyHeaderV2(sent);
        INFO(sent.source.toString());
        ProxyHeaderParse parse = twine::parseProxyHeader(bytes + "payload");
        REQUIRE(parse.status == Status::complete);
        CHECK(parse.length == bytes.size());
        CHECK(parse.header == withVersion(sent, 2));
        checkPrefixesIncomplete(bytes);
    }
}

TEST_CASE("PROXY v1 formatting reads back equal; v1 cannot carry Unix addresses") {
    for (const ProxyHeader& sent : {tcp4Header(), tcp6Header()}) {
        ProxyHeaderParse parse = twine::parseProxyHeader(twine::formatProxyHeaderV1(sent));
        REQUIRE(parse.status == Status::complete);
        CHECK(parse.header == withVersion(sent, 1));
    }
    ProxyHeader unixHeader;
    unixHeader.source = Address::unixPath("/a");
    unixHeader.destination = Address::unixPath("/b");
    CHECK_THROWS_AS(twine::formatProxyHeaderV1(unixHeader), std::invalid_argument);
    ProxyHeader mixed = tcp4Header();
    mixed.destination = Address::ipv6("::1", 1);
    CHECK_THROWS_AS(twine::formatProxyHeaderV2(mixed), std::invalid_argument);
}

TEST_CASE("PROXY v2: LOCAL (a health check) keeps the socket's addresses, whatever its block") {
    ProxyHeader local;
    local.local = true;
    ProxyHeaderParse parse = twine::parseProxyHeader(twine::formatProxyHeaderV2(local));
    REQUIRE(parse.status == Status::complete);
    CHECK(parse.header.local);
    CHECK(parse.header.source.family() == Address::Family::none);

    parse = twine::parseProxyHeader(v2(0x20, 0x11, "short"));
    REQUIRE(parse.status == Status::complete);
    CHECK(parse.header.local);
    // PROXY with family UNSPEC: the balancer cannot describe the addresses.
    parse = twine::parseProxyHeader(v2(0x21, 0x00, ""));
    REQUIRE(parse.status == Status::complete);
    CHECK(parse.header.local);
}

TEST_CASE("PROXY v2: TLVs after the addresses are skipped within the header's length") {
    const std::string plain = twine::formatProxyHeaderV2(tcp4Header());
    const std::string block = plain.substr(16);
    const std::string tlvs = tlv(0x01, "h2") + tlv(0x02, "example.org") + tlv(0x04, "");
    const std::string bytes = v2(0x21, 0x11, block + tlvs);
    ProxyHeaderParse parse = twine::parseProxyHeader(bytes + "after");
    REQUIRE(parse.status == Status::complete);
    CHECK(parse.length == bytes.size());
    CHECK(parse.header == withVersion(tcp4Header(), 2));

    // A TLV whose length runs past the header, or a truncated TLV head.
    std::string overrun = tlv(0x02, "example.org");
    overrun[2] = 100;
    CHECK(invalidReason(v2(0x21, 0x11, block + overrun)).find("TLV") != std::string::npos);
    CHECK(invalidReason(v2(0x21, 0x11, block + "\x01\x00")).find("TLV") != std::string::npos);
}

TEST_CASE("PROXY v2: every malformed header is refused with a reason") {
    const std::string block = twine::formatProxyHeaderV2(tcp4Header()).substr(16);
    CHECK(invalidReason(v2(0x11, 0x11, block)).find("version") != std::string::npos);
    CHECK(invalidReason(v2(0x22, 0x11, block)).find("command") != std::string::npos);
    CHECK(invalidReason(v2(0x21, 0x41, block)).find("family") != std::string::npos);
    CHECK(invalidReason(v2(0x21, 0x13, block)).find("family") != std::string::npos);
    CHECK(invalidReason(v2(0x21, 0x11, block.substr(0, 11))).find("shorter") != std::string::npos);
    CHECK(invalidReason(v2(0x21, 0x21, block)).find("shorter") != std::string::npos);
    CHECK(invalidReason(v2(0x21, 0x12, block)).find("datagram") != std::string::npos);
}

TEST_CASE("PROXY v2: a length over the limit is refused before its bytes arrive") {
    std::string header = v2(0x21, 0x11, "");
    header[14] = static_cast<char>(0xff);
    header[15] = static_cast<char>(0xff);  // 65535 bytes announced, none sent
    CHECK(invalidReason(header).find("over the limit") != std::string::npos);

    const std::string bytes = twine::formatProxyHeaderV2(tcp4Header());
    CHECK(twine::parseProxyHeader(bytes, 12).status == Status::complete);
    CHECK(twine::parseProxyHeader(bytes, 11).status == Status::invalid);
}
