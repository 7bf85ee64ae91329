#include "units.hpp"

#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

namespace twine_ft {

std::string humanBytes(double bytes) {
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int unit = 0;
    while (bytes >= 1024 && unit < 4) {
        bytes /= 1024;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
    return text;
}

std::string humanDuration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0 || seconds > 359999) return "--:--";
    long total = std::lround(seconds);
    char text[32];
    if (total >= 3600) {
        std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60,
                      total % 60);
    } else {
        std::snprintf(text, sizeof text, "%ld:%02ld", total / 60, total % 60);
    }
    return text;
}

std::uint64_t parseSize(const std::string& text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0 || digits > 19) throw std::invalid_argument("not a size: '" + text + "'");
    std::string suffix = text.substr(digits);
    int shift = 0;
    if (suffix == "K" || suffix == "KiB")
        shift = 10;
    else if (suffix == "M" || suffix == "MiB")
        shift = 20;
    else if (suffix == "G" || suffix == "GiB")
        shift = 30;
    else if (suffix == "T" || suffix == "TiB")
        shift = 40;
    else if (!suffix.empty() && suffix != "B") {
        throw std::invalid_argument("unknown size suffix in '" + text + "' (use K, M, G or T)");
    }
    std::uint64_t value = std::stoull(text.substr(0, digits));
    if (value > (std::uint64_t{std::numeric_limits<std::int64_t>::max()} >> shift)) {
        throw std::invalid_argument("size too large: '" + text + "'");
    }
    return value << shift;
}

}  // namespace twine_ft
