#!/usr/bin/env bash
# TLS throughput against plain TCP in the same run, the crypto ceiling, and
# handshakes per second. Server pinned to core 0, client to core 1; every
# step is bounded by `timeout`.
#   usage: bench/tls_bench.sh BUILD_DIR [SECONDS]
set -euo pipefail
build=${1:?usage: tls_bench.sh BUILD_DIR [SECONDS]}
seconds=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
bench="$build/bench/tls_bench"
[ -x "$bench" ] || bench="$build/tls_bench"
[ -x "$bench" ] || { echo "tls_bench not built in $build" >&2; exit 1; }

work=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
bash "$here/../tests/support/make_test_certs.sh" "$work" >/dev/null

pin() {  # pin CORE: taskset when the machine has that core
    if command -v taskset >/dev/null && [ "$(nproc)" -gt "$1" ]; then echo "taskset -c $1"; fi
}

# start_server [CERT KEY]: sets server_pid and port
start_server() {
    : > "$work/server.out"
    $(pin 0) "$bench" server "$@" > "$work/server.out" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        port=$(sed -n 's/^listening on //p' "$work/server.out")
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    echo "server did not start: $(cat "$work/server.out")" >&2
    exit 1
}
stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=; }

limit=$((seconds * 3 + 10))

start_server
tcp=$(timeout "$limit" $(pin 1) "$bench" stream "$port" "$seconds")
stop_server

start_server "$work/server.pem" "$work/server.key"
tls=$(timeout "$limit" $(pin 1) "$bench" stream "$port" "$seconds" "$work/ca.pem")
hs=$(timeout "$limit" $(pin 1) "$bench" handshakes "$port" "$seconds" "$work/ca.pem" 4)
stop_server

# One core's AES-128-GCM on 16 KiB records: what a TLS stream cannot beat.
speed=$(timeout "$limit" $(pin 0) openssl speed -seconds "$seconds" -bytes 16384 \
    -evp aes-128-gcm 2>/dev/null | awk '/^AES-128-GCM/ { sub("k", "", $2); print $2 / 1000 }')

printf '%-44s %12s\n' "measure" "value"
printf '%-44s %12s\n' "--------------------------------------------" "------------"
printf '%-44s %9s MB/s\n' "plain TCP echo (bytes echoed back)" "$tcp"
printf '%-44s %9s MB/s\n' "TLS 1.3 echo (bytes echoed back)" "$tls"
printf '%-44s %9s MB/s\n' "openssl speed aes-128-gcm, 16 KiB, 1 core" "$speed"
printf '%-44s %9s /s\n' "TLS 1.3 handshakes (P-256, 4 in flight)" "$hs"
awk -v t="$tls" -v p="$tcp" 'BEGIN { if (p > 0) printf "%-44s %11.0f%%\n", "TLS / TCP", 100 * t / p }'
