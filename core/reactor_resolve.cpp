#include <twine/core/address.hpp>
#include <twine/core/host_lookup.hpp>
#include <twine/core/reactor.hpp>

#include <memory>
#include <vector>

namespace twine {

Deferred<std::string> Reactor::resolve(const std::string& name) {
    if (Address literal = Address::fromIp(name, 0); literal.isIp()) return succeed(literal.host());
    auto lookup = std::make_shared<detail::HostLookup>();
    Deferred<std::string> result([lookup](Deferred<std::string>&) { lookup->cancel(); });
    lookup->start(uvLoop(), name, 0, detail::HostLookup::Families::ipv4,
                  [result](std::vector<Address> addresses, const Failure* error) mutable {
                      if (error != nullptr) {
                          result.errback(*error);
                      } else {
                          result.callback(addresses.front().host());
                      }
                  });
    return result;
}

}  // namespace twine
