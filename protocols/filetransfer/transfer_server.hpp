#pragma once

#include <twine/core/factory.hpp>
#include <twine/protocols/filetransfer/transfer_protocol.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace twine::filetransfer {

/// The serving side of a connection: receives pushed files into the root
/// and sends what a client fetches from it (GET name ... END).
class TransferServer final : public TransferProtocol {
public:
    /// How long an offer for a name another connection is still receiving
    /// waits for it (a dead sender's connection draining) before "busy".
    static constexpr std::chrono::seconds drainWait{10};

    /// Runs a function on this connection's reactor from any thread
    /// (Reactor::callFromThread): how news from a root shared with other
    /// reactors reaches it. Empty: the root is only used on this reactor.
    using Post = std::function<void(std::function<void()>)>;

    /// Serves `root` (shared with the other connections) to clients that
    /// prove `token`. `time` and `observer` must outlive it.
    TransferServer(std::shared_ptr<ReceiveRoot> root, std::string token, ReactorTime& time,
                   TransferObserver& observer, Post post = {});
    ~TransferServer() override;

    void lineReceived(std::string_view line) override;
    void connectionLost(const Failure& reason) override;

protected:
    void handleMessage(const Message& message) override;
    void outgoingDrained() override;

private:
    bool waitForDrain(std::string_view line);
    void stopWaiting();
    void endWait();

    void nameReleased();

    std::shared_ptr<ReceiveRoot> root_;
    ReactorTime& time_;
    Post post_;
    // Expires with this connection: a release posted from another reactor
    // checks it, on this one, before touching the connection.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::string fetching_;
    // A FILE line held back, reading paused, while its name drains.
    std::string held_;
    std::optional<std::uint64_t> waiter_;
    DelayedCall waitTimer_;
    DelayedCall resumeCall_;
};

/// Builds a TransferServer per connection, all sharing one root (so a
/// second upload to a name in progress is "busy") and one observer. With a
/// ReactorPool, make one factory per worker, each given its worker's reactor
/// as `time` and its callFromThread as `post`, all sharing the root.
class TransferServerFactory final : public ServerFactory {
public:
    /// Each connection gets TransferServer(root, token, time, *observer, post);
    /// `time` must outlive the factory.
    TransferServerFactory(std::shared_ptr<ReceiveRoot> root, std::string token, ReactorTime& time,
                          std::shared_ptr<TransferObserver> observer,
                          TransferServer::Post post = {});
    std::unique_ptr<Protocol> buildProtocol(const Address& address) override;

private:
    std::shared_ptr<ReceiveRoot> root_;
    std::string token_;
    ReactorTime& time_;
    std::shared_ptr<TransferObserver> observer_;
    TransferServer::Post post_;
};

}  // namespace twine::filetransfer
