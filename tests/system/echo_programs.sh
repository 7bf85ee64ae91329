#!/usr/bin/env bash
# System test: echo_server and echo_client end to end, over TCP on 127.0.0.1
# and over a Unix socket in a temporary directory. Every wait is bounded.
#
#     bash tests/system/echo_programs.sh BUILD_DIR
set -euo pipefail

BUILD=${1:?usage: echo_programs.sh BUILD_DIR}
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
    for log in "$WORK"/*.err; do
        [[ -s $log ]] && { echo "--- $log" >&2; cat "$log" >&2; }
    done
    exit 1
}

# start_server NAME ARGS...: starts echo_server with its stdout on a fifo
# (read through fd 3 by the caller) and sets SERVER_PID.
start_server() {
    local name=$1
    shift
    mkfifo "$WORK/$name.out"
    "$SERVER" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    exec 3<"$WORK/$name.out"
}

# next_line: the server's next stdout line, waiting at most 10 s.
next_line() {
    local line
    read -t 10 -r line <&3 || fail "echo_server printed no 'listening on' line in time"
    echo "$line"
}

# stop_server SIGNAL: sends SIGNAL and checks the server exits 0 within 10 s.
stop_server() {
    local signal=$1 status=0
    kill -"$signal" "$SERVER_PID"
    timeout 10 tail --pid="$SERVER_PID" -f /dev/null || fail "echo_server ignored SIG$signal"
    wait "$SERVER_PID" || status=$?
    [[ $status -eq 0 ]] || fail "echo_server exited $status after SIG$signal, expected 0"
    exec 3<&-
}

EXPECTED=$'Server said: hello alex!\nconnection lost\nConnection lost - goodbye!'

# check_client ENDPOINT: echo_client against ENDPOINT prints exactly EXPECTED, exits 0.
check_client() {
    local output status=0
    output=$(timeout 10 "$CLIENT" --connect "$1" 2>"$WORK/client.err") || status=$?
    [[ $status -eq 0 ]] || fail "echo_client --connect $1 exited $status"
    [[ $output == "$EXPECTED" ]] || fail "echo_client --connect $1 printed: $output"
}

# --- one server on TCP (port 0: the kernel picks) and on a Unix socket.
start_server main --listen tcp:0:interface=127.0.0.1 --listen "unix:$WORK/echo.sock"
tcp_line=$(next_line)
unix_line=$(next_line)
[[ $tcp_line =~ ^listening\ on\ tcp:([0-9]+):interface=127\.0\.0\.1$ ]] ||
    fail "unexpected first line: $tcp_line"
PORT=${BASH_REMATCH[1]}
[[ $PORT -ne 0 ]] || fail "echo_server printed port 0, not the real port"
[[ $unix_line == "listening on unix:$WORK/echo.sock" ]] || fail "unexpected second line: $unix_line"

check_client "tcp:host=127.0.0.1:port=$PORT"
check_client "tcp:127.0.0.1:$PORT:timeout=5"
check_client "unix:path=$WORK/echo.sock"

output=$(timeout 10 "$CLIENT" --connect "tcp:127.0.0.1:$PORT" --message "other words")
[[ $output == $'Server said: other words\nconnection lost\nConnection lost - goodbye!' ]] ||
    fail "--message was not sent: $output"

# SIGTERM stops it gracefully; the port it had is then closed.
stop_server TERM
[[ ! -e $WORK/echo.sock ]] || fail "echo_server left its unix socket behind"

# --- a closed port: the client says so and exits 1.
status=0
output=$(timeout 10 "$CLIENT" --connect "tcp:host=127.0.0.1:port=$PORT" 2>"$WORK/client.err") ||
    status=$?
[[ $output == "Connection failed - goodbye!" ]] || fail "against a closed port it printed: $output"
[[ $status -eq 1 ]] || fail "against a closed port it exited $status, expected 1"
status=0
output=$(timeout 10 "$CLIENT" --connect "unix:$WORK/nobody.sock" 2>/dev/null) || status=$?
[[ $output == "Connection failed - goodbye!" && $status -eq 1 ]] ||
    fail "against a missing socket: status $status, output: $output"

# --- UDP: one datagram and its echo; a host name is looked up first.
start_server udp --listen udp:0:interface=127.0.0.1
udp_line=$(next_line)
[[ $udp_line =~ ^listening\ on\ udp:([0-9]+):interface=127\.0\.0\.1$ ]] ||
    fail "unexpected UDP line: $udp_line"
UDP_PORT=${BASH_REMATCH[1]}
for host in 127.0.0.1 localhost; do
    output=$(timeout 10 "$CLIENT" --connect "udp:host=$host:port=$UDP_PORT")
    [[ $output == "Server said: hello alex!" ]] || fail "over UDP to $host it printed: $output"
done
status=0
timeout 10 "$CLIENT" --connect "udp:host=nowhere.invalid:port=$UDP_PORT" \
    >"$WORK/client.out" 2>"$WORK/client.err" || status=$?
[[ $status -eq 1 ]] || fail "over UDP to an unknown name it exited $status, expected 1"
grep -q "Couldn't resolve nowhere.invalid" "$WORK/client.err" ||
    fail "over UDP to an unknown name it said: $(cat "$WORK/client.err")"
stop_server TERM

# --- SIGINT stops it gracefully too.
start_server int --listen tcp:0:interface=127.0.0.1
next_line >/dev/null
stop_server INT

# --- bad arguments: a message and a non-zero exit, never a crash.
# expect_refusal TEXT PROGRAM ARGS...: PROGRAM exits non-zero (not by a signal)
# and its stderr holds TEXT.
expect_refusal() {
    local text=$1 status=0
    shift
    timeout 10 "$@" >"$WORK/refusal.out" 2>"$WORK/refusal.err" || status=$?
    [[ $status -ne 0 && $status -lt 124 ]] || fail "$* exited $status"
    grep -qF -- "$text" "$WORK/refusal.err" || fail "$* did not say '$text'"
}
expect_refusal "--bogus" "$SERVER" --bogus
expect_refusal "--bogus" "$CLIENT" --bogus
expect_refusal "invalid endpoint 'tcp:http'" "$SERVER" --listen tcp:http
expect_refusal "unknown server endpoint type 'carrier-pigeon'" "$SERVER" --listen carrier-pigeon:1
expect_refusal "missing port" "$CLIENT" --connect tcp:host=127.0.0.1
expect_refusal "unknown parameter 'colour'" "$CLIENT" --connect tcp:127.0.0.1:1:colour=blue
expect_refusal "--listen" "$SERVER" --listen
# A port that cannot be listened on (in use by the server started here).
start_server busy --listen tcp:0:interface=127.0.0.1
busy_line=$(next_line)
[[ $busy_line =~ :([0-9]+): ]] || fail "unexpected line: $busy_line"
expect_refusal "cannot listen" "$SERVER" --listen "tcp:${BASH_REMATCH[1]}:interface=127.0.0.1"
stop_server TERM

# --help works and names the flags.
timeout 10 "$SERVER" --help | grep -q -- "--listen" || fail "echo_server --help"
timeout 10 "$CLIENT" --help | grep -q -- "--connect" || fail "echo_client --help"

echo "echo programs: all checks passed"
