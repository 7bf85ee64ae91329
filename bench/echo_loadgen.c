/* Drives an echo server over TCP and checks every byte it gets back.
 *
 *   echo_loadgen -p PORT [-h HOST] [-b BIND_HOST] [-c CONNS] [-s SIZE]
 *                [-m pingpong|stream|idle|connect] [-t SECONDS] [-n MESSAGES] [-w WINDOW]
 *                [-x]
 *
 * pingpong: each connection sends SIZE bytes and waits for them before the next.
 * stream:   each connection keeps WINDOW bytes in flight, written in SIZE pieces.
 * idle:     opens CONNS connections, reports, and holds them for SECONDS.
 * connect:  each of CONNS loops: connect, one SIZE-byte echo, close (with a
 *           reset, so no TIME_WAIT piles up); a message is one connection.
 * -x:       every connection first sends a PROXY protocol v1 header, as a
 *           load balancer would (for servers on haproxy: endpoints).
 * Every run stops by itself after SECONDS or MESSAGES in all, whichever comes
 * first, and prints one line of key=value results.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

enum { PATTERN_PERIOD = 251, MAX_SAMPLES = 4 * 1024 * 1024 };

typedef struct {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    int id;
    uint64_t sent;
    uint64_t received;
    uint64_t message_start_ns;
    int round; /* connect mode: how many times it has reconnected */
} conn_t;

static const char* host = "127.0.0.1";
static const char* bind_host = NULL;
static int port = 0, conns = 1, size = 64, seconds = 5;
static uint64_t max_messages = UINT64_MAX;
static uint64_t window = 256 * 1024;
static const char* mode = "pingpong";
static int proxy_header;
static char proxy_line[] = "PROXY TCP4 192.0.2.1 198.51.100.1 40000 80\r\n";
static struct sockaddr_in dest, local;

static uv_loop_t* loop;
static char* pattern;
static char read_buffer[256 * 1024];
static uint64_t messages, bytes_back, errors, connected, start_ns;
static uint64_t* samples;
static size_t sample_count;
static int stopping;

static uint64_t offset_base(const conn_t* c) {
    return (uint64_t)c->id * 7;
}

static char* pattern_at(const conn_t* c, uint64_t offset) {
    return pattern + (offset + offset_base(c)) % PATTERN_PERIOD;
}

static void finish(void);

static void send_bytes(conn_t* c, size_t n);

static void on_write(uv_write_t* req, int status) {
    if (status < 0 && !stopping) errors++;
    free(req);
}

static void send_bytes(conn_t* c, size_t n) {
    uv_write_t* req = malloc(sizeof *req);
    uv_buf_t buf = uv_buf_init(pattern_at(c, c->sent), (unsigned)n);
    c->sent += n;
    uv_write(req, (uv_stream_t*)&c->tcp, &buf, 1, on_write);
}

static int is_stream(void) {
    return strcmp(mode, "stream") == 0;
}

static int is_connect(void) {
    return strcmp(mode, "connect") == 0;
}

static void start_connection(conn_t* c);
static void reconnect(conn_t* c);

static void top_up(conn_t* c) {
    while (!stopping && c->sent - c->received < window) send_bytes(c, (size_t)size);
}

static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(read_buffer, sizeof read_buffer);
}

static void check_bytes(conn_t* c, const char* data, size_t n) {
    if (memcmp(data, pattern_at(c, c->received), n) != 0) {
        if (errors++ == 0) fprintf(stderr, "echo_loadgen: wrong bytes on connection %d\n", c->id);
    }
    c->received += n;
    bytes_back += n;
}

static void on_pingpong_data(conn_t* c) {
    if (c->received != c->sent) return;
    uint64_t now = uv_hrtime();
    if (sample_count < MAX_SAMPLES) samples[sample_count++] = now - c->message_start_ns;
    if (++messages >= max_messages) {
        finish();
        return;
    }
    if (is_connect()) {
        reconnect(c);
        return;
    }
    c->message_start_ns = now;
    send_bytes(c, (size_t)size);
}

static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
    conn_t* c = (conn_t*)s;
    if (nread < 0) {
        if (!stopping) {
            fprintf(stderr, "echo_loadgen: connection %d: %s\n", c->id, uv_strerror((int)nread));
            errors++;
        }
        uv_read_stop(s);
        return;
    }
    if (stopping) return;
    check_bytes(c, buf->base, (size_t)nread);
    if (is_stream()) {
        messages = bytes_back / (uint64_t)size;
        if (messages >= max_messages)
            finish();
        else
            top_up(c);
    } else {
        on_pingpong_data(c);
    }
}

static void on_connect(uv_connect_t* req, int status) {
    conn_t* c = req->data;
    if (status < 0) {
        if (stopping) return;
        fprintf(stderr, "echo_loadgen: connect: %s\n", uv_strerror(status));
        errors++;
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (proxy_header) {
        /* Its own write, ahead of the data, not counted as echoed bytes. */
        uv_write_t* header = malloc(sizeof *header);
        uv_buf_t buf = uv_buf_init(proxy_line, (unsigned)strlen(proxy_line));
        uv_write(header, (uv_stream_t*)&c->tcp, &buf, 1, on_write);
    }
    if (c->round > 0) {
        /* A later round of the connect loop. */
        uv_read_start((uv_stream_t*)&c->tcp, on_alloc, on_read);
        send_bytes(c, (size_t)size);
        return;
    }
    if (++connected == (uint64_t)conns) {
        start_ns = uv_hrtime();
        if (strcmp(mode, "idle") == 0) {
            printf("connected=%d\n", conns);
            fflush(stdout);
        }
    }
    if (strcmp(mode, "idle") == 0) return;
    uv_read_start((uv_stream_t*)&c->tcp, on_alloc, on_read);
    c->message_start_ns = uv_hrtime();
    if (is_stream())
        top_up(c);
    else
        send_bytes(c, (size_t)size);
}

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* A socket bound to the source address only: the port is picked at connect
 * time, by 4-tuple. Binding with port 0 instead searches for a port no socket
 * holds, which thousands of TIME_WAIT sockets from earlier runs make slow. */
static int open_bound(uv_tcp_t* tcp, const struct sockaddr_in* local) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd, (const struct sockaddr*)local, sizeof *local) != 0) {
        int error = -errno;
        close(fd);
        return error;
    }
    int rc = uv_tcp_open(tcp, fd);
    if (rc != 0) close(fd);
    return rc;
}

static void start_connection(conn_t* c) {
    uv_tcp_init(loop, &c->tcp);
    int rc = bind_host ? open_bound(&c->tcp, &local) : 0;
    if (rc != 0) {
        fprintf(stderr, "echo_loadgen: bind %s: %s\n", bind_host, uv_strerror(rc));
        exit(1);
    }
    c->connect_req.data = c;
    uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr*)&dest, on_connect);
}

static void on_closed_for_reconnect(uv_handle_t* h) {
    conn_t* c = (conn_t*)h;
    if (stopping) return;
    c->sent = c->received = 0;
    c->round++;
    c->message_start_ns = uv_hrtime();
    start_connection(c);
}

/* The connect loop: a reset instead of FIN, so that tens of thousands of
 * connections leave no TIME_WAIT sockets to exhaust the ephemeral ports. */
static void reconnect(conn_t* c) {
    struct linger abort_on_close = {1, 0};
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t*)&c->tcp, &fd) == 0) {
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    }
    uv_close((uv_handle_t*)&c->tcp, on_closed_for_reconnect);
}

static int compare_u64(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

static double percentile_us(double p) {
    if (sample_count == 0) return 0;
    size_t i = (size_t)(p * (double)(sample_count - 1));
    return (double)samples[i] / 1e3;
}

static void finish(void) {
    if (stopping) return;
    stopping = 1;
    double secs = (double)(uv_hrtime() - (start_ns ? start_ns : uv_hrtime())) / 1e9;
    if (secs <= 0) secs = 1e-9;
    qsort(samples, sample_count, sizeof *samples, compare_u64);
    printf("mode=%s conns=%d size=%d msgs=%" PRIu64 " bytes=%" PRIu64
           " secs=%.3f msgs_per_s=%.0f "
           "mib_per_s=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f connected=%" PRIu64
           " errors=%" PRIu64 "\n",
           mode, conns, size, messages, bytes_back, secs, (double)messages / secs,
           (double)bytes_back / secs / (1024.0 * 1024.0), percentile_us(0.50), percentile_us(0.99),
           percentile_us(0.999), connected, errors);
    fflush(stdout);
    _exit(errors || connected < (uint64_t)conns ? 1 : 0);
}

static void on_deadline(uv_timer_t* t) {
    (void)t;
    finish();
}

static int parse_args(int argc, char** argv) {
    int opt;
    while ((opt = getopt(argc, argv, "h:p:b:c:s:m:t:n:w:x")) != -1) {
        switch (opt) {
            case 'h':
                host = optarg;
                break;
            case 'p':
                port = atoi(optarg);
                break;
            case 'b':
                bind_host = optarg;
                break;
            case 'c':
                conns = atoi(optarg);
                break;
            case 's':
                size = atoi(optarg);
                break;
            case 'm':
                mode = optarg;
                break;
            case 't':
                seconds = atoi(optarg);
                break;
            case 'n':
                max_messages = strtoull(optarg, NULL, 10);
                break;
            case 'w':
                window = strtoull(optarg, NULL, 10);
                break;
            case 'x':
                proxy_header = 1;
                break;
            default:
                return -1;
        }
    }
    if (port <= 0 || conns <= 0 || size <= 0 || seconds <= 0) return -1;
    if (strcmp(mode, "pingpong") && strcmp(mode, "stream") && strcmp(mode, "idle") &&
        strcmp(mode, "connect"))
        return -1;
    return 0;
}

int main(int argc, char** argv) {
    if (parse_args(argc, argv) != 0) {
        fprintf(stderr,
                "usage: echo_loadgen -p PORT [-h HOST] [-b BIND_HOST] [-c CONNS] [-s SIZE]\n"
                "       [-m pingpong|stream|idle|connect] [-t SECONDS] [-n MESSAGES] [-w WINDOW]"
                " [-x]\n");
        return 2;
    }
    loop = uv_default_loop();
    size_t chunk = (size_t)size > window ? (size_t)size : window;
    pattern = malloc(PATTERN_PERIOD + chunk);
    for (size_t i = 0; i < PATTERN_PERIOD + chunk; i++) pattern[i] = (char)(i % PATTERN_PERIOD);
    samples = malloc(sizeof *samples * MAX_SAMPLES);
    uv_ip4_addr(host, port, &dest);
    if (bind_host) uv_ip4_addr(bind_host, 0, &local);
    conn_t* all = calloc((size_t)conns, sizeof *all);
    for (int i = 0; i < conns; i++) {
        conn_t* c = &all[i];
        c->id = i;
        start_connection(c);
    }
    uv_timer_t deadline;
    uv_timer_init(loop, &deadline);
    uv_timer_start(&deadline, on_deadline, (uint64_t)seconds * 1000, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    finish();
    return 0;
}
