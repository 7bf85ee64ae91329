#include <twine/core/uv_close.hpp>

#include <array>

#if defined(TWINE_TSAN)
// Exported by libtsan; GCC 12 ships no header for the syscall hooks.
extern "C" void __sanitizer_syscall_pre_impl_close(long fd);
#endif

namespace twine::detail {
namespace {

// Only these handle types own a descriptor that uv_close closes at once; a
// uv_poll_t's descriptor stays open and belongs to its user.
[[maybe_unused]] bool closesDescriptor(const uv_handle_t* handle) {
    const uv_handle_type type = handle->type;
    return type == UV_TCP || type == UV_NAMED_PIPE || type == UV_UDP;
}

}  // namespace

void closeHandle(uv_handle_t* handle, uv_close_cb onClosed) {
#if defined(TWINE_TSAN)
    uv_os_fd_t fd = -1;
    if (!closesDescriptor(handle) || uv_fileno(handle, &fd) != 0) fd = -1;
    uv_close(handle, onClosed);
    if (fd >= 0) __sanitizer_syscall_pre_impl_close(fd);
#else
    uv_close(handle, onClosed);
#endif
}

int closeLoop(uv_loop_t* loop) {
#if defined(TWINE_TSAN)
    // libuv's private fields (uv/unix.h): what uv_loop_close closes.
    const std::array<int, 5> fds = {loop->backend_fd, loop->async_io_watcher.fd, loop->async_wfd,
                                    loop->signal_pipefd[0], loop->signal_pipefd[1]};
    const int status = uv_loop_close(loop);
    if (status != 0) return status;  // nothing was closed
    for (std::size_t i = 0; i < fds.size(); ++i) {
        // async_wfd is -1, or the eventfd itself, unless libuv used a pipe.
        const bool repeated = i == 2 && fds[2] == fds[1];
        if (fds[i] >= 0 && !repeated) __sanitizer_syscall_pre_impl_close(fds[i]);
    }
    return status;
#else
    return uv_loop_close(loop);
#endif
}

}  // namespace twine::detail
