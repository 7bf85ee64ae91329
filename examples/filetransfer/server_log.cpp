#include "server_log.hpp"

#include "units.hpp"

#include <cstdio>

namespace twine_ft {

void ServerLog::sessionStarted(const twine::Address& peer) {
    if (!quiet_) std::fprintf(stderr, "connection from %s\n", peer.toString().c_str());
}

void ServerLog::fileStarted(const FileInfo& info, std::uint64_t offset, bool sending) {
    if (quiet_) return;
    std::fprintf(stderr, "%s %s (%s)%s\n", sending ? "sending" : "receiving", info.name.c_str(),
                 humanBytes(static_cast<double>(info.size)).c_str(),
                 offset > 0 ? (", resuming at " + std::to_string(offset)).c_str() : "");
}

void ServerLog::fileFinished(const FileInfo& info, std::uint64_t moved) {
    if (quiet_) return;
    std::fprintf(stderr, "done %s: %llu bytes moved, verified\n", info.name.c_str(),
                 static_cast<unsigned long long>(moved));
}

void ServerLog::fileUpToDate(const FileInfo& info) {
    if (!quiet_) std::fprintf(stderr, "up to date %s\n", info.name.c_str());
}

void ServerLog::fileFailed(const std::string& name, const std::string& code,
                           const std::string& message) {
    std::fprintf(stderr, "twine-ft: error: %s: %s [%s]\n", name.c_str(), message.c_str(),
                 code.c_str());
}

void ServerLog::note(const std::string& message) {
    if (!quiet_) std::fprintf(stderr, "note: %s\n", message.c_str());
}

void ServerLog::sessionEnded(const std::string& error) {
    if (!error.empty()) std::fprintf(stderr, "twine-ft: session ended: %s\n", error.c_str());
}

}  // namespace twine_ft
