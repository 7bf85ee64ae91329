// The PROXY protocol header parser, fed what a peer sends first. Properties:
// a complete header re-formatted in its own version parses back equal; every
// proper prefix of a complete header is "incomplete" (never refused early);
// a refused input stays refused whatever follows; a header is never longer
// than the input nor the limits.

#include <twine/transports/proxy_header.hpp>

#include "fuzz_support.hpp"

#include <stdexcept>
#include <string>

namespace {

using twine::ProxyHeaderParse;
using Status = ProxyHeaderParse::Status;

void checkRoundTrip(const twine::ProxyHeader& header) {
    std::string bytes;
    try {
        bytes = header.version == 1 ? twine::formatProxyHeaderV1(header)
                                    : twine::formatProxyHeaderV2(header);
    } catch (const std::invalid_argument&) {
        // v2 carries Unix paths with NULs cut off, v1 UNKNOWN drops its
        // addresses: what cannot be formatted back is not compared.
        return;
    }
    const ProxyHeaderParse again = twine::parseProxyHeader(bytes);
    FUZZ_CHECK(again.status == Status::complete);
    FUZZ_CHECK(again.length == bytes.size());
    FUZZ_CHECK(again.header == header);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    fuzz::Input input(bytes, size);
    const std::size_t limit = static_cast<std::size_t>(input.byte()) * 16;
    const std::string_view data = input.rest();
    const ProxyHeaderParse parse = twine::parseProxyHeader(data, limit);

    switch (parse.status) {
        case Status::complete:
            FUZZ_CHECK(parse.length <= data.size());
            FUZZ_CHECK(parse.length <= std::max(twine::proxyV1MaxLength,
                                                twine::proxyV2FixedLength + limit));
            FUZZ_CHECK(parse.header.version == 1 || parse.header.version == 2);
            for (std::size_t n = 0; n < parse.length; ++n) {
                FUZZ_CHECK(twine::parseProxyHeader(data.substr(0, n), limit).status ==
                           Status::incomplete);
            }
            checkRoundTrip(parse.header);
            break;
        case Status::invalid: {
            FUZZ_CHECK(!parse.error.empty());
            const std::string longer = std::string(data) + "\r\n";
            FUZZ_CHECK(twine::parseProxyHeader(longer, limit).status == Status::invalid);
            break;
        }
        case Status::incomplete:
            FUZZ_CHECK(data.size() < std::max(twine::proxyV1MaxLength,
                                              twine::proxyV2FixedLength + limit));
            break;
    }
    return 0;
}
