#include <twine/transports/loopback_pump.hpp>

#include <twine/core/error.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/guard.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace twine::detail {

/// One side of a loopback connection: the transport its protocol writes to.
/// Writes queue here until the pump delivers them to the other side.
class LoopbackEnd final : public Transport {
public:
    LoopbackEnd(Protocol* protocol, Address host, Address peer)
        : protocol_(protocol), host_(std::move(host)), peer_(std::move(peer)) {}

    using Transport::write;
    void write(std::string_view data) override;
    void write(std::string&& data) override;
    void loseConnection() override { disconnecting_ = true; }
    void abortConnection() override {
        disconnecting_ = true;
        aborted_ = true;
    }
    void loseWriteConnection() override { writeShut_ = true; }
    bool disconnecting() const override { return disconnecting_; }
    Address getPeer() const override { return peer_; }
    Address getHost() const override { return host_; }
    std::size_t bufferSize() const override { return out_.size() - sent_; }
    void setWriteBufferWaterMarks(std::size_t high, std::size_t low) override;
    void registerProducer(Producer& producer, bool streaming) override;
    void unregisterProducer() override { producer_ = nullptr; }
    void pauseProducing() override { readPaused_ = true; }
    void resumeProducing() override { readPaused_ = false; }

    // The pump's steps; each returns true if something happened.
    void start();
    bool pullFromProducer();
    bool deliverTo(LoopbackEnd& other, std::size_t chunkSize);
    bool shutWrite(LoopbackEnd& other);
    /// Delivers connectionLost (once) and unbinds the protocol.
    void lose(const Failure& reason);

    bool lost() const { return lost_; }
    bool aborted() const { return aborted_; }
    bool failed() const { return failed_; }
    bool writeShutDone() const { return writeShutDone_; }
    /// loseConnection was called and everything written has been delivered.
    bool doneWriting() const { return disconnecting_ && bufferSize() == 0; }

private:
    void receive(std::string_view data);
    // An exception from the protocol: logged by guarded; the connection is
    // dropped, as a real transport does.
    void fail();
    void drained(std::size_t bytes);
    void checkHighWater();

    Protocol* protocol_;
    Address host_;
    Address peer_;
    std::string out_;
    std::size_t sent_ = 0;  // bytes at the front of out_ already delivered
    Producer* producer_ = nullptr;
    bool streaming_ = false;
    bool producerPaused_ = false;
    std::size_t highWater_ = 64 * 1024;
    std::size_t lowWater_ = 16 * 1024;
    bool readPaused_ = false;
    bool disconnecting_ = false;
    bool aborted_ = false;
    bool failed_ = false;
    bool writeShut_ = false;
    bool writeShutDone_ = false;
    bool lost_ = false;
};

void LoopbackEnd::write(std::string_view data) {
    if (lost_ || writeShut_ || data.empty()) return;
    out_.append(data);
    checkHighWater();
}

void LoopbackEnd::write(std::string&& data) {
    if (lost_ || writeShut_ || data.empty()) return;
    if (bufferSize() == 0) {
        out_ = std::move(data);
        sent_ = 0;
    } else {
        out_.append(data);
    }
    checkHighWater();
}

void LoopbackEnd::setWriteBufferWaterMarks(std::size_t high, std::size_t low) {
    if (low > high) throw std::invalid_argument("LoopbackPump: low water mark above the high one");
    highWater_ = high;
    lowWater_ = low;
}

void LoopbackEnd::registerProducer(Producer& producer, bool streaming) {
    if (producer_ != nullptr) {
        throw std::logic_error("LoopbackPump: cannot register two producers at once");
    }
    if (lost_) {
        producer.stopProducing();
        return;
    }
    producer_ = &producer;
    streaming_ = streaming;
    producerPaused_ = false;
    checkHighWater();
}

void LoopbackEnd::checkHighWater() {
    if (producer_ == nullptr || !streaming_ || producerPaused_) return;
    if (bufferSize() <= highWater_) return;
    producerPaused_ = true;
    if (!guarded("LoopbackPump: pauseProducing", [&] { producer_->pauseProducing(); })) fail();
}

void LoopbackEnd::start() {
    if (protocol_ == nullptr) return;
    if (!guarded("LoopbackPump: makeConnection", [&] { protocol_->makeConnection(*this); })) {
        fail();
    }
}

bool LoopbackEnd::pullFromProducer() {
    if (producer_ == nullptr || streaming_ || lost_ || writeShut_ || bufferSize() != 0) {
        return false;
    }
    Producer* before = producer_;
    if (!guarded("LoopbackPump: resumeProducing", [&] { producer_->resumeProducing(); })) fail();
    return bufferSize() != 0 || producer_ != before || failed_;
}

bool LoopbackEnd::deliverTo(LoopbackEnd& other, std::size_t chunkSize) {
    if (lost_ || aborted_ || other.lost_ || other.readPaused_ || bufferSize() == 0) return false;
    const std::size_t n = std::min(chunkSize, bufferSize());
    // A copy: the receiver may write to this end (a chat room broadcasting)
    // while it reads the chunk.
    const std::string chunk = out_.substr(sent_, n);
    drained(n);
    other.receive(chunk);
    return true;
}

void LoopbackEnd::receive(std::string_view data) {
    if (protocol_ == nullptr || disconnecting_) return;  // a closing socket reads no more
    if (!guarded("LoopbackPump: dataReceived", [&] { protocol_->dataReceived(data); })) fail();
}

void LoopbackEnd::drained(std::size_t bytes) {
    sent_ += bytes;
    // Compacts only when at least half is dead: linear in all, however small
    // the chunks.
    if (sent_ == out_.size()) {
        out_.clear();
        sent_ = 0;
    } else if (sent_ > out_.size() / 2) {
        out_.erase(0, sent_);
        sent_ = 0;
    }
    if (producer_ != nullptr && streaming_ && producerPaused_ && bufferSize() <= lowWater_) {
        producerPaused_ = false;
        if (!guarded("LoopbackPump: resumeProducing", [&] { producer_->resumeProducing(); })) {
            fail();
        }
    }
}

bool LoopbackEnd::shutWrite(LoopbackEnd& other) {
    if (!writeShut_ || writeShutDone_ || lost_ || bufferSize() != 0) return false;
    writeShutDone_ = true;
    if (protocol_ != nullptr) {
        guarded("LoopbackPump: writeConnectionLost", [&] { protocol_->writeConnectionLost(); });
    }
    if (other.protocol_ != nullptr && !other.lost_) {
        if (!guarded("LoopbackPump: readConnectionLost",
                     [&] { other.protocol_->readConnectionLost(); })) {
            other.fail();
        }
    }
    return true;
}

void LoopbackEnd::fail() {
    failed_ = true;
    abortConnection();
}

void LoopbackEnd::lose(const Failure& reason) {
    if (lost_) return;
    lost_ = true;
    disconnecting_ = true;
    out_.clear();
    sent_ = 0;
    if (Producer* producer = std::exchange(producer_, nullptr)) {
        guarded("LoopbackPump: stopProducing", [&] { producer->stopProducing(); });
    }
    if (protocol_ == nullptr) return;
    guarded("LoopbackPump: connectionLost", [&] { protocol_->connectionLost(reason); });
    protocol_->setTransport(nullptr);
}

}  // namespace twine::detail

namespace twine {

namespace {

// Delivers the close of one side (if it is due) to both sides.
bool closeIfDue(detail::LoopbackEnd& a, detail::LoopbackEnd& b) {
    if (a.lost() && b.lost()) return false;
    if (a.aborted()) {
        a.lose(a.failed() ? Failure(ConnectionLost("the protocol raised an exception"))
                          : Failure(ConnectionAborted()));
        b.lose(ConnectionLost());
        return true;
    }
    if (a.doneWriting() || (a.writeShutDone() && b.writeShutDone())) {
        a.lose(ConnectionDone());
        b.lose(ConnectionDone());
        return true;
    }
    return false;
}

}  // namespace

LoopbackPump::LoopbackPump(Protocol& client, Protocol& server)
    : client_(&client), server_(&server) {
    connect();
}

LoopbackPump::LoopbackPump(Protocol& client, Factory& serverFactory)
    : ownedServer_(serverFactory.buildProtocol(defaultClientAddress())),
      client_(&client),
      server_(ownedServer_.get()) {
    connect();
}

void LoopbackPump::connect() {
    clientEnd_ = std::make_unique<detail::LoopbackEnd>(client_, defaultClientAddress(),
                                                       defaultServerAddress());
    serverEnd_ = std::make_unique<detail::LoopbackEnd>(server_, defaultServerAddress(),
                                                       defaultClientAddress());
    // As a refusing server does: accept, then close at once.
    if (server_ == nullptr) serverEnd_->loseConnection();
    serverEnd_->start();
    clientEnd_->start();
}

LoopbackPump::~LoopbackPump() {
    clientEnd_->lose(ConnectionLost("the loopback pump was destroyed"));
    serverEnd_->lose(ConnectionLost("the loopback pump was destroyed"));
}

void LoopbackPump::setChunkSize(std::size_t bytes) {
    if (bytes == 0) throw std::invalid_argument("LoopbackPump: the chunk size must be positive");
    chunkSize_ = bytes;
}

bool LoopbackPump::pumpOnce() {
    bool moved = clientEnd_->pullFromProducer();
    moved = serverEnd_->pullFromProducer() || moved;
    moved = clientEnd_->deliverTo(*serverEnd_, chunkSize_) || moved;
    moved = serverEnd_->deliverTo(*clientEnd_, chunkSize_) || moved;
    moved = clientEnd_->shutWrite(*serverEnd_) || moved;
    moved = serverEnd_->shutWrite(*clientEnd_) || moved;
    moved = closeIfDue(*clientEnd_, *serverEnd_) || moved;
    moved = closeIfDue(*serverEnd_, *clientEnd_) || moved;
    return moved;
}

void LoopbackPump::pump() {
    for (std::size_t round = 0; round < maxRounds_; ++round) {
        if (!pumpOnce()) return;
    }
    throw std::runtime_error("LoopbackPump: still moving data after " + std::to_string(maxRounds_) +
                             " rounds (do the protocols answer each other forever?)");
}

Transport& LoopbackPump::clientTransport() {
    return *clientEnd_;
}
Transport& LoopbackPump::serverTransport() {
    return *serverEnd_;
}

bool LoopbackPump::closed() const {
    return clientEnd_->lost() && serverEnd_->lost();
}

}  // namespace twine
