#include <twine/protocols/filetransfer/transfer_error.hpp>
#include <twine/protocols/filetransfer/transfer_server.hpp>

namespace twine::filetransfer {

TransferServer::TransferServer(std::shared_ptr<ReceiveRoot> root, std::string token,
                               ReactorTime& time, TransferObserver& observer)
    : TransferProtocol(Role::server, std::move(token), time, observer), root_(std::move(root)) {
    setReceiveRoot(root_);
}

void TransferServer::handleMessage(const Message& message) {
    if (message.verb() == "BYE") {
        transport().loseConnection();
        return;
    }
    if (message.verb() != "GET" || sending() || receiving()) {
        TransferProtocol::handleMessage(message);
        return;
    }
    const std::string& name = message.get("name");
    std::vector<OutgoingEntry> entries;
    try {
        entries = listServed(root_->dir(), name,
                             [this](const std::string& note) { observer().note(note); });
    } catch (const TransferError& error) {
        sendFileError(name, error.code(), error.what());
        observer().fileFailed(name, error.code(), error.what());
        return;
    }
    fetching_ = name;
    queueOutgoing(std::move(entries));
}

void TransferServer::outgoingDrained() {
    if (fetching_.empty()) return;
    send(Message("END").set("name", fetching_));
    fetching_.clear();
}

TransferServerFactory::TransferServerFactory(std::shared_ptr<ReceiveRoot> root, std::string token,
                                             ReactorTime& time,
                                             std::shared_ptr<TransferObserver> observer)
    : root_(std::move(root)),
      token_(std::move(token)),
      time_(time),
      observer_(std::move(observer)) {}

std::unique_ptr<Protocol> TransferServerFactory::buildProtocol(const Address& address) {
    (void)address;
    auto protocol = std::make_unique<TransferServer>(root_, token_, time_, *observer_);
    protocol->setFactory(this);
    return protocol;
}

}  // namespace twine::filetransfer
