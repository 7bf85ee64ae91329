#!/usr/bin/env bash
# The demo `make demo` runs: an echo server and client over TCP, a Unix
# socket, TLS and UDP, then a file sent with twine-ft and checked byte for byte.
#
#   bash examples/demo.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_for_line() {  # file pattern
    for _ in $(seq 100); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "demo: timed out waiting for '$2' in $1" >&2
    cat "$1" >&2
    return 1
}

echo "== echo over TCP, a Unix socket, TLS and UDP"
# A throw-away CA and a certificate for localhost, made now (nothing is committed).
bash "$(dirname "$0")/../tests/support/make_test_certs.sh" "$work/certs" >/dev/null 2>&1
port=$(free_port)
tls_port=$(free_port)
udp_port=$(free_port)
"$build/examples/echo_server" --listen "tcp:$port:interface=127.0.0.1" --listen "unix:$work/echo.sock" \
    --listen "ssl:$tls_port:interface=127.0.0.1:certKey=$work/certs/server.pem:privateKey=$work/certs/server.key" \
    --listen "udp:$udp_port:interface=127.0.0.1" >"$work/echo_server.log" 2>&1 &
pids+=($!)
wait_for_line "$work/echo_server.log" "udp:"
cat "$work/echo_server.log"
client=$build/examples/echo_client
timeout 10 "$client" --connect "tcp:host=127.0.0.1:port=$port"
timeout 10 "$client" --connect "unix:path=$work/echo.sock" --message "hello over a unix socket"
timeout 10 "$client" --connect "tls:host=localhost:port=$tls_port:trustRoots=$work/certs/ca.pem" \
    --message "hello over TLS, certificate verified"
timeout 10 "$client" --connect "udp:host=127.0.0.1:port=$udp_port" --message "hello over UDP"

if [ -x "$build/examples/filetransfer/twine-ft" ]; then
    echo
    echo "== a file transfer with twine-ft"
    ft=$build/examples/filetransfer/twine-ft
    mkdir -p "$work/inbox"
    head -c 50000000 /dev/urandom >"$work/demo.bin"
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/token"
    ft_port=$(free_port)
    "$ft" serve "$work/inbox" --listen "tcp:$ft_port:interface=127.0.0.1" --token-file "$work/token" \
        >"$work/ft_server.log" 2>&1 &
    pids+=($!)
    wait_for_line "$work/ft_server.log" "listening"
    timeout 60 "$ft" send "$work/demo.bin" --to "tcp:host=127.0.0.1:port=$ft_port" --token-file "$work/token"
    cmp "$work/demo.bin" "$work/inbox/demo.bin"
    echo "demo.bin arrived intact ($(stat -c %s "$work/inbox/demo.bin") bytes, sha256 $(sha256sum "$work/inbox/demo.bin" | cut -c1-16)…)"
fi
echo
echo "demo: ok"
