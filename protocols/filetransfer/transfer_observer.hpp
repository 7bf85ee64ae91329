#pragma once

#include <twine/core/address.hpp>
#include <twine/protocols/filetransfer/file_info.hpp>

#include <cstdint>
#include <string>

namespace twine::filetransfer {

/// What a transfer session tells the program driving it (progress bars,
/// logs, the exit status). Every hook has a do-nothing default.
class TransferObserver {
public:
    virtual ~TransferObserver() = default;

    /// A connection began; `peer` is the client (behind a load balancer, the
    /// one its PROXY header names).
    virtual void sessionStarted(const Address& peer) { (void)peer; }
    /// The sending side queued `files` files (directories not counted) of
    /// `bytes` bytes in all: a tree's totals, for an overall progress line.
    /// Called once per queued batch (each path sent, each tree fetched), on
    /// the sending side and, when the sender's PLAN arrives, the receiving one.
    virtual void transferPlanned(std::uint64_t files, std::uint64_t bytes) {
        (void)files, (void)bytes;
    }
    /// A file starts moving: `offset` bytes were kept from a partial.
    virtual void fileStarted(const FileInfo& info, std::uint64_t offset, bool sending) {
        (void)info, (void)offset, (void)sending;
    }
    /// `done` of the bytes this session moves for the file (after offset).
    virtual void fileProgress(const FileInfo& info, std::uint64_t done) { (void)info, (void)done; }
    /// The file arrived and its digest matched; `moved` bytes crossed the wire.
    virtual void fileFinished(const FileInfo& info, std::uint64_t moved) {
        (void)info, (void)moved;
    }
    /// The receiver's copy already matched (size and mtime): nothing moved.
    virtual void fileUpToDate(const FileInfo& info) { (void)info; }
    /// A dry run: the receiver would take this file (nothing moved).
    virtual void wouldTransfer(const FileInfo& info) { (void)info; }
    /// A directory was created on the receiving side (in a dry run: exists
    /// or would be made).
    virtual void directoryMade(const FileInfo& info) { (void)info; }
    /// One file failed; `code` is a PROTOCOL.md error code.
    virtual void fileFailed(const std::string& name, const std::string& code,
                            const std::string& message) {
        (void)name, (void)code, (void)message;
    }
    /// Something worth a line that is not a failure (a skipped symlink).
    virtual void note(const std::string& message) { (void)message; }
    /// The session is over; `error` is empty if it ended normally.
    virtual void sessionEnded(const std::string& error) { (void)error; }
};

}  // namespace twine::filetransfer
