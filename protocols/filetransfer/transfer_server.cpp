#include <twine/protocols/filetransfer/transfer_error.hpp>
#include <twine/protocols/filetransfer/transfer_server.hpp>

#include <twine/core/reactor_time.hpp>

#include <utility>

namespace twine::filetransfer {

TransferServer::TransferServer(std::shared_ptr<ReceiveRoot> root, std::string token,
                               ReactorTime& time, TransferObserver& observer, Post post)
    : TransferProtocol(Role::server, std::move(token), time, observer),
      root_(std::move(root)),
      time_(time),
      post_(std::move(post)) {
    setReceiveRoot(root_);
}

TransferServer::~TransferServer() {
    stopWaiting();
}

void TransferServer::lineReceived(std::string_view line) {
    if (held_.empty() && isAuthenticated() && waitForDrain(line)) return;
    TransferProtocol::lineReceived(line);
}

// An offer for a name that another connection still holds (a sender killed
// a moment ago, whose connection is still being read to its end) waits for
// that connection to let go, so the new one resumes from the partial
// instead of failing "busy". Reading stops meanwhile, keeping the order.
bool TransferServer::waitForDrain(std::string_view line) {
    // Most lines are not offers: they are not decoded twice.
    if (!line.starts_with("FILE ")) return false;
    std::string name;
    try {
        Message message = Message::decode(line);
        if (!message.has("name")) return false;
        name = SafeName(message.get("name")).str();
        if (!root_->receiving(name)) return false;  // the common case, at once
        // This connection's own earlier offer of the name: "busy" at once
        // (its data comes after this line, so waiting would stall it).
        if (receivingName(name)) return false;
    } catch (const TransferError&) {
        return false;  // the protocol reports it
    }
    // The release may come from a connection on another reactor's thread:
    // it is handed to this one, where the connection may be gone by then.
    waiter_ = root_->whenReleased(name, [this, alive = std::weak_ptr<bool>(alive_), post = post_] {
        auto onThisReactor = [this, alive] {
            if (!alive.expired()) nameReleased();
        };
        post ? post(std::move(onThisReactor)) : onThisReactor();
    });
    if (!waiter_) return false;
    held_ = std::string(line);
    pauseProducing();
    waitTimer_ = time_.callLater(drainWait, [this] { endWait(); });
    return true;
}

void TransferServer::nameReleased() {
    waiter_.reset();
    // Not from inside the other connection's teardown.
    resumeCall_ = time_.callLater(Duration(0), [this] { endWait(); });
}

void TransferServer::endWait() {
    stopWaiting();
    std::string line = std::exchange(held_, {});
    if (line.empty()) return;
    TransferProtocol::lineReceived(line);  // still "busy" if the wait ran out
    resumeProducing();
}

void TransferServer::stopWaiting() {
    if (waiter_) root_->cancelWait(*waiter_);
    waiter_.reset();
    for (DelayedCall* call : {&waitTimer_, &resumeCall_}) {
        if (call->active()) call->cancel();
    }
}

void TransferServer::connectionLost(const Failure& reason) {
    stopWaiting();
    held_.clear();
    TransferProtocol::connectionLost(reason);
}

void TransferServer::handleMessage(const Message& message) {
    if (message.verb() == "BYE") {
        closeConnection();
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
    Offering offering;
    offering.checksum = message.has("checksum");
    offering.dryRun = message.has("dry-run");
    offering.compress = message.has("compress");
    queueOutgoing(std::move(entries), offering);
}

void TransferServer::outgoingDrained() {
    if (fetching_.empty()) return;
    send(Message("END").set("name", fetching_));
    fetching_.clear();
}

TransferServerFactory::TransferServerFactory(std::shared_ptr<ReceiveRoot> root, std::string token,
                                             ReactorTime& time,
                                             std::shared_ptr<TransferObserver> observer,
                                             TransferServer::Post post)
    : root_(std::move(root)),
      token_(std::move(token)),
      time_(time),
      observer_(std::move(observer)),
      post_(std::move(post)) {}

std::unique_ptr<Protocol> TransferServerFactory::buildProtocol(const Address& address) {
    (void)address;
    auto protocol = std::make_unique<TransferServer>(root_, token_, time_, *observer_, post_);
    protocol->setFactory(this);
    return protocol;
}

}  // namespace twine::filetransfer
