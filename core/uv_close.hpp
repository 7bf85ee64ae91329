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

/// uv_loop_close, and under ThreadSanitizer the same announcement for the
/// loop's own descriptors (epoll, the wakeup eventfd of callFromThread, the
/// signal pipe), which libuv closes as it closes sockets: a pool torn down
/// and built again otherwise leaves numbers TSan pairs across threads.
int closeLoop(uv_loop_t* loop);

}  // namespace twine::detail
