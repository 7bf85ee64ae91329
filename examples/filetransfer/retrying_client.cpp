#include "retrying_client.hpp"

#include <twine/core/error.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>

#include <cstdio>

namespace twine_ft {
namespace {

namespace ft = twine::filetransfer;

bool contains(const std::string& text, const char* needle) {
    return text.find(needle) != std::string::npos;
}

// Per-file failures a new session can repair: the name was still held on the
// server, or the connection went while the file moved.
bool retryable(const std::string& code) {
    return code == ft::code::busy || code == "connection-lost";
}

std::string seconds(twine::Duration delay) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f s", delay.count());
    return text;
}

}  // namespace

twine::ReconnectPolicy retryPolicy(unsigned retries) {
    twine::ReconnectPolicy policy;
    // ReconnectingClientFactory grows the delay before each retry: the first waits 0.5 s.
    policy.initialDelay = twine::Duration(0.25);
    policy.factor = 2;
    policy.maxDelay = twine::Duration(8);
    policy.maxRetries = retries;
    return policy;
}

// One session's view of the display: what a retry may still repair is held
// back; everything else goes straight through.
class RetryingClient::Attempt final : public ft::TransferObserver {
public:
    explicit Attempt(RetryingClient& owner) : owner_(owner) {}

    // Each path pushed, or each name fetched (the server's PLAN), adds to
    // the run's plan; a retry plans the same files again, so the display
    // keeps the largest any attempt has made.
    void transferPlanned(std::uint64_t files, std::uint64_t bytes) override {
        plannedFiles_ += files;
        plannedBytes_ += bytes;
        owner_.display_.transferPlanned(plannedFiles_, plannedBytes_);
    }
    void fileStarted(const ft::FileInfo& info, std::uint64_t offset, bool sending) override {
        owner_.display_.fileStarted(info, offset, sending);
    }
    void fileProgress(const ft::FileInfo& info, std::uint64_t done) override {
        owner_.display_.fileProgress(info, done);
    }
    void fileFinished(const ft::FileInfo& info, std::uint64_t moved) override {
        progressed = true;
        owner_.delivered_.insert(info.name);
        owner_.display_.fileFinished(info, moved);
    }
    void fileUpToDate(const ft::FileInfo& info) override {
        progressed = true;
        // Delivered by an earlier attempt of this run: counted there.
        if (owner_.delivered_.count(info.name) == 0) owner_.display_.fileUpToDate(info);
    }
    void wouldTransfer(const ft::FileInfo& info) override {
        progressed = true;
        owner_.display_.wouldTransfer(info);
    }
    void directoryMade(const ft::FileInfo& info) override { owner_.display_.directoryMade(info); }
    void fileFailed(const std::string& name, const std::string& code,
                    const std::string& message) override {
        if (code == ft::code::exists && owner_.delivered_.count(name) != 0) return;  // ours
        if (retryable(code)) {
            repairable.push_back({name, code, message});
            return;
        }
        // A retry meets the same refusal again: say it once.
        if (owner_.reported_.insert(name + '\n' + code).second) {
            owner_.display_.fileFailed(name, code, message);
        }
    }
    void note(const std::string& message) override { owner_.display_.note(message); }
    void sessionEnded(const std::string& error) override {
        ended = true;
        sessionError = error;
    }

    struct Failed {
        std::string name, code, message;
    };
    std::vector<Failed> repairable;
    std::string sessionError;
    bool ended = false;
    bool progressed = false;

private:
    RetryingClient& owner_;
    std::uint64_t plannedFiles_ = 0;  // this attempt's plans, summed
    std::uint64_t plannedBytes_ = 0;
};

RetryingClient::RetryingClient(twine::ReactorTime& time, std::string endpoint, MakeClient make,
                               ProgressDisplay& display, twine::ReconnectPolicy policy,
                               Explain explain)
    : ReconnectingClientFactory(time, {}, policy),
      endpoint_(std::move(endpoint)),
      make_(std::move(make)),
      display_(display),
      explain_(std::move(explain)) {}

RetryingClient::~RetryingClient() = default;

std::unique_ptr<twine::Protocol> RetryingClient::buildProtocol(const twine::Address& address) {
    (void)address;
    // Only a session that got somewhere starts the retry count again, so a
    // server answering "busy" forever is still given up on.
    if (attempt_ && attempt_->progressed) resetDelay();
    previous_.push_back(std::move(attempt_));  // its session may still report while it ends
    attempt_ = std::make_unique<Attempt>(*this);
    ++attempts_;
    return make_(*attempt_);
}

void RetryingClient::clientConnectionFailed(twine::Connector& connector,
                                            const twine::Failure& reason) {
    if (finished_) return;
    std::string what = explain_ ? explain_(reason.what()) : reason.what();
    // A refused handshake (wrong token, wrong mode) will be refused again.
    if (reason.check<twine::TLSError>() ||
        !retryAfter(connector, reason, "cannot connect: " + what)) {
        finished_ = true;
        stopTrying();
        display_.connectFailed(endpoint_, what);
    }
}

void RetryingClient::clientConnectionLost(twine::Connector& connector,
                                          const twine::Failure& reason) {
    if (finished_) return;
    Attempt& attempt = *attempt_;
    const std::string& error = attempt.sessionError;
    if (error.empty() && attempt.repairable.empty()) return finish("");
    // The peer refused the session (wrong token, version), we refused the
    // peer, or it closed before the session began: trying again changes nothing.
    const bool refused =
        !error.empty() &&
        (error.rfind("peer: ", 0) == 0 || contains(error, "before the session began") ||
         (reason.check<twine::ConnectionDone>() && !contains(error, "closed before the transfer")));
    std::string what = !error.empty() ? "connection lost: " + error
                                      : attempt.repairable.front().name + ": " +
                                            attempt.repairable.front().message + " [" +
                                            attempt.repairable.front().code + "]";
    if (!refused && retryAfter(connector, reason, what)) return;
    for (const auto& failed : attempt.repairable) {
        display_.fileFailed(failed.name, failed.code, failed.message);
    }
    finish(refused ? error
                   : "giving up after " + std::to_string(retries() - 1) + " retries: " + what);
}

bool RetryingClient::retryAfter(twine::Connector& connector, const twine::Failure& reason,
                                const std::string& what) {
    ReconnectingClientFactory::clientConnectionFailed(connector, reason);
    if (!retryPending()) return false;
    std::fprintf(stderr, "twine-ft: %s; retry %u of %u in %s\n", what.c_str(), retries(),
                 policy().maxRetries.value_or(0), seconds(delay()).c_str());
    return true;
}

void RetryingClient::finish(const std::string& error) {
    finished_ = true;
    stopTrying();
    display_.sessionEnded(error);
}

}  // namespace twine_ft
