#include "progress_display.hpp"

#include "units.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace twine_ft {

ProgressDisplay::ProgressDisplay(bool quiet, std::function<void()> onEnd)
    : quiet_(quiet), terminal_(::isatty(STDERR_FILENO) != 0), onEnd_(std::move(onEnd)) {}

double ProgressDisplay::since(Clock::time_point start) const {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

void ProgressDisplay::transferPlanned(std::uint64_t files, std::uint64_t bytes) {
    plannedFiles_ = std::max(plannedFiles_, files);
    plannedBytes_ = std::max(plannedBytes_, bytes);
}

OverallProgress ProgressDisplay::overall(std::uint64_t current) const {
    OverallProgress progress;
    progress.filesDone = filesDone_;
    progress.filesTotal = plannedFiles_;
    progress.bytesDone = bytesDone_ + current;
    progress.bytesTotal = plannedBytes_;
    progress.bytesMoved = moved_ + (current > offset_ ? current - offset_ : 0);
    progress.elapsed = since(begun_);
    return progress;
}

void ProgressDisplay::fileDone(std::uint64_t size) {
    ++filesDone_;
    bytesDone_ += size;
    logOverall(filesDone_ == plannedFiles_);
}

// Without a terminal (a log), a tree's progress every few seconds.
void ProgressDisplay::logOverall(bool force) {
    if (quiet_ || terminal_ || !tree()) return;
    if (!force && Clock::now() - lastLogged_ < std::chrono::seconds(5)) return;
    lastLogged_ = Clock::now();
    std::fprintf(stderr, "progress: %s\n", overall(0).line().c_str());
}

void ProgressDisplay::fileStarted(const FileInfo& info, std::uint64_t offset, bool sending) {
    fileBegun_ = Clock::now();
    lastDraw_ = Clock::time_point{};
    offset_ = offset;
    sending_ = sending;
    if (quiet_) return;
    if (terminal_) {
        drawBar(info, 0, false);
        return;
    }
    std::fprintf(
        stderr, "%s %s (%s)%s\n", sending ? "sending" : "receiving", info.name.c_str(),
        humanBytes(static_cast<double>(info.size)).c_str(),
        offset > 0 ? (", resuming at " + humanBytes(static_cast<double>(offset))).c_str() : "");
}

void ProgressDisplay::fileProgress(const FileInfo& info, std::uint64_t done) {
    if (quiet_ || !terminal_) return;
    // A redraw per read would cost more than the transfer: ten a second.
    if (Clock::now() - lastDraw_ < std::chrono::milliseconds(100)) return;
    drawBar(info, done, false);
}

void ProgressDisplay::drawBar(const FileInfo& info, std::uint64_t done, bool final) {
    lastDraw_ = Clock::now();
    std::uint64_t at = offset_ + done;
    double fraction =
        info.size == 0 ? 1.0 : static_cast<double>(at) / static_cast<double>(info.size);
    double elapsed = since(fileBegun_);
    double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
    double eta = rate > 0 ? static_cast<double>(info.size - at) / rate : -1;
    constexpr int width = 24;
    int filled = static_cast<int>(fraction * width);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, '-');
    std::string name =
        info.name.size() > 28 ? "..." + info.name.substr(info.name.size() - 25) : info.name;
    // A tree's bar is led by the whole transfer's state.
    std::string whole = tree() && !final ? "[" + overall(at).line() + "]  " : "";
    std::fprintf(stderr, "\r\033[K%s%-28s [%s] %3.0f%% %10s %10s/s %s %s", whole.c_str(),
                 name.c_str(), bar.c_str(), fraction * 100,
                 humanBytes(static_cast<double>(at)).c_str(), humanBytes(rate).c_str(),
                 final ? "in" : "ETA", humanDuration(final ? elapsed : eta).c_str());
    if (final) std::fputc('\n', stderr);
    barShown_ = !final;
    std::fflush(stderr);
}

void ProgressDisplay::clearBar() {
    if (!barShown_) return;
    std::fputs("\r\033[K", stderr);
    barShown_ = false;
}

void ProgressDisplay::fileFinished(const FileInfo& info, std::uint64_t moved) {
    ++verified_;
    moved_ += moved;
    resumed_ += offset_;
    totalSize_ += info.size;
    fileDone(info.size);
    if (quiet_) return;
    if (terminal_) {
        drawBar(info, moved, true);
        return;
    }
    double elapsed = since(fileBegun_);
    std::fprintf(stderr, "%s %s: %llu bytes moved in %.2f s (%s/s), verified\n",
                 sending_ ? "sent" : "received", info.name.c_str(),
                 static_cast<unsigned long long>(moved), elapsed,
                 humanBytes(elapsed > 0 ? static_cast<double>(moved) / elapsed : 0).c_str());
}

void ProgressDisplay::fileUpToDate(const FileInfo& info) {
    ++upToDate_;
    fileDone(info.size);
    if (quiet_ || terminal_) return;
    std::fprintf(stderr, "up to date %s\n", info.name.c_str());
}

void ProgressDisplay::wouldTransfer(const FileInfo& info) {
    ++wouldMove_;
    wouldBytes_ += info.size;
    if (quiet_) return;
    clearBar();
    std::fprintf(stderr, "would transfer %s (%s)\n", info.name.c_str(),
                 humanBytes(static_cast<double>(info.size)).c_str());
}

void ProgressDisplay::directoryMade(const FileInfo& info) {
    if (quiet_ || terminal_) return;
    std::fprintf(stderr, "directory %s\n", info.name.c_str());
}

void ProgressDisplay::fileFailed(const std::string& name, const std::string& code,
                                 const std::string& message) {
    ++failed_;
    ++filesDone_;
    clearBar();
    std::fprintf(stderr, "twine-ft: error: %s: %s [%s]\n", name.c_str(), message.c_str(),
                 code.c_str());
}

void ProgressDisplay::note(const std::string& message) {
    if (quiet_) return;
    clearBar();
    std::fprintf(stderr, "note: %s\n", message.c_str());
}

void ProgressDisplay::sessionEnded(const std::string& error) {
    if (ended_) return;
    ended_ = true;
    sessionError_ = error;
    if (!error.empty()) {
        clearBar();
        std::fprintf(stderr, "twine-ft: error: %s\n", error.c_str());
    }
    if (onEnd_) onEnd_();
}

void ProgressDisplay::connectFailed(const std::string& endpoint, const std::string& reason) {
    ended_ = true;
    sessionError_ = "cannot connect to " + endpoint + ": " + reason;
    std::fprintf(stderr, "twine-ft: error: %s\n", sessionError_.c_str());
    if (onEnd_) onEnd_();
}

int ProgressDisplay::summarise() {
    clearBar();
    double elapsed = since(begun_);
    bool ok = failed_ == 0 && sessionError_.empty() && ended_;
    if (!quiet_ || !ok) {
        std::printf(
            "%s: %d verified, %d up to date, %d failed; %llu bytes sent (%s), %llu resumed, "
            "%.2f s, %s/s\n",
            ok ? "done" : "FAILED", verified_, upToDate_, failed_,
            static_cast<unsigned long long>(moved_),
            humanBytes(static_cast<double>(moved_)).c_str(),
            static_cast<unsigned long long>(resumed_), elapsed,
            humanBytes(elapsed > 0 ? static_cast<double>(moved_) / elapsed : 0).c_str());
        if (wouldMove_ > 0) {
            std::printf("dry run: %d files would be transferred (%s); nothing was written\n",
                        wouldMove_, humanBytes(static_cast<double>(wouldBytes_)).c_str());
        }
        std::fflush(stdout);
    }
    return ok ? 0 : 1;
}

}  // namespace twine_ft
