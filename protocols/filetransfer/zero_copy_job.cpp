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
#include <vector>

namespace twine::filetransfer {
namespace {

// The hash reads a window, then that window is sent from the page cache.
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
                         Sha256 hash)
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
    std::vector<char> window(windowSize);
    std::uint64_t position = offset_;
    std::uint64_t end = offset_ + length_;
    while (position < end) {
        if (cancelled_) return fail("send", ECANCELED);
        std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(windowSize, end - position));
        ssize_t got = ::pread(file_.get(), window.data(), want, static_cast<off_t>(position));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fail("read", errno);
        if (got == 0) return fail("read", ENODATA);  // the file shrank
        hash_.update(std::string_view(window.data(), static_cast<std::size_t>(got)));
        if (!sendRange(position, static_cast<std::uint64_t>(got))) return;
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
