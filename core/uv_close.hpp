#pragma once

#include <uv.h>

namespace twine::detail {

/// uv_close, and in a ThreadSanitizer build it then tells TSan that the
/// handle's descriptor has closed.
///
/// Why: libuv closes sockets with a raw close syscall that TSan does not
/// intercept, so TSan still believes the number belongs to the old socket.
/// When a ReactorPool worker then opens and closes a file that gets the same
/// number, TSan pairs that close with the acceptor thread's last use of the
/// old socket and reports a race on a descriptor that was closed and reused
/// in order. The announcement comes after uv_close, because uv_close itself
/// still touches the descriptor (epoll_ctl) before closing it.
void closeHandle(uv_handle_t* handle, uv_close_cb onClosed);

}  // namespace twine::detail
