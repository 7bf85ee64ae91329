#include "overall_progress.hpp"

#include "units.hpp"

#include <algorithm>
#include <cstdio>

namespace twine_ft {

double OverallProgress::rate() const {
    return elapsed > 0 ? static_cast<double>(bytesMoved) / elapsed : 0;
}

double OverallProgress::secondsLeft() const {
    if (filesTotal == 0 || rate() <= 0) return -1;
    std::uint64_t left = bytesTotal > bytesDone ? bytesTotal - bytesDone : 0;
    return static_cast<double>(left) / rate();
}

double OverallProgress::percent() const {
    if (bytesTotal > 0) {
        return 100.0 * static_cast<double>(std::min(bytesDone, bytesTotal)) /
               static_cast<double>(bytesTotal);
    }
    if (filesTotal > 0) {
        return 100.0 * static_cast<double>(std::min(filesDone, filesTotal)) /
               static_cast<double>(filesTotal);
    }
    return 0;
}

std::string OverallProgress::line() const {
    char text[160];
    std::string rateText = humanBytes(rate()) + "/s";
    if (filesTotal == 0) {
        // Totals unknown: what is done, and how fast.
        std::snprintf(text, sizeof text, "%llu files  %s  %s",
                      static_cast<unsigned long long>(filesDone),
                      humanBytes(static_cast<double>(bytesDone)).c_str(), rateText.c_str());
        return text;
    }
    std::snprintf(text, sizeof text, "%llu/%llu files  %s / %s  %.0f%%  %s  ETA %s",
                  static_cast<unsigned long long>(filesDone),
                  static_cast<unsigned long long>(filesTotal),
                  humanBytes(static_cast<double>(bytesDone)).c_str(),
                  humanBytes(static_cast<double>(bytesTotal)).c_str(), percent(), rateText.c_str(),
                  humanDuration(secondsLeft()).c_str());
    return text;
}

}  // namespace twine_ft
