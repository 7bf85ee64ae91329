#include <twine/protocols/datagram_echo.hpp>

#include <algorithm>
#include <stdexcept>

namespace twine {
namespace detail {

SourceRateLimiter::SourceRateLimiter(ReactorTime& time, const DatagramEchoLimits& limits)
    : time_(time), limits_(limits) {
    if (limits_.ratePerSecond < 0 || limits_.burst < 1 || limits_.maxSources == 0) {
        throw std::invalid_argument(
            "DatagramEchoLimits: ratePerSecond must be >= 0, burst >= 1 and maxSources >= 1");
    }
}

bool SourceRateLimiter::allow(const std::string& source) {
    const double now = time_.seconds();
    Bucket& bucket = bucketFor(source, now);
    const double elapsed = std::max(0.0, now - bucket.updated);
    bucket.tokens = std::min(limits_.burst, bucket.tokens + elapsed * limits_.ratePerSecond);
    bucket.updated = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
}

SourceRateLimiter::Bucket& SourceRateLimiter::bucketFor(const std::string& source, double now) {
    auto found = index_.find(source);
    if (found != index_.end()) {
        buckets_.splice(buckets_.begin(), buckets_, found->second);  // now most recent
        return *found->second;
    }
    if (index_.size() >= limits_.maxSources) {
        index_.erase(buckets_.back().source);
        buckets_.pop_back();
    }
    buckets_.push_front(Bucket{source, limits_.burst, now});
    index_.emplace(buckets_.front().source, buckets_.begin());
    return buckets_.front();
}

}  // namespace detail

DatagramEcho::DatagramEcho(ReactorTime& time, DatagramEchoLimits limits)
    : rateLimited_(limits.ratePerSecond > 0), limiter_(time, limits) {}

void DatagramEcho::datagramReceived(std::string_view data, const Address& from) {
    // Port 0 and the privileged ports are where echo, chargen, daytime, DNS,
    // NTP... live: answering them lets a spoofer loop two services forever.
    if (from.port() < 1024) {
        ++refusedPrivilegedPort_;
        return;
    }
    if (rateLimited_ && !limiter_.allow(from.host())) {
        ++refusedRateLimited_;
        return;
    }
    transport().write(data, from);
    ++echoed_;
}

}  // namespace twine
