#pragma once

#include <twine/core/address.hpp>
#include <twine/core/failure.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

struct uv_loop_s;

namespace twine::detail {

/// Looks a host name up on libuv's thread pool (getaddrinfo): the one lookup
/// behind connectTCP and Reactor::resolve.
class HostLookup {
public:
    /// The IP addresses in the resolver's order, duplicates dropped; or, with
    /// no address, the DNSLookupError that says why.
    using Done = std::function<void(std::vector<Address> addresses, const Failure* error)>;

    /// Which addresses a lookup asks for.
    enum class Families { any, ipv4 };

    HostLookup() = default;
    ~HostLookup() { cancel(); }
    HostLookup(const HostLookup&) = delete;
    HostLookup& operator=(const HostLookup&) = delete;

    /// Starts a lookup, cancelling one in progress. `done` runs once on the
    /// loop thread, unless cancel() comes first. It runs at once, from inside
    /// start(), when the name can never resolve (RFC 6761's ".invalid") or the
    /// lookup cannot start.
    void start(uv_loop_s* loop, const std::string& host, std::uint16_t port, Families families,
               Done done);
    /// `done` will not run; the thread pool's work, if it started, is let be.
    void cancel();
    bool active() const { return request_ != nullptr; }

private:
    struct Request;
    Request* request_ = nullptr;
};

/// RFC 8305 section 4: the addresses with their families alternated,
/// starting with the resolver's first choice and keeping its order within
/// each family, so that a broken family costs one attempt delay, not many.
void interleaveFamilies(std::vector<Address>& addresses);

}  // namespace twine::detail
