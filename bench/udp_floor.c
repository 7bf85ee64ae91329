/* The floor for twine's UDP echo: the same echo written directly on libuv,
 * with the same fast path (recvmmsg into one 256 KiB buffer, uv_udp_try_send
 * first, a copied uv_udp_send only when the kernel is full). twine's echo is
 * measured against it by bench/udp_bench.sh.
 *
 *   udp_floor --port PORT [--interface 127.0.0.1] [--idle-ms 1000]
 *
 * Prints "ready" once bound, then echoes until no datagram has arrived for
 * idle-ms after the first one, and prints
 * "server datagrams=N seconds=T rate=R" (first to last datagram). */

#include <uv.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_BUFFER_SIZE (256 * 1024)

static char read_buffer[READ_BUFFER_SIZE];
static uv_udp_t server;
static uv_timer_t idle_timer;
static uint64_t idle_ns = 1000ull * 1000 * 1000;
static uint64_t datagrams;
static uint64_t first_ns;
static uint64_t last_ns;

typedef struct {
    uv_udp_send_t request;
    char data[];
} send_copy;

static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
    (void)handle;
    (void)suggested;
    *buf = uv_buf_init(read_buffer, sizeof read_buffer);
}

static void on_sent(uv_udp_send_t* request, int status) {
    (void)status;
    free(request);
}

static void echo(const char* data, size_t size, const struct sockaddr* to) {
    uv_buf_t buf = uv_buf_init((char*)data, (unsigned)size);
    int rc = uv_udp_try_send(&server, &buf, 1, to);
    if (rc >= 0 || (rc != UV_EAGAIN && rc != UV_ENOBUFS)) return;
    send_copy* copy = malloc(sizeof(send_copy) + size);
    if (copy == NULL) return;
    memcpy(copy->data, data, size);
    buf = uv_buf_init(copy->data, (unsigned)size);
    if (uv_udp_send(&copy->request, &server, &buf, 1, to, on_sent) != 0) free(copy);
}

static void on_receive(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                       const struct sockaddr* from, unsigned flags) {
    (void)handle;
    if ((flags & UV_UDP_MMSG_FREE) != 0) return;
    if (nread < 0 || from == NULL || (flags & UV_UDP_PARTIAL) != 0) return;
    uint64_t now = uv_hrtime();
    if (datagrams++ == 0) first_ns = now;
    last_ns = now;
    echo(buf->base, (size_t)nread, from);
}

static void on_idle_check(uv_timer_t* timer) {
    if (datagrams > 0 && uv_hrtime() - last_ns > idle_ns) uv_stop(timer->loop);
}

int main(int argc, char** argv) {
    const char* interface = "127.0.0.1";
    int port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0) {
            port = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--interface") == 0) {
            interface = argv[i + 1];
        } else if (strcmp(argv[i], "--idle-ms") == 0) {
            idle_ns = strtoull(argv[i + 1], NULL, 10) * 1000 * 1000;
        } else {
            fprintf(stderr, "usage: udp_floor --port PORT [--interface ADDR] [--idle-ms MS]\n");
            return 2;
        }
    }
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "udp_floor: --port 1..65535 is required\n");
        return 2;
    }

    uv_loop_t* loop = uv_default_loop();
    struct sockaddr_storage address;
    if (uv_ip4_addr(interface, port, (struct sockaddr_in*)&address) != 0 &&
        uv_ip6_addr(interface, port, (struct sockaddr_in6*)&address) != 0) {
        fprintf(stderr, "udp_floor: bad interface %s\n", interface);
        return 2;
    }
    int rc = uv_udp_init_ex(loop, &server, address.ss_family | UV_UDP_RECVMMSG);
    if (rc == 0) rc = uv_udp_bind(&server, (const struct sockaddr*)&address, 0);
    if (rc == 0) rc = uv_udp_recv_start(&server, on_alloc, on_receive);
    if (rc != 0) {
        fprintf(stderr, "udp_floor: cannot listen on %s:%d: %s\n", interface, port,
                uv_strerror(rc));
        return 1;
    }
    uv_timer_init(loop, &idle_timer);
    uv_timer_start(&idle_timer, on_idle_check, 100, 100);
    printf("ready\n");
    fflush(stdout);

    uv_run(loop, UV_RUN_DEFAULT);

    double seconds = (double)(last_ns - first_ns) / 1e9;
    printf("server datagrams=%llu seconds=%.6f rate=%.0f\n", (unsigned long long)datagrams, seconds,
           seconds > 0 ? (double)datagrams / seconds : 0.0);
    return 0;
}
