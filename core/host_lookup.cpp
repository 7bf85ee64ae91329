#include <twine/core/error.hpp>
#include <twine/core/guard.hpp>
#include <twine/core/host_lookup.hpp>
#include <twine/core/uv_error.hpp>

#include <uv.h>

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string_view>
#include <utility>

namespace twine::detail {
namespace {

// RFC 6761 section 6.4: names under "invalid." never resolve, and resolvers
// should answer so at once instead of asking a name server.
bool isInvalidName(std::string host) {
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!host.empty() && host.back() == '.') host.pop_back();
    return host == "invalid" || std::string_view(host).ends_with(".invalid");
}

std::vector<Address> ipAddresses(const addrinfo* results) {
    std::vector<Address> addresses;
    for (const addrinfo* info = results; info != nullptr; info = info->ai_next) {
        Address address = Address::fromSockaddr(info->ai_addr, info->ai_addrlen);
        if (address.isIp() &&
            std::find(addresses.begin(), addresses.end(), address) == addresses.end()) {
            addresses.push_back(std::move(address));
        }
    }
    return addresses;
}

void failNow(const std::string& host, const std::string& why, const HostLookup::Done& done) {
    Failure error(DNSLookupError("Couldn't resolve " + host + ": " + why));
    done({}, &error);
}

}  // namespace

void interleaveFamilies(std::vector<Address>& addresses) {
    if (addresses.size() < 3) return;
    const Address::Family first = addresses.front().family();
    std::vector<Address> preferred;
    std::vector<Address> other;
    for (Address& address : addresses) {
        (address.family() == first ? preferred : other).push_back(std::move(address));
    }
    addresses.clear();
    for (std::size_t i = 0; i < std::max(preferred.size(), other.size()); ++i) {
        if (i < preferred.size()) addresses.push_back(std::move(preferred[i]));
        if (i < other.size()) addresses.push_back(std::move(other[i]));
    }
}

// Owned by libuv from uv_getaddrinfo until its callback, which may come after
// the HostLookup is gone: cancel() only cuts the tie.
struct HostLookup::Request {
    uv_getaddrinfo_t uv{};
    HostLookup* owner = nullptr;
    std::string host;
    Done done;

    static void onResolved(uv_getaddrinfo_t* uv, int status, addrinfo* results);
    void report(int status, const addrinfo* results);
};

void HostLookup::start(uv_loop_s* loop, const std::string& host, std::uint16_t port,
                       Families families, Done done) {
    cancel();
    if (isInvalidName(host)) {
        failNow(host, "names under .invalid never resolve (RFC 6761)", done);
        return;
    }
    auto request = std::make_unique<Request>();
    request->owner = this;
    request->host = host;
    request->done = std::move(done);
    request->uv.data = request.get();
    addrinfo hints{};
    hints.ai_family = families == Families::ipv4 ? AF_INET : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    const std::string service = std::to_string(port);
    int status = uv_getaddrinfo(loop, &request->uv, Request::onResolved, host.c_str(),
                                service.c_str(), &hints);
    if (status < 0) {
        failNow(host, uvErrorText(status), request->done);
        return;
    }
    request_ = request.release();
}

void HostLookup::cancel() {
    Request* request = std::exchange(request_, nullptr);
    if (request == nullptr) return;
    request->owner = nullptr;
    request->done = nullptr;
    uv_cancel(reinterpret_cast<uv_req_t*>(&request->uv));
}

void HostLookup::Request::onResolved(uv_getaddrinfo_t* uv, int status, addrinfo* results) {
    std::unique_ptr<Request> request(static_cast<Request*>(uv->data));
    if (request->owner != nullptr) request->owner->request_ = nullptr;
    if (request->done) guarded("Host lookup", [&] { request->report(status, results); });
    uv_freeaddrinfo(results);
}

void HostLookup::Request::report(int status, const addrinfo* results) {
    std::vector<Address> addresses = status < 0 ? std::vector<Address>() : ipAddresses(results);
    if (addresses.empty()) {
        failNow(host, status < 0 ? uvErrorText(status) : "no address", done);
        return;
    }
    done(std::move(addresses), nullptr);
}

}  // namespace twine::detail
