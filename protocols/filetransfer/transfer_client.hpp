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
    struct Push {
        std::vector<std::string> paths;
    };
    struct Fetch {
        std::vector<std::string> names;
        std::shared_ptr<ReceiveRoot> into;
    };

    TransferClient(Push job, std::string token, ReactorTime& time, TransferObserver& observer);
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
    std::deque<std::string> names_;
    std::optional<SafeName> asked_;
    bool fetching_ = false;
    bool completed_ = false;
};

}  // namespace twine::filetransfer
