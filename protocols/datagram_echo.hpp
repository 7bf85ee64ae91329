#pragma once

#include <twine/core/address.hpp>
#include <twine/core/datagram_protocol.hpp>
#include <twine/core/reactor_time.hpp>

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace twine {

/// The limits that make a UDP echo safe to expose.
struct DatagramEchoLimits {
    /// Datagrams per second each source IP may have echoed, on average;
    /// 0 turns rate limiting off.
    double ratePerSecond = 100;
    /// How many datagrams a source may have echoed in one burst.
    double burst = 200;
    /// How many sources are remembered; the least recently seen is forgotten
    /// first, so memory stays bounded whatever the sources.
    std::size_t maxSources = 4096;
};

namespace detail {

/// One token bucket per source IP, in a bounded least-recently-used table.
class SourceRateLimiter {
public:
    SourceRateLimiter(ReactorTime& time, const DatagramEchoLimits& limits);

    /// Takes one token from `source`'s bucket; false if it is empty.
    bool allow(const std::string& source);
    std::size_t size() const { return index_.size(); }

private:
    struct Bucket {
        std::string source;
        double tokens;
        double updated;
    };

    Bucket& bucketFor(const std::string& source, double now);

    ReactorTime& time_;
    DatagramEchoLimits limits_;
    std::list<Bucket> buckets_;  // most recently seen first
    std::unordered_map<std::string_view, std::list<Bucket>::iterator> index_;
};

}  // namespace detail

/// A UDP echo that cannot be turned into a weapon: it echoes each datagram
/// to its source with exactly the bytes received (no amplification), ignores
/// sources on privileged ports below 1024 (so two echo-like services cannot
/// be made to ping-pong forever, CVE-2024-2169), and rate-limits each source
/// IP with a token bucket (so spoofed sources cannot reflect a flood).
class DatagramEcho : public DatagramProtocol {
public:
    /// Rate limits run on `time`, which must outlive the protocol.
    explicit DatagramEcho(ReactorTime& time, DatagramEchoLimits limits = {});

    void datagramReceived(std::string_view data, const Address& from) override;

    /// Datagrams echoed back.
    std::uint64_t echoed() const { return echoed_; }
    /// Datagrams ignored because they came from a port below 1024.
    std::uint64_t refusedPrivilegedPort() const { return refusedPrivilegedPort_; }
    /// Datagrams ignored because their source exceeded its rate.
    std::uint64_t refusedRateLimited() const { return refusedRateLimited_; }
    /// Sources currently remembered by the rate limiter (at most maxSources).
    std::size_t trackedSources() const { return limiter_.size(); }

private:
    bool rateLimited_;
    detail::SourceRateLimiter limiter_;
    std::uint64_t echoed_ = 0;
    std::uint64_t refusedPrivilegedPort_ = 0;
    std::uint64_t refusedRateLimited_ = 0;
};

}  // namespace twine
