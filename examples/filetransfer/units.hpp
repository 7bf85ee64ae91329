#pragma once

#include <cstdint>
#include <string>

namespace twine_ft {

/// "512.0 MiB", "3 B": sizes as people read them.
std::string humanBytes(double bytes);
/// "1:05", "0:03", "--:--" for an unknown duration.
std::string humanDuration(double seconds);
/// Parses "1000", "10K", "512M", "2G", "1T" (binary multiples); throws
/// std::invalid_argument naming the problem.
std::uint64_t parseSize(const std::string& text);

}  // namespace twine_ft
