#pragma once

#include <twine/protocols/filetransfer/safe_name.hpp>
#include <twine/protocols/filetransfer/transfer_protocol.hpp>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace twine::filetransfer {

/// The connecting side: once authenticated it pushes local paths (send) or
/// fetches names into a local directory (fetch), then says BYE and closes.
class TransferClient final : public TransferProtocol {
public:
    /// twine-ft send: push local files and directory trees.
    struct Push {
        std::vector<std::string> paths;  ///< Local paths, each a file or a directory.
        Offering offering{};             ///< --checksum, --dry-run.
    };
    /// twine-ft fetch: get names from the server's root.
    struct Fetch {
        std::vector<std::string> names;     ///< Names under the server's root.
        std::shared_ptr<ReceiveRoot> into;  ///< Where they are written.
        Offering offering{};                ///< Asked of the server: --checksum, --dry-run.
    };

    /// A client for one job, authenticating with `token`. `time` and
    /// `observer` must outlive the protocol; under a Reactor, received
    /// files are written on a worker thread (setWriteBehind).
    TransferClient(Push job, std::string token, ReactorTime& time, TransferObserver& observer);
    /// As above, for a fetch.
    TransferClient(Fetch job, std::string token, ReactorTime& time, TransferObserver& observer);

    /// True once every path or name was dealt with (each succeeded or failed)
    /// and the session ended cleanly.
    bool completed() const { return completed_; }

protected:
    void authenticated() override;
    void handleMessage(const Message& message) override;
    void outgoingDrained() override;
    void checkOffer(const FileInfo& info) override;
    void finished(const std::string& error) override;

private:
    void fetchNext();
    void bye();

    std::vector<std::string> paths_;
    Offering offering_;
    std::deque<std::string> names_;
    std::optional<SafeName> asked_;
    bool fetching_ = false;
    bool completed_ = false;
};

}  // namespace twine::filetransfer
