#include <twine/core/uv_close.hpp>

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

}  // namespace twine::detail
