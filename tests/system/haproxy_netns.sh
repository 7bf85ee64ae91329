#!/usr/bin/env bash
# twine servers behind a real HAProxy (Debian's), between two network-namespace
# hosts: the balancer host (198.18.0.1) runs haproxy in front of two
# echo_server backends (one sent PROXY v1, one v2, both health-checked) and a
# twine-ft server (v2, two workers); clients run in the other host (198.18.0.2).
#   - each backend logs the client's real address, not the balancer's;
#   - a killed backend: new connections go to the other one, none fails;
#   - a connection straight to a backend without a header is closed;
#   - twine-ft through the balancer: the file arrives, the log names the client.
#
#   bash tests/system/haproxy_netns.sh BUILD_DIR      (as root)
set -euo pipefail

BUILD=${1:?usage: haproxy_netns.sh BUILD_DIR}
ECHO_SERVER=$BUILD/examples/echo_server
FT=$BUILD/examples/filetransfer/twine-ft
[[ -x $ECHO_SERVER && -x $FT ]] || { echo "no echo_server or twine-ft in $BUILD"; exit 1; }
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root for network namespaces"; exit 77; }
command -v haproxy > /dev/null || { echo "SKIP: haproxy is not installed"; exit 77; }

ID=$$
NS_LB=twhp-lb-$ID
NS_CLI=twhp-cli-$ID
WORK=$(mktemp -d /tmp/twine-haproxy.XXXXXX)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$NS_LB" 2>/dev/null || true
    ip netns del "$NS_CLI" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    for log in "$WORK"/*.err; do echo "--- $log"; tail -20 "$log"; done
    exit 1
}
pass() { echo "ok: $*"; }
in_lb() { ip netns exec "$NS_LB" "$@"; }
in_cli() { ip netns exec "$NS_CLI" "$@"; }

ip netns add "$NS_LB"
ip netns add "$NS_CLI"
ip link add "twhl$ID" type veth peer name "twhc$ID"
ip link set "twhl$ID" netns "$NS_LB"
ip link set "twhc$ID" netns "$NS_CLI"
in_lb ip addr add 198.18.0.1/24 dev "twhl$ID"
in_cli ip addr add 198.18.0.2/24 dev "twhc$ID"
in_lb ip link set "twhl$ID" up
in_cli ip link set "twhc$ID" up
in_lb ip link set lo up
in_cli ip link set lo up

# wait_for FILE TEXT: until FILE contains TEXT (at most 10 s).
wait_for() {
    for _ in $(seq 100); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "no '$2' in $1"
}

# start NAME COMMAND...: runs COMMAND in the balancer host, logs in $WORK/NAME.*
# (ip netns exec execs it, so $! is the server itself, stopped by PID).
start() {
    local name=$1; shift
    ip netns exec "$NS_LB" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" &
    PIDS+=("$!")
    eval "PID_$name=$!"
    disown "$!"  # killed on purpose: no "Killed" job notice
}

start b1 "$ECHO_SERVER" --listen haproxy:tcp:7001:interface=127.0.0.1 --log-connections
start b2 "$ECHO_SERVER" --listen haproxy:tcp:7002:interface=127.0.0.1 --log-connections --workers 2
echo "twine-haproxy-token-$ID" > "$WORK/token"
mkdir -p "$WORK/received"
start ft "$FT" serve "$WORK/received" --listen haproxy:tcp:7101:interface=127.0.0.1 --workers 2 \
    --token-file "$WORK/token"
wait_for "$WORK/b1.out" "listening on haproxy:tcp:7001"
wait_for "$WORK/b2.out" "listening on haproxy:tcp:7002"
wait_for "$WORK/ft.out" "listening on"

cat > "$WORK/haproxy.cfg" <<CFG
global
    maxconn 2000
defaults
    mode tcp
    timeout connect 2s
    timeout client 20s
    timeout server 20s
    retries 3
    option redispatch 1
frontend echo
    bind 198.18.0.1:7000
    default_backend echoes
backend echoes
    balance roundrobin
    server b1 127.0.0.1:7001 send-proxy check inter 200ms fall 1 rise 1
    server b2 127.0.0.1:7002 send-proxy-v2 check inter 200ms fall 1 rise 1
frontend files
    bind 198.18.0.1:7100
    default_backend ft
backend ft
    server ft 127.0.0.1:7101 send-proxy-v2
CFG
start haproxy haproxy -db -f "$WORK/haproxy.cfg"
for _ in $(seq 100); do
    # Listening, seen from inside its host (a probe connection would count).
    in_lb ss -Hltn "sport = :7000" | grep -q 7000 && in_lb ss -Hltn "sport = :7100" | grep -q 7100 &&
        break
    sleep 0.1
done

# echo_clients COUNT OUT: COUNT connections through the balancer, each one
# echo round trip; prints how many came back right, one line per failure.
echo_clients() {
    in_cli timeout 60 python3 - "$1" > "$2" <<'PY'
import socket, sys
count, ok = int(sys.argv[1]), 0
for i in range(count):
    message = f"hello {i}\n".encode()
    try:
        with socket.create_connection(("198.18.0.1", 7000), timeout=10) as s:
            s.sendall(message)
            reply = b""
            while len(reply) < len(message):
                data = s.recv(4096)
                if not data:
                    break
                reply += data
        if reply == message:
            ok += 1
        else:
            print(f"connection {i}: got {reply!r}")
    except OSError as error:
        print(f"connection {i}: {error}")
print(f"ok {ok}")
PY
}

# client_lines NAME: how many connections NAME logged from the client host.
client_lines() { grep -c "^connection from 198\.18\.0\.2:[0-9]* to 198\.18\.0\.1:7000$" "$WORK/$1.err" || true; }

# --- the real client's address reaches both backends ---------------------
echo_clients 20 "$WORK/round1"
grep -qx "ok 20" "$WORK/round1" || fail "echo through haproxy: $(cat "$WORK/round1")"
b1=$(client_lines b1)
b2=$(client_lines b2)
((b1 + b2 == 20 && b1 >= 5 && b2 >= 5)) || fail "client addresses logged: b1=$b1 b2=$b2 of 20"
grep -q "connection from 127\.0\.0\.1:[0-9]* to 198" "$WORK/b1.err" "$WORK/b2.err" &&
    fail "a backend saw the balancer's address for a client"
pass "20 connections through haproxy; v1 backend logged $b1, v2 backend $b2, each with the client's address"

# --- health checks are served, not refused ----------------------------------
grep -q "haproxy: closing" "$WORK/b1.err" "$WORK/b2.err" &&
    fail "a backend refused haproxy's own connections"
pass "haproxy's health checks and connections all carried valid headers"

# --- a backend killed: the other takes every new connection ---------------
kill -9 "$PID_b1"
before=$(client_lines b2)
echo_clients 20 "$WORK/round2"
grep -qx "ok 20" "$WORK/round2" || fail "after killing b1: $(cat "$WORK/round2")"
after=$(client_lines b2)
((after - before == 20)) || fail "b2 took $((after - before)) of 20 connections after b1 died"
pass "b1 killed: 20 new connections all served by b2, none failed"

# --- straight to a backend, no header: closed, nothing echoed --------------
in_lb timeout 20 python3 - <<'PY' || fail "a connection without a header was not closed"
import socket, sys
with socket.create_connection(("127.0.0.1", 7002), timeout=10) as s:
    s.sendall(b"hello without a header\n")
    data = s.recv(4096)
sys.exit(0 if data == b"" else f"got {data!r}")
PY
wait_for "$WORK/b2.err" "not a PROXY protocol header"
pass "a connection straight to a backend without a header is closed with a log line"

# --- twine-ft through the balancer -----------------------------------------
head -c 3000000 /dev/urandom > "$WORK/payload.bin"
in_cli timeout 60 "$FT" send "$WORK/payload.bin" --to "tcp:host=198.18.0.1:port=7100:timeout=10" \
    --token-file "$WORK/token" > "$WORK/send.out" 2>&1 || fail "twine-ft send: $(cat "$WORK/send.out")"
cmp -s "$WORK/payload.bin" "$WORK/received/payload.bin" || fail "the file differs after the balancer"
grep -q "^connection from 198\.18\.0\.2:" "$WORK/ft.err" || fail "twine-ft's log does not name the client"
pass "twine-ft through haproxy (token TLS behind the PROXY header): identical file, client named"
