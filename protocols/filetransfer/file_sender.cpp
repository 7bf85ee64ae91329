#include <twine/core/protocol.hpp>
#include <twine/core/reactor.hpp>
#include <twine/core/reactor_time.hpp>
#include <twine/protocols/filetransfer/file_sender.hpp>
#include <twine/protocols/filetransfer/root_dir.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>
#include <twine/protocols/filetransfer/zero_copy_job.hpp>

#include <unistd.h>

#include <cerrno>

namespace twine::filetransfer {

FileSender::FileSender(Transport& transport, ReactorTime& time, int fd, std::uint64_t offset,
                       std::uint64_t length, FileDigest& hash, Events events)
    : transport_(transport),
      time_(time),
      fd_(fd),
      position_(offset),
      remaining_(length),
      hash_(hash),
      events_(std::move(events)) {}

FileSender::~FileSender() {
    if (more_.active()) more_.cancel();
    if (progressTimer_.active()) progressTimer_.cancel();
    if (job_) job_->cancel();
    if (!registered_) return;
    try {
        transport_.unregisterProducer();
    } catch (...) {
        // The transport already dropped its producer while closing.
    }
}

void FileSender::start() {
    if (startZeroCopy()) return;
    transport_.setWriteBufferWaterMarks(writeBufferHigh, writeBufferHigh / 4);
    transport_.registerProducer(*this, true);
    registered_ = true;
    produce();
}

void FileSender::resumeProducing() {
    paused_ = false;
    if (!producing_) produce();
}

void FileSender::stopProducing() {
    stopped_ = true;
    if (job_) job_->cancel();
    if (more_.active()) more_.cancel();
}

bool FileSender::startZeroCopy() {
    auto* reactor = dynamic_cast<Reactor*>(&time_);
    int socket = transport_.fileDescriptor();
    // The socket is ours only while nothing else is queued on it.
    if (reactor == nullptr || socket < 0 || encoder_ || transport_.bufferSize() != 0 ||
        remaining_ < zeroCopyMinimum) {
        return false;
    }
    auto job = std::make_shared<ZeroCopyJob>(socket, fd_, position_, remaining_, hash_);
    if (!job->ready()) return false;
    job_ = job;
    std::weak_ptr<int> alive = lifetime_;
    reactor->runInThreadPool([job] { job->run(); },
                             [this, alive] {
                                 if (!alive.expired()) zeroCopyDone();
                             });
    reportZeroCopyProgress();
    return true;
}

void FileSender::reportZeroCopyProgress() {
    if (events_.progress) events_.progress(job_->sent());
    progressTimer_ = time_.callLater(Duration(0.2), [this] { reportZeroCopyProgress(); });
}

void FileSender::zeroCopyDone() {
    if (progressTimer_.active()) progressTimer_.cancel();
    std::shared_ptr<ZeroCopyJob> job = std::move(job_);
    if (stopped_) return;
    if (!job->error().empty()) {
        auto failed = events_.failed;
        failed(std::make_exception_ptr(TransferError(code::io, job->error())));
        return;
    }
    hash_ = job->hash();
    sent_ = remaining_;
    position_ += remaining_;
    remaining_ = 0;
    if (events_.progress) events_.progress(sent_);
    finish();
}

void FileSender::produce() {
    producing_ = true;
    if (!buffer_) buffer_ = std::make_unique<AlignedBuffer>(chunkSize);
    int chunks = 0;
    while (!paused_ && !stopped_ && remaining_ > 0 && chunks++ < chunksPerTurn) {
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(chunkSize, remaining_));
        ssize_t got = ::pread(fd_, buffer_->data(), want, static_cast<off_t>(position_));
        if (got <= 0) {
            if (got < 0 && errno == EINTR) continue;
            producing_ = false;
            int error = got < 0 ? errno : EIO;
            try {
                throwSystemError("read", error);
            } catch (...) {
                auto failed = events_.failed;
                failed(std::current_exception());
            }
            return;
        }
        // Written from the read buffer: TLS encrypts it at once, a stream
        // transport sends it at once and copies only what the socket refuses.
        std::string_view chunk(buffer_->data(), static_cast<std::size_t>(got));
        hash_.update(chunk);
        position_ += static_cast<std::uint64_t>(got);
        remaining_ -= static_cast<std::uint64_t>(got);
        sent_ += static_cast<std::uint64_t>(got);
        if (encoder_) {
            transport_.write(encoder_(chunk));
        } else {
            transport_.write(chunk);
        }
    }
    producing_ = false;
    if (stopped_) return;
    if (events_.progress) events_.progress(sent_);
    if (remaining_ == 0) {
        finish();
    } else if (!paused_) {
        scheduleMore();
    }
}

void FileSender::scheduleMore() {
    if (more_.active()) return;
    more_ = time_.callLater(Duration(0), [this] {
        if (!paused_ && !stopped_) produce();
    });
}

void FileSender::finish() {
    if (registered_) {
        registered_ = false;
        transport_.unregisterProducer();
    }
    // done() may destroy this sender: nothing may touch it afterwards.
    auto done = std::move(events_.done);
    done();
}

}  // namespace twine::filetransfer
