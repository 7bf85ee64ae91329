#include <twine/protocols/filetransfer/aligned_buffer.hpp>
#include <twine/protocols/filetransfer/zero_copy_job.hpp>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

namespace twine::filetransfer {
namespace {

// The hasher reads the file in windows this large.
constexpr std::size_t windowSize = 1 << 20;
// How long a poll for writability waits before looking at cancel() again.
constexpr int pollMilliseconds = 100;

// sendfile has no MSG_NOSIGNAL: a peer that closes would kill the process
// with SIGPIPE. The signal goes to the writing thread, so it is blocked on
// this pool thread and any pending one is consumed after an EPIPE.
void blockSigpipe() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void consumeSigpipe() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    timespec none{0, 0};
    while (sigtimedwait(&set, nullptr, &none) == SIGPIPE) {
    }
}

}  // namespace

ZeroCopyJob::ZeroCopyJob(int socket, int file, std::uint64_t offset, std::uint64_t length,
                         FileDigest hash)
    : socket_(::fcntl(socket, F_DUPFD_CLOEXEC, 0)),
      file_(::fcntl(file, F_DUPFD_CLOEXEC, 0)),
      offset_(offset),
      length_(length),
      hash_(std::move(hash)) {}

void ZeroCopyJob::fail(const std::string& what, int error) {
    errno_ = error;
    error_ = what + ": " + std::strerror(error);
}

void ZeroCopyJob::run() {
    blockSigpipe();
    // Hashing needs a read into user space; with SHA-256 it cost as much
    // as the sendfile itself (XXH3 is cheaper; the read is not free). Done
    // in turn with it, the socket idled while we hashed and the transfer
    // crawled at half speed. So the hash runs on its
    // own thread, reading ahead of or behind the sends as it likes: both
    // read the same page cache, and the receiver checks the result.
    std::thread hasher;
    try {
        hasher = std::thread([this] { hashRange(); });
    } catch (const std::system_error& error) {
        return fail("start hashing thread", error.code().value());
    }
    bool sent = sendRange(offset_, length_);
    if (!sent) cancelled_ = true;  // stops the hasher early
    hasher.join();
    // A cancel after the last send may have cut the hash short.
    if (sent && cancelled_) return fail("send", ECANCELED);
    if (sent && !hashError_.empty()) {
        errno_ = hashErrno_;
        error_ = hashError_;
    }
}

void ZeroCopyJob::hashRange() {
    AlignedBuffer window(windowSize);
    std::uint64_t position = offset_;
    std::uint64_t end = offset_ + length_;
    while (position < end && !cancelled_) {
        std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(windowSize, end - position));
        ssize_t got = ::pread(file_.get(), window.data(), want, static_cast<off_t>(position));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            hashErrno_ = got < 0 ? errno : ENODATA;  // ENODATA: the file shrank
            hashError_ = std::string("read: ") + std::strerror(hashErrno_);
            return;
        }
        hash_.update(std::string_view(window.data(), static_cast<std::size_t>(got)));
        position += static_cast<std::uint64_t>(got);
    }
}

bool ZeroCopyJob::sendRange(std::uint64_t position, std::uint64_t length) {
    off_t offset = static_cast<off_t>(position);
    while (length > 0) {
        if (cancelled_) {
            fail("send", ECANCELED);
            return false;
        }
        ssize_t done = ::sendfile(socket_.get(), file_.get(), &offset, length);
        if (done > 0) {
            length -= static_cast<std::uint64_t>(done);
            sent_.fetch_add(static_cast<std::uint64_t>(done), std::memory_order_relaxed);
        } else if (done < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            // The socket is non-blocking (libuv's): wait here, off the loop.
            pollfd writable{socket_.get(), POLLOUT, 0};
            ::poll(&writable, 1, pollMilliseconds);
        } else if (done < 0 && errno != EINTR) {
            int error = errno;
            if (error == EPIPE) consumeSigpipe();
            fail("send", error);
            return false;
        } else if (done == 0) {
            fail("send", ENODATA);
            return false;
        }
    }
    return true;
}

}  // namespace twine::filetransfer
