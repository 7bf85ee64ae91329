#pragma once

#include <twine/core/factory.hpp>
#include <twine/protocols/filetransfer/transfer_protocol.hpp>

#include <memory>
#include <string>

namespace twine::filetransfer {

/// The serving side of a connection: receives pushed files into the root
/// and sends what a client fetches from it (GET name ... END).
class TransferServer final : public TransferProtocol {
public:
    TransferServer(std::shared_ptr<ReceiveRoot> root, std::string token, ReactorTime& time,
                   TransferObserver& observer);

protected:
    void handleMessage(const Message& message) override;
    void outgoingDrained() override;

private:
    std::shared_ptr<ReceiveRoot> root_;
    std::string fetching_;
};

/// Builds a TransferServer per connection, all sharing one root (so a
/// second upload to a name in progress is "busy") and one observer.
class TransferServerFactory final : public ServerFactory {
public:
    TransferServerFactory(std::shared_ptr<ReceiveRoot> root, std::string token, ReactorTime& time,
                          std::shared_ptr<TransferObserver> observer);
    std::unique_ptr<Protocol> buildProtocol(const Address& address) override;

private:
    std::shared_ptr<ReceiveRoot> root_;
    std::string token_;
    ReactorTime& time_;
    std::shared_ptr<TransferObserver> observer_;
};

}  // namespace twine::filetransfer
