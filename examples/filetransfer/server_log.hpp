#pragma once

#include <twine/protocols/filetransfer/transfer_observer.hpp>

namespace twine_ft {

/// The server's account of what its clients did: one line per file
/// received or sent, per failure and per note, on stderr.
class ServerLog final : public twine::filetransfer::TransferObserver {
public:
    using FileInfo = twine::filetransfer::FileInfo;

    explicit ServerLog(bool quiet) : quiet_(quiet) {}

    void sessionStarted(const twine::Address& peer) override;
    void fileStarted(const FileInfo& info, std::uint64_t offset, bool sending) override;
    void fileFinished(const FileInfo& info, std::uint64_t moved) override;
    void fileUpToDate(const FileInfo& info) override;
    void fileFailed(const std::string& name, const std::string& code,
                    const std::string& message) override;
    void note(const std::string& message) override;
    void sessionEnded(const std::string& error) override;

private:
    bool quiet_;
};

}  // namespace twine_ft
