// The endpoint-string parser (serverFromString / clientFromString), fed what
// a user types after --listen / --to. Properties: a description is either
// refused with std::invalid_argument or gives an endpoint whose describe()
// reads back to an endpoint that describes itself the same way.
// Descriptions naming TLS (ssl:, tls:) are parsed only up to the split into
// parameters: building them reads the certificate files they name.

#include <twine/core/reactor.hpp>
#include <twine/transports/endpoint_parser.hpp>
#include <twine/transports/endpoints.hpp>

#include "fuzz_support.hpp"

#include <stdexcept>
#include <string>

namespace {

twine::Reactor& reactor() {
    static twine::Reactor instance;  // endpoints are only built, never used
    return instance;
}

template <class Build>
void checkRoundTrip(std::string_view description, Build build) {
    std::string described;
    try {
        described = build(description)->describe();
    } catch (const std::invalid_argument&) {
        return;
    }
    std::string again;
    try {
        again = build(described)->describe();
    } catch (const std::invalid_argument& error) {
        std::fprintf(stderr, "'%s' described as '%s', which is refused: %s\n",
                     std::string(description).c_str(), described.c_str(), error.what());
        FUZZ_CHECK(false);
    }
    FUZZ_CHECK(again == described);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    const std::string_view description(reinterpret_cast<const char*>(bytes), size);
    try {
        twine::EndpointParameters::parse(description);
    } catch (const std::invalid_argument&) {
        return 0;
    }
    if (description.find("ssl") != std::string_view::npos ||
        description.find("tls") != std::string_view::npos) {
        return 0;
    }
    checkRoundTrip(description,
                   [](std::string_view d) { return twine::serverFromString(reactor(), d); });
    checkRoundTrip(description,
                   [](std::string_view d) { return twine::clientFromString(reactor(), d); });
    return 0;
}
