#include <twine/core/reactor.hpp>
#include <twine/core/reactor_time.hpp>
#include <twine/protocols/filetransfer/auth.hpp>
#include <twine/protocols/filetransfer/resume.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>
#include <twine/protocols/filetransfer/transfer_protocol.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <system_error>

namespace twine::filetransfer {

struct TransferProtocol::Sending {
    // offered: FILE or DIR sent; accepted: RESUME came, waiting its turn to
    // stream; streaming: DATA and the bytes going out; answered: DONE sent.
    enum class Stage { offered, accepted, streaming, answered };
    OutgoingEntry entry;
    UniqueFd fd;
    FileDigest hash;
    std::unique_ptr<FileSender> sender;
    Stage stage = Stage::offered;
    std::uint64_t offset = 0;
    std::uint64_t moved = 0;
};

namespace {

[[noreturn]] void unexpected(const std::string& what) {
    throw TransferError(code::unexpected, "unexpected " + what);
}

std::uint32_t parseMode(const std::string& text) {
    if (text.empty() || text.size() > 4) throw TransferError(code::badMessage, "bad mode");
    std::uint32_t mode = 0;
    for (char c : text) {
        if (c < '0' || c > '7') throw TransferError(code::badMessage, "bad mode");
        mode = mode * 8 + static_cast<std::uint32_t>(c - '0');
    }
    return mode & 0777;
}

std::string formatMode(std::uint32_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%o", mode & 0777);
    return text;
}

// --checksum: the whole file's digest, offered with it.
std::string digestOfFile(int fd, std::uint64_t size) {
    FileDigest digest;
    digest.updateFromFile(fd, size);
    return digest.digest();
}

}  // namespace

FileInfo fileInfoFrom(const Message& message) {
    FileInfo info;
    info.directory = message.verb() == "DIR";
    info.name = message.get("name");
    info.size = info.directory ? 0 : message.getNumber("size");
    info.mode = parseMode(message.get("mode"));
    info.mtime = static_cast<std::int64_t>(message.getNumber("mtime"));
    if (!info.directory && message.has(FileDigest::field)) {
        info.digest = message.getHex(FileDigest::field, FileDigest::size);
    }
    info.dryRun = message.has("dry-run");
    return info;
}

Message offerFor(const FileInfo& info) {
    Message message(info.directory ? "DIR" : "FILE");
    message.set("name", info.name);
    if (!info.directory) message.set("size", info.size);
    message.set("mode", formatMode(info.mode));
    message.set("mtime", static_cast<std::uint64_t>(info.mtime < 0 ? 0 : info.mtime));
    if (!info.digest.empty()) message.set(std::string(FileDigest::field), toHex(info.digest));
    if (info.dryRun) message.set("dry-run", 1);
    return message;
}

TransferProtocol::TransferProtocol(Role role, std::string token, ReactorTime& time,
                                   TransferObserver& observer)
    : role_(role), token_(std::move(token)), time_(time), observer_(observer) {
    setDelimiter("\n");
    setMaxLength(Message::maxLineLength);
    if (auto* reactor = dynamic_cast<Reactor*>(&time)) {
        setWriteBehind(
            [reactor](std::function<void()> fn) { reactor->callFromThread(std::move(fn)); });
    }
}

// Holds back what send() and emit() write until the outermost scope ends, then writes it at once.
class TransferProtocol::Cork {
public:
    explicit Cork(TransferProtocol& protocol) : protocol_(protocol) { ++protocol_.corked_; }
    ~Cork() {
        if (--protocol_.corked_ == 0) protocol_.flushCorked();
    }
    Cork(const Cork&) = delete;
    Cork& operator=(const Cork&) = delete;

private:
    TransferProtocol& protocol_;
};

void TransferProtocol::setWriteBehind(WriteBehind::Post post, WriteBehind::Options options) {
    if (post) {
        // Worker results (a batch of committed files) are answered in one write too.
        post_ = [post = std::move(post), this,
                 alive = std::weak_ptr<int>(lifetime_)](std::function<void()> fn) {
            post([this, alive, fn = std::move(fn)] {
                if (alive.expired()) return fn();  // fn sees its own owner is gone
                Cork cork(*this);
                fn();
            });
        };
    } else {
        post_ = nullptr;
    }
    writeOptions_ = options;
}

TransferProtocol::~TransferProtocol() {
    cancelHandshakeTimer();
    if (lingerTimer_.active()) lingerTimer_.cancel();
}

void TransferProtocol::cancelHandshakeTimer() {
    if (handshakeTimer_.active()) handshakeTimer_.cancel();
}

void TransferProtocol::becomeReady() {
    cancelHandshakeTimer();
    state_ = State::ready;
    authenticated();
}

void TransferProtocol::connectionMade() {
    observer_.sessionStarted(transport().getPeer());
    handshakeTimer_ = time_.callLater(handshakeTimeout, [this] {
        abortSession(code::auth,
                     "no authentication within " + std::to_string(handshakeTimeout.count()) + " s");
    });
    ourNonce_ = auth::randomBytes(auth::nonceSize);
    Message hello("HELLO");
    hello.set("version", std::uint64_t{version})
        .set("role", role_ == Role::server ? "server" : "client")
        .set("caps", capabilities)
        .set("window", std::uint64_t{window})
        .set("nonce", toHex(ourNonce_));
    send(hello);
}

void TransferProtocol::dataReceived(std::string_view data) {
    Cork cork(*this);
    LineReceiver::dataReceived(data);
}

void TransferProtocol::send(const Message& message) {
    std::string line = message.encode();
    line += delimiter();
    emit(std::move(line));
}

void TransferProtocol::emit(std::string&& bytes) {
    // Uncorked, nothing is gathered (batch_ included) that should go first.
    if (corked_ == 0) return transport().write(std::move(bytes));
    appendBatch();
    corkedLines_ += bytes;
    if (corkedLines_.size() >= corkLimit || ++corkedCount_ >= corkMessages) flushCorked();
}

void TransferProtocol::flushCorked() {
    appendBatch();
    if (corkedLines_.empty() || !connected()) return;
    std::string lines = std::move(corkedLines_);
    corkedLines_.clear();
    corkedCount_ = 0;
    transport().write(std::move(lines));
}

// Small files sent compressed while corked go as one batch: a CHUNK under
// the first one's DATA holds all their bytes, compressed with one flush of
// the stream, and the others' DATA lines carry none. Flushing the stream at
// every file's end made each small file a block of its own: a tree of
// headers cost the sender 0.3 CPU-s more a 100 MiB, and 5% more bytes.
void TransferProtocol::batchCompressed(std::string data, std::string_view bytes, std::string done) {
    if (corked_ == 0) {
        data += compressor_->framed(bytes);
        data += done;
        return emit(std::move(data));
    }
    if (batch_.bytes.size() + bytes.size() > zstd_chunks::maxChunk) appendBatch();
    if (batch_.head.empty()) {
        batch_.head = std::move(data);
    } else {
        batch_.tail += data;
    }
    batch_.bytes += bytes;
    batch_.tail += done;
}

// The batch, framed, goes to the gathered lines (in its place among them).
void TransferProtocol::appendBatch() {
    if (batch_.head.empty()) return;
    corkedLines_ += batch_.head;
    corkedLines_ += compressor_->framed(batch_.bytes);
    corkedLines_ += batch_.tail;
    batch_ = Batch{};
}

// The transport, for anything written or done to it other than send():
// gathered lines go first, so the peer sees everything in order.
Transport& TransferProtocol::wire() {
    flushCorked();
    return transport();
}

void TransferProtocol::closeConnection() {
    wire().loseConnection();
}

// Our ERROR ends the session, but the peer may still be sending (a file's
// bytes, say). Closing with its bytes unread makes the kernel reset the
// connection, and the reset can destroy the ERROR before the peer reads it
// (it then sees only "connection reset"). So: a lingering close. Half-close
// (the peer reads the ERROR, then our end), drop whatever still arrives, and
// close when the peer does (readConnectionLost) or after lingerTimeout.
void TransferProtocol::closeAfterError() {
    closing_ = true;
    waitingForWriter_ = false;
    waitingForCommits_ = false;
    readingPaused_ = false;
    wire().loseWriteConnection();
    resumeProducing();
    lingerTimer_ = time_.callLater(lingerTimeout, [this] { transport().loseConnection(); });
}

void TransferProtocol::abortSession(const std::string& code, const std::string& message) {
    if (closing_) return;
    closing_ = true;
    if (peerError_.empty()) peerError_ = message;
    send(Message("ERROR").set("code", code).set("message", message));
    closeAfterError();
}

void TransferProtocol::sendFileError(const std::string& name, const std::string& code,
                                     const std::string& message) {
    send(Message("ERROR").set("name", name).set("code", code).set("message", message));
}

void TransferProtocol::lineReceived(std::string_view line) {
    if (closing_) return;
    try {
        dispatch(Message::decode(line));
    } catch (const TransferError& error) {
        abortSession(error.code(), error.what());
    } catch (const std::exception& error) {
        abortSession(code::io, error.what());
    }
}

void TransferProtocol::lineLengthExceeded(std::string_view data) {
    (void)data;
    abortSession(code::badMessage,
                 "control line longer than " + std::to_string(Message::maxLineLength) + " bytes");
}

void TransferProtocol::dispatch(const Message& message) {
    const std::string& verb = message.verb();
    if (verb == "ERROR") return onError(message);
    if (state_ != State::ready) {
        if (verb == "HELLO" && state_ == State::hello) return onHello(message);
        if (verb == "AUTH" && state_ == State::auth) return onAuth(message);
        if (verb == "WELCOME" && state_ == State::welcome) return onWelcome(message);
        throw TransferError(code::auth, "not authenticated: " + verb + " refused");
    }
    if (!ahead_.empty() && verb != "DONE" && verb != "DATA") {
        throw TransferError(code::badMessage, verb + " while compressed bytes wait for their file");
    }
    if (verb == "RESUME") return onResume(message);
    if (verb == "OK") return onResult(message);
    if (verb == "SAME") return onSame(message);
    if (verb == "FILE") return onFile(message);
    if (verb == "DIR") return onDirectory(message);
    if (verb == "DATA") return onData(message);
    if (verb == "DONE") return onDone(message);
    if (verb == "CHUNK") return onChunk(message);
    if (verb == "PLAN") {
        return observer_.transferPlanned(message.getNumber("files"), message.getNumber("bytes"));
    }
    handleMessage(message);
}

void TransferProtocol::handleMessage(const Message& message) {
    unexpected("message " + message.verb());
}

// --- Handshake -----------------------------------------------------------

void TransferProtocol::onHello(const Message& message) {
    if (message.get("version") != std::to_string(version)) {
        throw TransferError(code::version, "unsupported protocol version '" +
                                               message.get("version") + "' (this side speaks " +
                                               std::to_string(version) + ")");
    }
    std::string expectedRole = role_ == Role::server ? "client" : "server";
    if (message.get("role") != expectedRole) unexpected("role " + message.get("role"));
    theirNonce_ = message.getHex("nonce", auth::nonceSize);
    if (message.has("caps")) {
        const std::string caps = "," + message.get("caps") + ",";
        auto listed = [&caps](const char* cap) {
            return caps.find("," + std::string(cap) + ",") != std::string::npos;
        };
        peerBatches_ = listed("zstd-batch");
        peerPlans_ = listed("plan");
        peerFreesAtDone_ = listed("window-done");
    }
    if (message.has("window")) {
        std::uint64_t theirs = message.getNumber("window");
        if (theirs == 0) throw TransferError(code::badMessage, "HELLO: window=0");
        peerWindow_ = static_cast<std::size_t>(std::min<std::uint64_t>(theirs, window));
    }
    if (role_ == Role::server) {
        state_ = State::auth;
        return;
    }
    send(Message("AUTH").set("proof", toHex(auth::clientProof(token_, theirNonce_, ourNonce_))));
    state_ = State::welcome;
}

void TransferProtocol::onAuth(const Message& message) {
    std::string proof = message.getHex("proof", 32);
    if (!auth::equal(proof, auth::clientProof(token_, ourNonce_, theirNonce_))) {
        throw TransferError(code::auth, "authentication failed: wrong token");
    }
    send(Message("WELCOME").set("proof", toHex(auth::serverProof(token_, ourNonce_, theirNonce_))));
    becomeReady();
}

void TransferProtocol::onWelcome(const Message& message) {
    std::string proof = message.getHex("proof", 32);
    if (!auth::equal(proof, auth::serverProof(token_, theirNonce_, ourNonce_))) {
        throw TransferError(code::auth, "the server does not know the token");
    }
    becomeReady();
}

void TransferProtocol::onError(const Message& message) {
    std::string code = message.has("code") ? message.get("code") : code::unexpected;
    std::string text = message.has("message") ? message.get("message") : code;
    if (!message.has("name")) {
        // The peer gives up on the whole session and closes.
        peerError_ = "peer: " + text;
        closing_ = true;
        closeConnection();
        return;
    }
    auto file = inFlightNamed(message.get("name"));
    if (file != inFlight_.end()) {
        const std::string name = (*file)->entry.info.name;
        bool streaming = (*file)->stage == Sending::Stage::streaming;
        answered(file);
        observer_.fileFailed(name, code, text);
        if (streaming) {
            // The peer stopped reading mid-file and closes: no resync possible.
            closing_ = true;
            closeConnection();
            return;
        }
        sendNext();
        return;
    }
    handleMessage(message);
}

// --- Sending side --------------------------------------------------------

void TransferProtocol::queueOutgoing(std::vector<OutgoingEntry> entries, Offering offering) {
    std::uint64_t files = 0;
    std::uint64_t bytes = 0;
    for (const auto& entry : entries) {
        if (entry.info.directory) continue;
        ++files;
        bytes += entry.info.size;
    }
    if (files > 0) {
        observer_.transferPlanned(files, bytes);
        // The receiver's progress line shows the totals too (a fetch's).
        if (peerPlans_) send(Message("PLAN").set("files", files).set("bytes", bytes));
    }
    for (auto& entry : entries) {
        entry.info.dryRun = offering.dryRun;
        entry.checksum = offering.checksum;
        entry.compress = offering.compress;
        outgoing_.push_back(std::move(entry));
    }
    sendNext();
}

void TransferProtocol::sendNext() {
    // One write for every offer the window has room for, not one each.
    std::string offers;
    while (windowUsed() < peerWindow_ && offerNext(offers)) {
    }
    if (!offers.empty()) emit(std::move(offers));
    streamNext();
    if (inFlight_.empty() && outgoing_.empty() && !closing_) outgoingDrained();
}

// Appends the next queued entry's offer to `offers`; false if none may be
// offered now.
bool TransferProtocol::offerNext(std::string& offers) {
    // A line sent now would land inside the raw bytes of the file streaming.
    if (outgoing_.empty() || closing_ || streaming_ != nullptr) return false;
    // Answers are matched by name: a name is in flight once at a time.
    if (inFlightNamed(outgoing_.front().info.name) != inFlight_.end()) return false;
    auto next = std::make_unique<Sending>();
    next->entry = std::move(outgoing_.front());
    outgoing_.pop_front();
    FileInfo& info = next->entry.info;
    try {
        if (!info.directory) {
            next->fd = next->entry.open();
            struct stat st {};
            if (::fstat(next->fd.get(), &st) == 0) info.size = st.st_size;
            if (next->entry.checksum) info.digest = digestOfFile(next->fd.get(), info.size);
        }
    } catch (const TransferError& error) {
        observer_.fileFailed(info.name, error.code(), error.what());
        return true;
    }
    offers += offerFor(info).encode();
    offers += '\n';
    const std::string& name = next->entry.info.name;
    inFlightByName_.emplace(name, inFlight_.insert(inFlight_.end(), std::move(next)));
    return true;
}

// Data goes out one file at a time, in the order the receiver accepted them.
// A file the socket takes at once finishes inside startStreaming and asks
// for the next: that request is looped here, not recursed, so a window of
// accepted files does not grow the stack by a frame chain each.
void TransferProtocol::streamNext() {
    if (startingStream_) {
        streamAgain_ = true;
        return;
    }
    startingStream_ = true;
    do {
        streamAgain_ = false;
        if (streaming_ != nullptr || closing_ || toStream_.empty()) break;
        Sending& file = *toStream_.front();
        toStream_.pop_front();
        startStreaming(file);
    } while (streamAgain_);
    startingStream_ = false;
}

// Offers the peer's window counts. Those whose DONE is sent count too
// unless the peer frees their slots at DONE; then only a bound on what
// this end remembers while OKs are awaited holds them back (a receiver
// that never answers must not make it remember a whole tree).
std::size_t TransferProtocol::windowUsed() const {
    if (!peerFreesAtDone_) return inFlight_.size();
    if (inFlight_.size() >= commitBacklog + peerWindow_) return peerWindow_;
    return inFlight_.size() - doneSent_;
}

TransferProtocol::InFlight::iterator TransferProtocol::inFlightNamed(const std::string& name) {
    auto found = inFlightByName_.find(name);
    return found == inFlightByName_.end() ? inFlight_.end() : found->second;
}

void TransferProtocol::answered(InFlight::iterator file) {
    Sending* sending = file->get();
    if (sending == streaming_) streaming_ = nullptr;
    if (sending->stage == Sending::Stage::answered) --doneSent_;
    if (sending->stage == Sending::Stage::accepted) {
        // Refused between RESUME and its data (rare): no longer to stream.
        toStream_.erase(std::find(toStream_.begin(), toStream_.end(), sending));
    }
    inFlightByName_.erase(sending->entry.info.name);
    inFlight_.erase(file);
}

void TransferProtocol::onResume(const Message& message) {
    auto found = inFlightNamed(message.get("name"));
    if (found == inFlight_.end() || (*found)->stage != Sending::Stage::offered ||
        (*found)->entry.info.directory) {
        unexpected("RESUME");
    }
    Sending& file = **found;
    std::uint64_t have = message.getNumber("have");
    std::string theirs =
        have > 0 ? message.getHex(FileDigest::field, FileDigest::size) : std::string();
    FileDigest prefix;
    int fd = file.fd.get();
    file.offset =
        resume::startOffset(have, theirs, file.entry.info.size, [&](std::uint64_t length) {
            prefix.updateFromFile(fd, length);
            return prefix.digest();
        });
    if (file.offset > 0) file.hash = prefix;
    file.stage = Sending::Stage::accepted;
    toStream_.push_back(&file);
    streamNext();
}

// --compress, for this file: asked for, not of a compressed kind, and a
// sample of it shrinks.
bool TransferProtocol::compressing(const Sending& file) {
    if (!mayCompress(file)) return false;  // before reading a sample
    std::string sample(static_cast<std::size_t>(
                           std::min<std::uint64_t>(64 * 1024, file.entry.info.size - file.offset)),
                       '\0');
    ssize_t got =
        ::pread(file.fd.get(), sample.data(), sample.size(), static_cast<off_t>(file.offset));
    if (got < 0) return false;  // the sender will report the read error
    sample.resize(static_cast<std::size_t>(got));
    if (!compressor_) compressor_ = std::make_unique<zstd_chunks::Compressor>();
    return compressor_->pays(sample);
}

// Asked for, and not of a kind that is compressed already.
bool TransferProtocol::mayCompress(const Sending& file) {
    return file.entry.compress && zstd_chunks::worthTrying(file.entry.info.name);
}

// A small file's DATA, bytes (or their CHUNK) and DONE go out in one
// write, without a FileSender: for a tree of small files, writes (and TLS
// records) per file were most of the sender's cost.
bool TransferProtocol::sendWhole(Sending& file) {
    const FileInfo& info = file.entry.info;
    const std::uint64_t length = info.size - file.offset;
    if (length > inlineLimit) return false;
    std::string bytes(static_cast<std::size_t>(length), '\0');
    std::size_t got = 0;
    while (got < bytes.size()) {
        ssize_t n = ::pread(file.fd.get(), bytes.data() + got, bytes.size() - got,
                            static_cast<off_t>(file.offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;  // FileSender reports the read error as it always does
        got += static_cast<std::size_t>(n);
    }
    file.hash.update(bytes);
    // No sample first: compressing a small file costs what trying a sample
    // of it would (zstd stores what does not shrink as it is), and a tree
    // of small files spent a third of its CPU on samples. An empty file
    // has no CHUNK to carry (the receiver expects none).
    const bool compress = length > 0 && mayCompress(file);
    if (compress && !compressor_) compressor_ = std::make_unique<zstd_chunks::Compressor>();
    Message data("DATA");
    data.set("name", info.name).set("offset", file.offset).set("length", length);
    if (compress) data.set("encoding", "zstd");
    std::string dataLine = data.encode() + '\n';
    std::string doneLine = Message("DONE")
                               .set("name", info.name)
                               .set(std::string(FileDigest::field), file.hash.hexDigest())
                               .encode() +
                           '\n';
    observer_.fileStarted(info, file.offset, true);
    if (compress && peerBatches_) {
        batchCompressed(std::move(dataLine), bytes, std::move(doneLine));
    } else {
        dataLine += compress ? compressor_->framed(bytes) : bytes;
        dataLine += doneLine;
        emit(std::move(dataLine));
    }
    file.moved = length;
    observer_.fileProgress(info, length);
    file.stage = Sending::Stage::answered;
    ++doneSent_;
    file.fd.reset();
    return true;
}

void TransferProtocol::startStreaming(Sending& file) {
    if (sendWhole(file)) return sendNext();
    const FileInfo& info = file.entry.info;
    std::uint64_t length = info.size - file.offset;
    const bool compress = compressing(file);
    Message data("DATA");
    data.set("name", info.name).set("offset", file.offset).set("length", length);
    if (compress) data.set("encoding", "zstd");
    send(data);
    observer_.fileStarted(info, file.offset, true);
    file.stage = Sending::Stage::streaming;
    streaming_ = &file;
    FileSender::Events events;
    events.progress = [this, &file](std::uint64_t sent) {
        file.moved = sent;
        observer_.fileProgress(file.entry.info, sent);
    };
    events.done = [this, &file] { onStreamed(file); };
    events.failed = [this, &file](const std::exception_ptr& error) {
        // A read error mid-file: the peer expects more bytes than will come.
        std::string message = "read failed";
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            message = e.what();
        }
        observer_.fileFailed(file.entry.info.name, code::io, message);
        abortSession(code::io, "sender could not read '" + file.entry.info.name + "'");
    };
    file.sender = std::make_unique<FileSender>(wire(), time_, file.fd.get(), file.offset, length,
                                               file.hash, std::move(events));
    if (compress) {
        file.sender->setEncoder(
            [this](std::string_view chunk) { return compressor_->framed(chunk); });
    }
    file.sender->start();
}

void TransferProtocol::onStreamed(Sending& file) {
    file.stage = Sending::Stage::answered;
    ++doneSent_;
    file.moved = file.sender->sent();
    send(Message("DONE")
             .set("name", file.entry.info.name)
             .set(std::string(FileDigest::field), file.hash.hexDigest()));
    file.sender.reset();  // its buffers are not needed while the OK is awaited
    file.fd.reset();
    streaming_ = nullptr;
    sendNext();
}

void TransferProtocol::onSame(const Message& message) {
    auto file = inFlightNamed(message.get("name"));
    if (file == inFlight_.end() || (*file)->stage != Sending::Stage::offered ||
        (*file)->entry.info.directory) {
        unexpected("SAME");
    }
    observer_.fileUpToDate((*file)->entry.info);
    answered(file);
    sendNext();
}

void TransferProtocol::onResult(const Message& message) {
    const std::string& name = message.get("name");
    auto file = inFlightNamed(name);
    // A directory, or a dry run's file, is answered as offered.
    const bool atOnce =
        file != inFlight_.end() && ((*file)->entry.info.directory || (*file)->entry.info.dryRun);
    if (file == inFlight_.end() ||
        (*file)->stage != (atOnce ? Sending::Stage::offered : Sending::Stage::answered)) {
        unexpected("OK for '" + name + "'");
    }
    const FileInfo& info = (*file)->entry.info;
    if (info.directory) {
        observer_.directoryMade(info);
    } else if (info.dryRun) {
        observer_.wouldTransfer(info);
    } else {
        observer_.fileFinished(info, (*file)->moved);
    }
    answered(file);
    sendNext();
}

// --- Receiving side ------------------------------------------------------

bool TransferProtocol::receivingName(const std::string& name) const {
    if (incoming_ && incoming_->name().str() == name) return true;
    return std::any_of(accepted_.begin(), accepted_.end(),
                       [&name](const auto& file) { return file->name().str() == name; });
}

std::size_t TransferProtocol::unanswered() const {
    return offersOpen() + (commits_ ? commits_->pending() : 0);
}

// Accepted files whose DONE has not come: what the window bounds.
std::size_t TransferProtocol::offersOpen() const {
    return accepted_.size() + (incoming_ ? 1 : 0);
}

void TransferProtocol::onFile(const Message& message) {
    if (!receiveRoot_) unexpected("FILE");
    if (offersOpen() >= window) {
        unexpected("FILE: more than " + std::to_string(window) + " files offered and unanswered");
    }
    FileInfo info = fileInfoFrom(message);
    try {
        checkOffer(info);
        ReceiveRoot::Taken taken;
        if (info.dryRun) {
            taken.upToDate = receiveRoot_->upToDate(info);
        } else {
            taken = receiveRoot_->take(info);
        }
        if (taken.upToDate) {
            send(Message("SAME").set("name", info.name));
            observer_.fileUpToDate(info);
            return;
        }
        if (info.dryRun) {
            receiveRoot_->check(info);
            send(Message("OK").set("name", info.name));
            observer_.wouldTransfer(info);
            return;
        }
        accepted_.push_back(std::move(taken.file));
    } catch (const TransferError& error) {
        sendFileError(info.name, error.code(), error.what());
        observer_.fileFailed(info.name, error.code(), error.what());
        return;
    }
    const IncomingFile& file = *accepted_.back();
    Message resume("RESUME");
    resume.set("name", info.name).set("have", file.have());
    if (file.have() > 0) resume.set(std::string(FileDigest::field), toHex(file.haveDigest()));
    send(resume);
}

void TransferProtocol::onDirectory(const Message& message) {
    if (!receiveRoot_) unexpected("DIR");
    FileInfo info = fileInfoFrom(message);
    try {
        checkOffer(info);
        if (!info.dryRun) receiveRoot_->makeDirectory(info);
    } catch (const TransferError& error) {
        sendFileError(info.name, error.code(), error.what());
        observer_.fileFailed(info.name, error.code(), error.what());
        return;
    }
    send(Message("OK").set("name", info.name));
    observer_.directoryMade(info);
}

void TransferProtocol::onData(const Message& message) {
    // Data comes in the order the files were accepted, one file at a time.
    if (accepted_.empty() || incoming_ || message.get("name") != accepted_.front()->info().name) {
        unexpected("DATA");
    }
    incoming_ = std::move(accepted_.front());
    accepted_.pop_front();
    std::uint64_t offset = message.getNumber("offset");
    std::uint64_t length = message.getNumber("length");
    if (offset > incoming_->info().size || length != incoming_->info().size - offset) {
        throw TransferError(code::badMessage, "DATA range does not match the announced size");
    }
    compressed_ = message.has("encoding");
    if (compressed_ && message.get("encoding") != "zstd") {
        throw TransferError(code::badMessage, "unknown encoding '" + message.get("encoding") + "'");
    }
    try {
        incoming_->start(offset);
    } catch (const TransferError& error) {
        failIncoming(error);
        return;
    }
    observer_.fileStarted(incoming_->info(), offset, false);
    rawRemaining_ = length;
    rawMoved_ = 0;
    startWriter(length);
    // Compressed, the data comes as CHUNK lines, each with its frame, after
    // what an earlier CHUNK held of it.
    if (compressed_) return storeAhead();
    if (!ahead_.empty()) {
        throw TransferError(code::badMessage, "compressed bytes wait, but DATA is not compressed");
    }
    if (length > 0) setRawMode();
}

// Bytes a batch's CHUNK decoded to beyond its first file are the next
// files' data: each takes its part when its DATA comes.
void TransferProtocol::storeAhead() {
    if (ahead_.empty()) return;
    const std::size_t take = static_cast<std::size_t>(
        std::min<std::uint64_t>(rawRemaining_, ahead_.size() - aheadUsed_));
    const std::size_t from = aheadUsed_;
    aheadUsed_ += take;
    store(std::string_view(ahead_).substr(from, take));
    if (aheadUsed_ == ahead_.size()) {
        ahead_.clear();  // empty again: nothing waits
        aheadUsed_ = 0;
    }
}

void TransferProtocol::onChunk(const Message& message) {
    if (!incoming_ || !compressed_ || rawRemaining_ == 0) {
        unexpected("CHUNK");
    }
    std::uint64_t length = message.getNumber("length");
    if (length == 0 || length > zstd_chunks::maxFrame()) {
        throw TransferError(code::badMessage, "CHUNK length out of range");
    }
    if (!decompressor_) decompressor_ = std::make_unique<zstd_chunks::Decompressor>();
    frameRemaining_ = length;
    frame_.clear();
    setRawMode();
}

void TransferProtocol::compressedDataReceived(std::string_view data) {
    std::size_t take =
        static_cast<std::size_t>(std::min<std::uint64_t>(frameRemaining_, data.size()));
    frame_.append(data.substr(0, take));
    frameRemaining_ -= take;
    if (frameRemaining_ > 0) return;
    // The piece may hold the next files' bytes too (a batch): those wait.
    try {
        ahead_ = decompressor_->decompress(frame_, zstd_chunks::maxChunk);
        aheadUsed_ = 0;
    } catch (const TransferError& error) {
        failIncoming(error);
        return;
    }
    frame_.clear();
    storeAhead();
    if (incoming_) setLineMode(data.substr(take));
}

void TransferProtocol::startWriter(std::uint64_t length) {
    // A small file is not worth a thread: it is written on the loop as it comes.
    if (!post_ || length < writeOptions_.bufferSize) return;
    IncomingFile* file = incoming_.get();
    WriteBehind::Events events;
    events.writable = [this] {
        if (!writer_->finishing()) resumeAfterWriter();
    };
    events.failed = [this](const TransferError& error) { failIncoming(error); };
    events.finished = [this](const TransferError* error) { fileWritten(error); };
    try {
        writer_ = std::make_unique<WriteBehind>(
            post_, [file](std::string_view data) { file->write(data); }, std::move(events),
            writeOptions_);
    } catch (const std::system_error&) {
        // No thread to be had: written on the loop, as a small file is.
    }
}

void TransferProtocol::pauseForWriter() {
    waitingForWriter_ = true;
    updateReading();
}

void TransferProtocol::resumeAfterWriter() {
    waitingForWriter_ = false;
    updateReading();
}

// Reading stops while the writer or the commits are behind, and goes on
// when neither is.
void TransferProtocol::updateReading() {
    const bool pause = waitingForWriter_ || waitingForCommits_;
    if (pause == readingPaused_ || closing_ || lost_) return;
    readingPaused_ = pause;
    if (pause) {
        pauseProducing();
    } else {
        resumeProducing();  // also delivers what arrived meanwhile
    }
}

void TransferProtocol::rawDataReceived(std::string_view data) {
    if (closing_ || !incoming_) return;
    if (compressed_) return compressedDataReceived(data);
    std::size_t take =
        static_cast<std::size_t>(std::min<std::uint64_t>(rawRemaining_, data.size()));
    store(data.substr(0, take));
    if (incoming_ && rawRemaining_ == 0) setLineMode(data.substr(take));
}

// File bytes, as they came or decompressed, to the writer or the file.
void TransferProtocol::store(std::string_view data) {
    try {
        if (writer_) {
            writer_->write(data);
        } else {
            incoming_->write(data);
        }
    } catch (const TransferError& error) {
        failIncoming(error);
        return;
    }
    rawRemaining_ -= data.size();
    rawMoved_ += data.size();
    observer_.fileProgress(incoming_->info(), rawMoved_);
    // Paused, the rest of this read (DONE, say) waits in the line buffer.
    if (writer_ && writer_->full()) pauseForWriter();
}

void TransferProtocol::failIncoming(const TransferError& error) {
    // Mid-file the stream cannot be resynchronised: report, drop the
    // partial (a full disk must not keep half a file), and close.
    std::string name = incoming_->info().name;
    if (writer_) {
        writer_->cancel();
        writer_.reset();
    }
    incoming_->discard();
    incoming_.reset();
    observer_.fileFailed(name, error.code(), error.what());
    sendFileError(name, error.code(), error.what());
    peerError_ = error.what();
    closeAfterError();
}

void TransferProtocol::onDone(const Message& message) {
    if (!incoming_ || rawRemaining_ != 0 || message.get("name") != incoming_->info().name) {
        unexpected("DONE");
    }
    std::string digest = message.getHex(FileDigest::field, FileDigest::size);
    compressed_ = false;
    if (writer_) {
        // Nothing more is read until the worker has written and verified
        // the file (its last megabyte or so): the next message is handled
        // as if DONE took that long. Making it durable does not hold reading up.
        pauseForWriter();
        writer_->finish([file = incoming_.get(), digest] { file->seal(digest); });
        return;
    }
    std::unique_ptr<IncomingFile> file = std::move(incoming_);
    try {
        file->seal(digest);
    } catch (const TransferError& error) {
        reportFinished(*file, &error);
        return;
    }
    commit(std::move(file));
}

void TransferProtocol::fileWritten(const TransferError* error) {
    writer_.reset();
    std::unique_ptr<IncomingFile> file = std::move(incoming_);
    if (error != nullptr) {
        reportFinished(*file, error);
    } else {
        commit(std::move(file));
    }
    resumeAfterWriter();
}

void TransferProtocol::commit(std::unique_ptr<IncomingFile> file) {
    if (!commits_) {
        commits_ = std::make_unique<CommitQueue>(
            post_, [this](std::unique_ptr<IncomingFile> done, const TransferError* error) {
                reportFinished(*done, error);
                if (waitingForCommits_ && commits_->pending() < commitBacklog) {
                    waitingForCommits_ = false;
                    updateReading();
                }
            });
    }
    commits_->add(std::move(file));
    if (commits_->pending() >= commitBacklog) {
        waitingForCommits_ = true;
        updateReading();
    }
}

void TransferProtocol::reportFinished(const IncomingFile& file, const TransferError* error) {
    const FileInfo& info = file.info();
    if (error != nullptr) {
        if (!lost_) sendFileError(info.name, error->code(), error->what());
        observer_.fileFailed(info.name, error->code(), error->what());
        return;
    }
    if (!lost_) send(Message("OK").set("name", info.name).set("size", info.size));
    observer_.fileFinished(info, file.received());
}

void TransferProtocol::incomingLost() {
    // Accepted files that got no data: nothing to keep.
    accepted_.clear();
    if (!incoming_) return;
    bool completed = false;
    if (writer_) {
        writer_->stop();  // what arrived is written, kept for a resume
        completed = writer_->completed();
        writer_.reset();
    }
    if (completed) {
        // The worker renamed the file just before the connection went.
        observer_.fileFinished(incoming_->info(), incoming_->received());
    } else {
        observer_.fileFailed(incoming_->info().name, "connection-lost",
                             "connection lost after " + std::to_string(incoming_->written()) +
                                 " bytes (kept for resume)");
    }
    incoming_.reset();
}

void TransferProtocol::connectionLost(const Failure& reason) {
    lost_ = true;
    cancelHandshakeTimer();
    if (lingerTimer_.active()) lingerTimer_.cancel();
    std::string error = peerError_;
    incomingLost();
    // Files that arrived whole are put in place, though no OK can be sent.
    if (commits_) commits_->drain();
    if (streaming_ != nullptr) streaming_->sender->stopProducing();
    streaming_ = nullptr;
    for (const auto& file : inFlight_) {
        observer_.fileFailed(file->entry.info.name, "connection-lost",
                             "connection lost: " + reason.what());
    }
    inFlight_.clear();
    inFlightByName_.clear();
    doneSent_ = 0;
    toStream_.clear();
    if (error.empty() && !reason.check<ConnectionDone>()) error = reason.what();
    finished(error);
}

}  // namespace twine::filetransfer
