#pragma once

#include "overall_progress.hpp"

#include <twine/protocols/filetransfer/transfer_observer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace twine_ft {

/// Shows a client's transfer: on a terminal a live bar per file (bytes,
/// percent, rate, ETA), led for a tree by the whole transfer's files,
/// percent and ETA; otherwise one plain line per file and, for a tree, an
/// overall progress line every few seconds; one error line per failure
/// naming the file and the cause; a summary at the end.
class ProgressDisplay final : public twine::filetransfer::TransferObserver {
public:
    using FileInfo = twine::filetransfer::FileInfo;

    ProgressDisplay(bool quiet, std::function<void()> onEnd);

    void transferPlanned(std::uint64_t files, std::uint64_t bytes) override;
    void fileStarted(const FileInfo& info, std::uint64_t offset, bool sending) override;
    void fileProgress(const FileInfo& info, std::uint64_t done) override;
    void fileFinished(const FileInfo& info, std::uint64_t moved) override;
    void fileUpToDate(const FileInfo& info) override;
    void wouldTransfer(const FileInfo& info) override;
    void directoryMade(const FileInfo& info) override;
    void fileFailed(const std::string& name, const std::string& code,
                    const std::string& message) override;
    void note(const std::string& message) override;
    void sessionEnded(const std::string& error) override;

    /// The connection could not be made.
    void connectFailed(const std::string& endpoint, const std::string& reason);
    /// Prints the summary line; returns the exit status (0: every file
    /// verified or already up to date).
    int summarise();

private:
    using Clock = std::chrono::steady_clock;
    void drawBar(const FileInfo& info, std::uint64_t done, bool final);
    /// The whole transfer, `current` bytes of the file moving included.
    OverallProgress overall(std::uint64_t current) const;
    bool tree() const { return plannedFiles_ > 1; }
    void fileDone(std::uint64_t size);
    void logOverall(bool force);
    void clearBar();
    double since(Clock::time_point start) const;

    bool quiet_;
    bool terminal_;
    std::function<void()> onEnd_;
    Clock::time_point begun_ = Clock::now();
    Clock::time_point fileBegun_;
    Clock::time_point lastDraw_;
    std::uint64_t offset_ = 0;
    bool sending_ = true;
    bool barShown_ = false;
    int verified_ = 0;
    int upToDate_ = 0;
    int failed_ = 0;
    int wouldMove_ = 0;
    std::uint64_t wouldBytes_ = 0;
    std::uint64_t moved_ = 0;
    std::uint64_t resumed_ = 0;
    std::uint64_t totalSize_ = 0;
    // The largest plan a session made (a retry plans the same files again).
    std::uint64_t plannedFiles_ = 0;
    std::uint64_t plannedBytes_ = 0;
    std::uint64_t filesDone_ = 0;
    std::uint64_t bytesDone_ = 0;
    Clock::time_point lastLogged_ = Clock::now();
    std::string sessionError_;
    bool ended_ = false;
};

}  // namespace twine_ft
