#include <twine/protocols/filetransfer/transfer_client.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>

namespace twine::filetransfer {

TransferClient::TransferClient(Push job, std::string token, ReactorTime& time,
                               TransferObserver& observer)
    : TransferProtocol(Role::client, std::move(token), time, observer),
      paths_(std::move(job.paths)),
      offering_(job.offering) {}

TransferClient::TransferClient(Fetch job, std::string token, ReactorTime& time,
                               TransferObserver& observer)
    : TransferProtocol(Role::client, std::move(token), time, observer),
      offering_(job.offering),
      names_(job.names.begin(), job.names.end()),
      fetching_(true) {
    setReceiveRoot(std::move(job.into));
}

void TransferClient::authenticated() {
    if (fetching_) {
        fetchNext();
        return;
    }
    std::vector<OutgoingEntry> entries;
    auto note = [this](const std::string& text) { observer().note(text); };
    for (const std::string& path : paths_) {
        try {
            for (auto& entry : listLocal(path, note)) entries.push_back(std::move(entry));
        } catch (const TransferError& error) {
            observer().fileFailed(path, error.code(), error.what());
        }
    }
    queueOutgoing(std::move(entries), offering_);
}

void TransferClient::outgoingDrained() {
    if (!fetching_) bye();
}

void TransferClient::fetchNext() {
    while (!names_.empty()) {
        std::string name = names_.front();
        names_.pop_front();
        try {
            asked_.emplace(name);
        } catch (const TransferError& error) {
            observer().fileFailed(name, error.code(), error.what());
            continue;
        }
        Message get("GET");
        get.set("name", name);
        if (offering_.checksum) get.set("checksum", 1);
        if (offering_.dryRun) get.set("dry-run", 1);
        if (offering_.compress) get.set("compress", 1);
        send(get);
        return;
    }
    asked_.reset();
    bye();
}

void TransferClient::bye() {
    completed_ = true;
    send(Message("BYE"));
    closeConnection();
}

void TransferClient::handleMessage(const Message& message) {
    bool answersGet = fetching_ && asked_ && message.has("name") &&
                      message.get("name") == asked_->str() && !receiving();
    if (answersGet && message.verb() == "END") {
        fetchNext();
    } else if (answersGet && message.verb() == "ERROR") {
        observer().fileFailed(message.get("name"),
                              message.has("code") ? message.get("code") : code::unexpected,
                              message.has("message") ? message.get("message") : "refused");
        fetchNext();
    } else {
        TransferProtocol::handleMessage(message);
    }
}

void TransferClient::finished(const std::string& error) {
    if (error.empty() && !completed_ && !isAuthenticated()) {
        // Typically a peer expecting TLS (or plain text) that dropped our bytes.
        TransferProtocol::finished(
            "the server closed the connection before the session began (does it expect "
            "an encrypted connection, or another token?)");
    } else if (error.empty() && !completed_) {
        TransferProtocol::finished("connection closed before the transfer finished");
    } else {
        TransferProtocol::finished(error);
    }
}

void TransferClient::checkOffer(const FileInfo& info) {
    SafeName offered(info.name);
    if (!fetching_ || !asked_ || !offered.within(*asked_)) {
        throw TransferError(code::badName,
                            "the server offered '" + offered.str() + "', which was not asked for");
    }
}

}  // namespace twine::filetransfer
