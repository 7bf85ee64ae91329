#!/usr/bin/env bash
# System test: the example programs over TLS, against OpenSSL's own tools.
# echo_server on an ssl: endpoint serves `openssl s_client` (TLS 1.2 and 1.3)
# and echo_client on a tls: endpoint; a client's renegotiation is refused;
# echo_client talks to `openssl s_server` and refuses a self-signed
# certificate. Every wait is bounded.
#
#     bash tests/system/tls_interop.sh BUILD_DIR
set -euo pipefail

BUILD=${1:?usage: tls_interop.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
SERVER=$BUILD/examples/echo_server
CLIENT=$BUILD/examples/echo_client
WORK=$(mktemp -d)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for log in "$WORK"/*.err "$WORK"/*.log; do
        [[ -s $log ]] && { echo "--- $log" >&2; cat "$log" >&2; }
    done
    exit 1
}

bash "$HERE/../support/make_test_certs.sh" "$WORK" >/dev/null

# wait_for FILE PATTERN: waits at most 10 s for PATTERN (grep -E) in FILE.
wait_for() {
    for _ in $(seq 200); do
        grep -qE -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# --- echo_server on ssl:, port 0 on loopback.
"$SERVER" --listen "ssl:0:interface=127.0.0.1:certKey=$WORK/server.pem:privateKey=$WORK/server.key" \
    >"$WORK/server.log" 2>"$WORK/server.err" &
PIDS+=($!)
wait_for "$WORK/server.log" '^listening on ' || fail "echo_server did not start"
PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\).*$/\1/p' "$WORK/server.log" | head -1)
[[ -n $PORT && $PORT -ne 0 ]] || fail "no port in: $(cat "$WORK/server.log")"

# echo_client on tls:, verifying localhost against the test CA.
output=$(timeout 10 "$CLIENT" --connect "tls:host=localhost:port=$PORT:trustRoots=$WORK/ca.pem" \
    2>"$WORK/client.err") || fail "echo_client over tls: exited $?"
[[ $output == $'Server said: hello alex!\nconnection lost\nConnection lost - goodbye!' ]] ||
    fail "echo_client over tls: printed: $output"

# openssl s_client against echo_server: the line comes back, then we hang up.
# s_client reads a fifo we hold open, so it waits for the echo before its EOF.
s_client_echo() {
    local version=$1 log=$WORK/s_client$1.log
    rm -f "$WORK/in"
    mkfifo "$WORK/in"
    timeout 10 openssl s_client -connect "127.0.0.1:$PORT" "-$version" -servername localhost \
        -CAfile "$WORK/ca.pem" -verify_return_error -verify_hostname localhost \
        <"$WORK/in" >"$log" 2>&1 &
    local pid=$!
    PIDS+=($pid)
    exec 4>"$WORK/in"
    echo "ping over $version" >&4
    wait_for "$log" "^ping over $version\$" || { exec 4>&-; fail "s_client -$version got no echo"; }
    exec 4>&-
    wait "$pid" || true
    grep -q "Verification: OK" "$log" || fail "s_client -$version did not verify echo_server"
}
s_client_echo tls1_3
s_client_echo tls1_2

# A TLS 1.2 client asking to renegotiate (s_client's "R" command) is refused
# with a no_renegotiation alert; what it sent before came back, nothing after.
# (OpenSSL 3 servers refuse client-initiated renegotiation unless allowed;
# twine also sets SSL_OP_NO_RENEGOTIATION, which covers the other direction.)
rm -f "$WORK/in"
mkfifo "$WORK/in"
timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 -servername localhost \
    -CAfile "$WORK/ca.pem" <"$WORK/in" >"$WORK/reneg.log" 2>&1 &
PIDS+=($!)
exec 4>"$WORK/in"
echo "before renegotiation" >&4
wait_for "$WORK/reneg.log" '^before renegotiation$' || { exec 4>&-; fail "no echo before R"; }
echo "R" >&4
wait_for "$WORK/reneg.log" 'no renegotiation' || { exec 4>&-; fail "renegotiation was not refused"; }
# s_client may be gone already: a subshell takes the SIGPIPE, not this script.
(echo "after renegotiation" >&4) 2>/dev/null || true
exec 4>&-
wait "${PIDS[-1]}" || true
! grep -q '^after renegotiation$' "$WORK/reneg.log" || fail "data flowed after a renegotiation"
s_client_echo tls1_2  # and the server goes on serving

# Plain text to the TLS port: closed, echo_server keeps serving.
exec 5<>/dev/tcp/127.0.0.1/"$PORT"
printf 'GET / HTTP/1.0\r\n\r\n' >&5
timeout 10 cat <&5 >"$WORK/plain.out" || true
exec 5<&-
! grep -q "GET" "$WORK/plain.out" || fail "plain text was echoed by the TLS port"
output=$(timeout 10 "$CLIENT" --connect "tls:host=127.0.0.1:port=$PORT:trustRoots=$WORK/ca.pem" \
    2>"$WORK/client.err") || fail "echo_server stopped serving after plain text"

# --- echo_client against openssl s_server (-rev answers each line reversed).
s_server() {  # s_server CERT: starts s_server on a free port, sets SPORT
    : >"$WORK/s_server.log"
    openssl s_server -accept 127.0.0.1:0 -naccept 1 -rev -cert "$WORK/$1.pem" \
        -key "$WORK/$1.key" >"$WORK/s_server.log" 2>&1 &
    PIDS+=($!)
    wait_for "$WORK/s_server.log" 'ACCEPT 127\.0\.0\.1:[0-9]+' || fail "s_server did not start"
    SPORT=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/s_server.log")
}
s_server server
output=$(timeout 10 "$CLIENT" --connect "tls:host=localhost:port=$SPORT:trustRoots=$WORK/ca.pem" \
    --message $'hello alex!\n' 2>"$WORK/client.err") || fail "echo_client vs s_server exited $?"
grep -qF 'Server said: !xela olleh' <<<"$output" || fail "echo_client vs s_server printed: $output"

# A self-signed certificate is refused, with the reason on stderr.
s_server selfsigned
status=0
output=$(timeout 10 "$CLIENT" --connect "tls:host=localhost:port=$SPORT:trustRoots=$WORK/ca.pem" \
    2>"$WORK/refused.out") || status=$?
[[ $status -eq 1 && $output == "Connection failed - goodbye!" ]] ||
    fail "self-signed s_server: status $status, output: $output"
grep -q "self-signed certificate" "$WORK/refused.out" ||
    fail "no reason given for the refusal: $(cat "$WORK/refused.out")"

echo "tls interop: ok"
