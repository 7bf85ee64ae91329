// The address order connectTCP tries (RFC 8305 section 4).
#include <twine/core/host_lookup.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using twine::Address;
using twine::detail::interleaveFamilies;

namespace {

std::vector<std::string> hosts(const std::vector<Address>& addresses) {
    std::vector<std::string> out;
    for (const Address& address : addresses) out.push_back(address.host());
    return out;
}

std::vector<Address> parse(const std::vector<std::string>& literals) {
    std::vector<Address> out;
    for (const std::string& literal : literals) out.push_back(Address::fromIp(literal, 80));
    return out;
}

}  // namespace

TEST_CASE("families alternate, starting with the resolver's first, each keeping its order") {
    auto addresses = parse({"2001:db8::1", "2001:db8::2", "2001:db8::3", "192.0.2.1", "192.0.2.2"});
    interleaveFamilies(addresses);
    CHECK(hosts(addresses) == std::vector<std::string>{"2001:db8::1", "192.0.2.1", "2001:db8::2",
                                                       "192.0.2.2", "2001:db8::3"});
}

TEST_CASE("an IPv4-first answer starts with IPv4") {
    auto addresses = parse({"192.0.2.1", "192.0.2.2", "2001:db8::1"});
    interleaveFamilies(addresses);
    CHECK(hosts(addresses) == std::vector<std::string>{"192.0.2.1", "2001:db8::1", "192.0.2.2"});
}

TEST_CASE("one family only keeps the resolver's order") {
    auto addresses = parse({"192.0.2.3", "192.0.2.1", "192.0.2.2"});
    interleaveFamilies(addresses);
    CHECK(hosts(addresses) == std::vector<std::string>{"192.0.2.3", "192.0.2.1", "192.0.2.2"});
}
