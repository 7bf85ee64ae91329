#!/usr/bin/env bash
# ReactorPool scaling, side by side in one run (2-core machine):
#  1. a server-bound protocol (each 64-byte request hashes 256 KiB) with 1
#     worker (server on core 0) and with 2 workers (server on cores 0-1);
#  2. the pool's cost with 1 worker against a plain Reactor (echo_server
#     without and with --workers 1, both on core 0) on two echo scenarios;
#  3. TLS 1.3 handshakes per second with 1 and 2 workers, with a P-256 and an
#     RSA-3072 server key.
# The load generators run on core 1. Best of REPEATS runs, the contenders
# alternating so that both see the same machine. Every step is bounded.
#
#   bash bench/pool_bench.sh BUILD_DIR [SECONDS_PER_RUN] [REPEATS]
set -euo pipefail
build=${1:-build}
secs=${2:-4}
repeats=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
loadgen=$build/bench/echo_loadgen
hashd=$build/bench/pool_bench
tls=$build/bench/tls_bench
echo_server=$build/examples/echo_server
for program in "$loadgen" "$hashd" "$tls" "$echo_server"; do
    [ -x "$program" ] || { echo "$program is not built (cmake --build $build)" >&2; exit 1; }
done
work=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
bash "$here/../tests/support/make_test_certs.sh" "$work" >/dev/null
# An RSA-3072 server key as well: its signature (~2 ms) makes a handshake
# server-bound, where with P-256 the client's share of the work equals the
# server's and one load-generator core cannot keep two server cores busy.
(
    cd "$work"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out rsa.key 2>/dev/null
    openssl req -new -key rsa.key -subj "/CN=localhost" -out rsa.csr
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >rsa.ext
    openssl x509 -req -in rsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -sha256 \
        -extfile rsa.ext -out rsa.pem 2>/dev/null
)
limit=$((secs * 3 + 10))

# start CORES COMMAND...: runs the server pinned, sets server_pid and port.
start() {
    local cores=$1
    shift
    : >"$work/server.out"
    taskset -c "$cores" "$@" >"$work/server.out" 2>&1 &
    server_pid=$!
    for _ in $(seq 200); do
        port=$(sed -n 's/^listening on \(ssl:\|tcp:\)\{0,1\}\([0-9]*\).*/\2/p' "$work/server.out" | head -1)
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    echo "server did not start: $*: $(cat "$work/server.out")" >&2
    exit 1
}
stop() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=; }
field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }

# rate CORES LOADGEN-ARGS -- SERVER...: one run's messages per second.
rate() {
    local cores=$1 out
    shift
    local args=()
    while [ "$1" != -- ]; do args+=("$1"); shift; done
    shift
    start "$cores" "$@"
    out=$(timeout "$limit" taskset -c 1 "$loadgen" -p "$port" -t "$secs" "${args[@]}")
    stop
    [ "$(echo "$out" | field errors)" = 0 ] || { echo "byte check failed: $out" >&2; exit 1; }
    echo "$out" | field msgs_per_s
}

handshakes() {  # CORES WORKERS KEY (server or rsa)
    start "$1" "$echo_server" --workers "$2" \
        --listen "ssl:0:interface=127.0.0.1:certKey=$work/$3.pem:privateKey=$work/$3.key"
    timeout "$limit" taskset -c 1 "$tls" handshakes "$port" "$secs" "$work/ca.pem" 8
    stop
}

best() { sort -n | tail -1; }

# pair LABEL FIRST SECOND: best of REPEATS for two commands, alternating.
pair() {
    local label=$1 a=$2 b=$3 ra=() rb=()
    for _ in $(seq "$repeats"); do
        ra+=("$(eval "$a")")
        rb+=("$(eval "$b")")
    done
    local ba bb
    ba=$(printf '%s\n' "${ra[@]}" | best)
    bb=$(printf '%s\n' "${rb[@]}" | best)
    awk -v l="$label" -v a="$ba" -v b="$bb" 'BEGIN {
        printf "| %-44s | %12.0f | %12.0f | **%.3f** |\n", l, a, b, (a > 0 ? b / a : 0) }'
}

echo "ReactorPool — ${secs}s per run, best of ${repeats}; load generators on core 1"
echo
echo "| scenario (A → B)                             |       A /s |       B /s | B/A |"
echo "|---|---:|---:|---:|"
pair "hash 256 KiB per request, 16 conns: 1 → 2 workers" \
    "rate 0 -c 16 -s 64 -- $hashd hash 1 64" \
    "rate 0,1 -c 16 -s 64 -- $hashd hash 2 64"
pair "echo 10 conns, 16 x 1 KiB pipelined: Reactor → pool(1)" \
    "rate 0 -c 10 -s 1024 -m stream -w 16384 -- $echo_server --listen tcp:0:interface=127.0.0.1" \
    "rate 0 -c 10 -s 1024 -m stream -w 16384 -- $echo_server --workers 1 --listen tcp:0:interface=127.0.0.1"
pair "echo 10 conns streaming 64 KiB: Reactor → pool(1)" \
    "rate 0 -c 10 -s 65536 -m stream -- $echo_server --listen tcp:0:interface=127.0.0.1" \
    "rate 0 -c 10 -s 65536 -m stream -- $echo_server --workers 1 --listen tcp:0:interface=127.0.0.1"
pair "TLS 1.3 handshakes, P-256 key, 8 in flight: 1 → 2 workers" \
    "handshakes 0 1 server" "handshakes 0,1 2 server"
pair "TLS 1.3 handshakes, RSA-3072 key, 8 in flight: 1 → 2 workers" \
    "handshakes 0 1 rsa" "handshakes 0,1 2 rsa"
