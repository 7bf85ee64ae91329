/* The floor: the simplest fast echo server raw libuv allows. twine's
 * echo_server is measured against it in the same run. One shared read buffer,
 * try-write first, queue the remainder — the same shape DESIGN.md asks of
 * twine, with nothing else in the way.
 *
 *   echo_floor PORT [HOST]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

enum { READ_BUFFER_SIZE = 256 * 1024 };

static char read_buffer[READ_BUFFER_SIZE];
static uv_loop_t* loop;

typedef struct {
    uv_write_t req;
    char data[];
} write_req_t;

static void on_close(uv_handle_t* handle) {
    free(handle);
}

static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
    (void)handle;
    (void)suggested;
    *buf = uv_buf_init(read_buffer, sizeof read_buffer);
}

static void on_write(uv_write_t* req, int status) {
    if (status < 0 && !uv_is_closing((uv_handle_t*)req->handle)) {
        uv_close((uv_handle_t*)req->handle, on_close);
    }
    free(req);
}

static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    if (nread < 0) {
        if (!uv_is_closing((uv_handle_t*)stream)) uv_close((uv_handle_t*)stream, on_close);
        return;
    }
    if (nread == 0) return;
    uv_buf_t out = uv_buf_init(buf->base, (unsigned)nread);
    if (uv_stream_get_write_queue_size(stream) == 0) {
        int written = uv_try_write(stream, &out, 1);
        if (written == nread) return;
        if (written > 0) {
            out.base += written;
            out.len -= (unsigned)written;
        }
    }
    write_req_t* req = malloc(sizeof *req + out.len);
    memcpy(req->data, out.base, out.len);
    uv_buf_t copy = uv_buf_init(req->data, out.len);
    uv_write(&req->req, stream, &copy, 1, on_write);
}

static void on_connection(uv_stream_t* server, int status) {
    if (status < 0) return;
    uv_tcp_t* client = malloc(sizeof *client);
    uv_tcp_init(loop, client);
    if (uv_accept(server, (uv_stream_t*)client) != 0) {
        uv_close((uv_handle_t*)client, on_close);
        return;
    }
    uv_tcp_nodelay(client, 1);
    uv_read_start((uv_stream_t*)client, on_alloc, on_read);
}

static void on_signal(uv_signal_t* handle, int signum) {
    (void)signum;
    uv_stop(handle->loop);
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: echo_floor PORT [HOST]\n");
        return 2;
    }
    loop = uv_default_loop();
    struct sockaddr_in addr;
    uv_ip4_addr(argc > 2 ? argv[2] : "127.0.0.1", atoi(argv[1]), &addr);
    uv_tcp_t server;
    uv_tcp_init(loop, &server);
    int rc = uv_tcp_bind(&server, (const struct sockaddr*)&addr, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t*)&server, SOMAXCONN, on_connection);
    if (rc != 0) {
        fprintf(stderr, "echo_floor: %s\n", uv_strerror(rc));
        return 1;
    }
    uv_signal_t sigterm, sigint;
    uv_signal_init(loop, &sigterm);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_init(loop, &sigint);
    uv_signal_start(&sigint, on_signal, SIGINT);
    printf("listening on 127.0.0.1:%s\n", argv[1]);
    fflush(stdout);
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}
