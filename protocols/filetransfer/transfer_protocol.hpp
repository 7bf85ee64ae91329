#pragma once

#include <twine/protocols/filetransfer/commit_queue.hpp>
#include <twine/protocols/filetransfer/file_sender.hpp>
#include <twine/protocols/filetransfer/local_tree.hpp>
#include <twine/protocols/filetransfer/message.hpp>
#include <twine/protocols/filetransfer/receive_root.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>
#include <twine/protocols/filetransfer/transfer_observer.hpp>
#include <twine/protocols/filetransfer/write_behind.hpp>
#include <twine/protocols/filetransfer/zstd_chunks.hpp>
#include <twine/protocols/line_receiver.hpp>

#include <twine/core/delayed_call.hpp>

#include <chrono>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace twine {
class ReactorTime;
}

namespace twine::filetransfer {

/// How the sending side offers files (twine-ft's --checksum, --dry-run).
struct Offering {
    /// Offers each file's digest: the receiver compares contents, not size
    /// and mtime (the sender reads every file first).
    bool checksum = false;
    /// Asks the receiver only what it would do; nothing is written.
    bool dryRun = false;
    /// Sends file data as zstd frames, except files that do not shrink.
    bool compress = false;
};

/// What the client and the server protocols share (PROTOCOL.md): control
/// messages as lines, the HELLO / AUTH / WELCOME handshake, and the two
/// halves of moving a file — the sending side (FILE, DATA + raw bytes, DONE)
/// and the receiving side (RESUME, OK / ERROR). Which side sends depends on
/// the command (push or fetch), not on who connected.
class TransferProtocol : public LineReceiver {
public:
    /// 2: TLS keyed by the token by default, SAME for files the receiver
    /// already has, and XXH3-128 file digests.
    static constexpr int version = 2;
    /// What HELLO's `caps` lists.
    static constexpr const char* capabilities =
        "resume,tree,xxh128,same,window,checksum,dry-run,zstd,zstd-batch,plan,window-done";
    /// A peer must complete the handshake within this time, so a silent
    /// connection cannot hold a server slot forever.
    static constexpr std::chrono::seconds handshakeTimeout{30};
    /// After an ERROR that ends the session this end half-closes and drops
    /// what still arrives until the peer closes, or this long has passed.
    static constexpr std::chrono::seconds lingerTimeout{10};
    /// Files (and directories) this end accepts offered and not yet
    /// answered, as a receiver, announced in HELLO's `window`: a tree moves
    /// without a round trip per file. A sender offers at most the peer's
    /// window, or legacyWindow if its HELLO names none. A receiver refuses a
    /// FILE beyond it, bounding its open files (one a file, until it is OK).
    /// A file whose DONE has come no longer counts if the receiver's HELLO
    /// lists `window-done` (see commitBacklog).
    static constexpr std::size_t window = 1024;
    /// Files whose DONE has come and that are still being made durable: at
    /// this many the receiver stops reading until groups of them are in
    /// place. So an offer's slot is free once its DONE is sent (the sender
    /// need not wait for the OK, a sync and a round trip later), and the
    /// files held open stay bounded: at most window + commitBacklog.
    static constexpr std::size_t commitBacklog = 1024;
    /// The window of a peer whose HELLO does not name one (twine-ft before
    /// HELLO had `window`).
    static constexpr std::size_t legacyWindow = 128;
    /// Files up to this size go out in one write with their DATA and DONE.
    static constexpr std::uint64_t inlineLimit = 64 * 1024;
    /// Which end of the handshake this is (the side that connected or accepted).
    enum class Role { client, server };

    /// `token` is the shared secret both sides prove; `time` (timers; a
    /// Reactor also enables write-behind) and `observer` must outlive it.
    TransferProtocol(Role role, std::string token, ReactorTime& time, TransferObserver& observer);
    ~TransferProtocol() override;

    void connectionMade() override;
    void dataReceived(std::string_view data) override;
    void lineReceived(std::string_view line) override;
    void rawDataReceived(std::string_view data) override;
    void lineLengthExceeded(std::string_view data) override;
    void connectionLost(const Failure& reason) override;

    /// True once both sides have proved the token.
    bool isAuthenticated() const { return state_ == State::ready; }

    /// How received files of a buffer or more are written: on a worker
    /// thread (WriteBehind) whose results `post` brings back to the loop
    /// thread. Under a Reactor the constructor sets its callFromThread;
    /// without one (a Clock in tests) files are written on the loop thread
    /// unless this is called. An empty `post` writes on the loop thread.
    void setWriteBehind(WriteBehind::Post post, WriteBehind::Options options = {});

protected:
    /// Sends one control message as a line. While a read (or a batch of
    /// worker results) is handled, lines are gathered and go out together.
    void send(const Message& message);
    /// Sends what is gathered, then closes once everything is written.
    void closeConnection();
    /// Reports a session-level error to the peer and closes.
    void abortSession(const std::string& code, const std::string& message);
    /// Reports a failure about one file; the session goes on.
    void sendFileError(const std::string& name, const std::string& code,
                       const std::string& message);
    /// Where progress and outcomes are reported.
    TransferObserver& observer() { return observer_; }

    /// Authentication succeeded (both sides proved the token).
    virtual void authenticated() {}
    /// Messages the shared part does not handle; throws TransferError for
    /// an unknown or unexpected one.
    virtual void handleMessage(const Message& message);
    /// The session is over (the connection closed); `error` empty if clean.
    virtual void finished(const std::string& error) { observer_.sessionEnded(error); }

    // The sending side.
    /// Sends `entries` in order, after any already queued, up to `window`
    /// of them offered at a time, as `offering` says.
    void queueOutgoing(std::vector<OutgoingEntry> entries, Offering offering = {});
    /// Everything queued was sent and answered.
    virtual void outgoingDrained() {}
    /// True while files are being sent or more are queued.
    bool sending() const { return !inFlight_.empty() || !outgoing_.empty(); }

    // The receiving side.
    /// Where offered files are written; without one, an offer ends the
    /// session with "unexpected".
    void setReceiveRoot(std::shared_ptr<ReceiveRoot> root) { receiveRoot_ = std::move(root); }
    /// Lets a subclass refuse an offered name (fetch checks it was asked for).
    virtual void checkOffer(const FileInfo& info) { (void)info; }
    /// True while files are being received (accepted, arriving or being committed).
    bool receiving() const { return unanswered() > 0; }
    /// True if `name` (as SafeName spells it) was accepted on this
    /// connection and its data has not all arrived yet.
    bool receivingName(const std::string& name) const;

private:
    enum class State { hello, auth, welcome, ready };
    class Cork;
    struct Sending;
    // A list: answers remove files from anywhere, and inFlightByName_ keeps iterators.
    using InFlight = std::list<std::unique_ptr<Sending>>;

    void dispatch(const Message& message);
    void onHello(const Message& message);
    void onAuth(const Message& message);
    void onWelcome(const Message& message);
    void onError(const Message& message);
    void becomeReady();
    void cancelHandshakeTimer();
    void closeAfterError();

    Transport& wire();
    void emit(std::string&& bytes);
    void flushCorked();
    void batchCompressed(std::string data, std::string_view bytes, std::string done);
    void appendBatch();

    void sendNext();
    bool offerNext(std::string& offers);
    bool sendWhole(Sending& file);
    void streamNext();
    InFlight::iterator inFlightNamed(const std::string& name);
    void answered(InFlight::iterator file);
    void onResume(const Message& message);
    void startStreaming(Sending& file);
    void onStreamed(Sending& file);
    void onResult(const Message& message);
    void onSame(const Message& message);

    void onFile(const Message& message);
    void onDirectory(const Message& message);
    void onData(const Message& message);
    void onDone(const Message& message);
    void onChunk(const Message& message);
    void compressedDataReceived(std::string_view data);
    void storeAhead();
    void store(std::string_view data);
    static bool mayCompress(const Sending& file);
    bool compressing(const Sending& file);
    void startWriter(std::uint64_t length);
    void pauseForWriter();
    void resumeAfterWriter();
    void fileWritten(const TransferError* error);
    void commit(std::unique_ptr<IncomingFile> file);
    std::size_t unanswered() const;
    std::size_t offersOpen() const;
    std::size_t windowUsed() const;
    void updateReading();
    void reportFinished(const IncomingFile& file, const TransferError* error);
    void failIncoming(const TransferError& error);
    void incomingLost();

    Role role_;
    std::string token_;
    ReactorTime& time_;
    TransferObserver& observer_;
    State state_ = State::hello;
    std::string ourNonce_;
    std::string theirNonce_;
    std::string peerError_;
    DelayedCall handshakeTimer_;
    DelayedCall lingerTimer_;
    bool closing_ = false;
    bool lost_ = false;

    std::deque<OutgoingEntry> outgoing_;
    // Offered and not yet answered, in the order offered (the receiver
    // answers in that order, and data is sent in it, one file at a time).
    InFlight inFlight_;
    std::unordered_map<std::string, InFlight::iterator> inFlightByName_;
    // Accepted by RESUME and waiting to stream, in the order accepted.
    std::deque<Sending*> toStream_;
    Sending* streaming_ = nullptr;
    // streamNext is running, and was asked again meanwhile (see there).
    bool startingStream_ = false;
    bool streamAgain_ = false;
    // The most offers to keep in flight: the peer's window (HELLO).
    std::size_t peerWindow_ = legacyWindow;
    // The peer frees a window slot at DONE, not at OK (its HELLO lists
    // window-done); and how many in flight have had their DONE sent.
    bool peerFreesAtDone_ = false;
    std::size_t doneSent_ = 0;

    std::shared_ptr<ReceiveRoot> receiveRoot_;
    // RESUME sent, waiting for their DATA, in the order accepted.
    std::deque<std::unique_ptr<IncomingFile>> accepted_;
    // The file whose data is arriving (or being written out after DONE).
    std::unique_ptr<IncomingFile> incoming_;
    // Verified files being made durable; made when the first one is.
    std::unique_ptr<CommitQueue> commits_;
    std::uint64_t rawRemaining_ = 0;
    // --compress: the file's data comes as CHUNKs; the frame being read.
    bool compressed_ = false;
    std::uint64_t frameRemaining_ = 0;
    std::string frame_;
    std::unique_ptr<zstd_chunks::Decompressor> decompressor_;
    std::unique_ptr<zstd_chunks::Compressor> compressor_;
    // Received: bytes a CHUNK decoded to beyond its file's, the start of
    // the next compressed files' data (zstd-batch), of which the first
    // aheadUsed_ are taken; empty when nothing waits.
    std::string ahead_;
    std::size_t aheadUsed_ = 0;
    // Sending: the peer takes PLAN (its HELLO lists plan).
    bool peerPlans_ = false;
    // Sending: the peer takes a batch of small files in one CHUNK (its
    // HELLO lists zstd-batch), and the batch gathered while corked: the
    // first file's DATA line, every file's bytes, and the lines after the
    // CHUNK (the first DONE, then each other file's DATA and DONE).
    bool peerBatches_ = false;
    struct Batch {
        std::string head;
        std::string bytes;
        std::string tail;
    } batch_;
    std::uint64_t rawMoved_ = 0;
    WriteBehind::Post post_;
    WriteBehind::Options writeOptions_;
    // Answers (RESUME, OK, SAME, ERROR), offers and small files gathered
    // while corked_ > 0: a tree of small files costs one write (and a few
    // TLS records) per read, not one per file. Flushed at corkLimit bytes
    // or corkMessages pieces: a read can bring a whole window of offers,
    // and the sender should not wait for all their answers to start.
    static constexpr std::size_t corkLimit = 256 * 1024;
    static constexpr std::size_t corkMessages = 64;
    int corked_ = 0;
    std::size_t corkedCount_ = 0;
    std::string corkedLines_;
    // Lets posted worker results know whether this protocol is still there.
    std::shared_ptr<int> lifetime_ = std::make_shared<int>(0);
    // Declared after incoming_, so it is joined before the file it writes goes.
    std::unique_ptr<WriteBehind> writer_;
    // Reading is paused while the writer has no free buffer or is finishing
    // the file, or while commitBacklog files wait to be made durable.
    bool waitingForWriter_ = false;
    bool waitingForCommits_ = false;
    bool readingPaused_ = false;
};

/// Parses the FILE / DIR fields; throws TransferError("bad-message").
FileInfo fileInfoFrom(const Message& message);
/// The FILE or DIR message announcing `info`.
Message offerFor(const FileInfo& info);

}  // namespace twine::filetransfer
