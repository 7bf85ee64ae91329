#pragma once

#include <twine/core/address.hpp>
#include <twine/core/protocol.hpp>  // complete Protocol: Transport::exchangeProtocol needs it
#include <twine/core/transport.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace twine {

/// An in-memory transport for unit tests, as Twisted's
/// twisted.internet.testing.StringTransport: it records what a protocol does
/// to its connection and never delivers anything by itself.
///
///     Echo p; StringTransport t; p.makeConnection(t);
///     p.dataReceived("hi");  // t.value() == "hi"
class StringTransport : public Transport {
public:
    /// Whether the protocol last asked reading to pause, resume or stop.
    enum class ProducerState { producing, paused, stopped };

    /// A transport that reports `host` and `peer` as its addresses.
    explicit StringTransport(Address host = defaultHost(), Address peer = defaultPeer());

    /// Everything written so far.
    const std::string& value() const { return written_; }
    /// Forgets what was written.
    void clear() { written_.clear(); }

    using Transport::write;  ///< Every Transport::write overload.
    /// Appends to value().
    void write(std::string_view data) override { written_.append(data); }
    /// Appends to value().
    void write(std::string&& data) override;

    /// Only records the request: no connectionLost is called (call it yourself).
    void loseConnection() override { disconnecting_ = true; }
    /// Records the request, as loseConnection, and sets aborted().
    void abortConnection() override;
    /// Sets writeClosed(); no writeConnectionLost is called.
    void loseWriteConnection() override { writeClosed_ = true; }
    bool disconnecting() const override { return disconnecting_; }
    /// True after abortConnection.
    bool aborted() const { return aborted_; }
    /// True after loseWriteConnection.
    bool writeClosed() const { return writeClosed_; }

    Address getPeer() const override { return peer_; }
    Address getHost() const override { return host_; }
    /// Changes what getPeer() reports.
    void setPeer(Address peer) { peer_ = std::move(peer); }
    /// Changes what getHost() reports.
    void setHost(Address host) { host_ = std::move(host); }

    /// Nothing is ever queued: written data is recorded at once.
    std::size_t bufferSize() const override { return 0; }

    /// Records the producer; a second one throws std::logic_error, as in Twisted.
    void registerProducer(Producer& producer, bool streaming) override;
    /// Forgets the producer; throws std::logic_error if none is registered.
    void unregisterProducer() override;
    /// The registered producer, or nullptr.
    Producer* producer() const { return producer_; }
    /// Whether it was registered as a streaming (push) producer.
    bool streaming() const { return streaming_; }

    /// Reading state, as the protocol asked for it (pause/resume/stopProducing).
    void pauseProducing() override { producerState_ = ProducerState::paused; }
    void resumeProducing() override { producerState_ = ProducerState::producing; }
    /// Records ProducerState::stopped and a loseConnection.
    void stopProducing() override;
    /// The reading state last asked for.
    ProducerState producerState() const { return producerState_; }

    /// 127.0.0.1:12345, what getHost() reports by default.
    static Address defaultHost() { return Address::ipv4("127.0.0.1", 12345); }
    /// 127.0.0.1:54321, what getPeer() reports by default.
    static Address defaultPeer() { return Address::ipv4("127.0.0.1", 54321); }

private:
    std::string written_;
    Address host_;
    Address peer_;
    Producer* producer_ = nullptr;
    bool streaming_ = false;
    bool disconnecting_ = false;
    bool aborted_ = false;
    bool writeClosed_ = false;
    ProducerState producerState_ = ProducerState::producing;
};

}  // namespace twine
