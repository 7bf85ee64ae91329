#pragma once

#include "progress_display.hpp"

#include <twine/core/reconnecting_client_factory.hpp>
#include <twine/protocols/filetransfer/transfer_client.hpp>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace twine_ft {

/// The backoff twine-ft retries with: 0.5 s, 1, 2, 4, 8 s (jittered), so
/// five retries span about 15 s.
twine::ReconnectPolicy retryPolicy(unsigned retries);

/// A client session that survives faults within one run: a refused or lost
/// connection, or a file the server reports "busy", is retried with
/// ReconnectingClientFactory's backoff, up to the policy's maxRetries in a
/// row (a session that moved data starts the count again). Each retry is a
/// new session with the same job: the receiver resumes partial files, and a
/// file that arrived in an earlier attempt and is now refused as "exists"
/// counts as delivered. A wrong token, a version mismatch or a refused file
/// is final at once.
///
/// Only the final outcome reaches the display (its sessionEnded stops the
/// program), so failures that a retry repaired are not counted.
class RetryingClient final : public twine::ReconnectingClientFactory {
public:
    using MakeClient = std::function<std::unique_ptr<twine::filetransfer::TransferClient>(
        twine::filetransfer::TransferObserver&)>;
    /// Rewrites a connect or handshake failure for the user.
    using Explain = std::function<std::string(const std::string&)>;

    RetryingClient(twine::ReactorTime& time, std::string endpoint, MakeClient make,
                   ProgressDisplay& display, twine::ReconnectPolicy policy, Explain explain);
    ~RetryingClient() override;

    std::unique_ptr<twine::Protocol> buildProtocol(const twine::Address& address) override;
    void clientConnectionFailed(twine::Connector& connector, const twine::Failure& reason) override;
    void clientConnectionLost(twine::Connector& connector, const twine::Failure& reason) override;

    unsigned attempts() const { return attempts_; }

private:
    class Attempt;
    friend class Attempt;

    // Schedules a retry after `what`; false if the retries are used up.
    bool retryAfter(twine::Connector& connector, const twine::Failure& reason,
                    const std::string& what);
    void finish(const std::string& error);

    std::string endpoint_;
    MakeClient make_;
    ProgressDisplay& display_;
    Explain explain_;
    std::unique_ptr<Attempt> attempt_;
    std::vector<std::unique_ptr<Attempt>> previous_;
    // Names delivered in any attempt so far.
    std::set<std::string> delivered_;
    // Final failures shown so far ("name\ncode").
    std::set<std::string> reported_;
    unsigned attempts_ = 0;
    bool finished_ = false;
};

}  // namespace twine_ft
