#!/usr/bin/env bash
# System test: a host name with an IPv6 and an IPv4 address, one of which
# silently drops connection attempts (a listener whose backlog is full).
# echo_client must still connect, through the other address, well within its
# timeout: connectTCP staggers and races its attempts (Happy Eyeballs, RFC
# 8305) instead of waiting on the first address until the timeout. Both
# families take a turn at being the broken one, so the resolver's order does
# not matter.
#
# The name lives in a network namespace created here, whose /etc/hosts is
# /etc/netns/NS/hosts (ip netns exec mounts it); everything is deleted at exit.
#
#     bash tests/system/happy_eyeballs.sh BUILD_DIR      (as root)
set -euo pipefail

BUILD=${1:?usage: happy_eyeballs.sh BUILD_DIR}
SERVER=$(realpath "$BUILD/examples/echo_server")
CLIENT=$(realpath "$BUILD/examples/echo_client")
NS=twhe-$$
PIDS=()

if [[ $(id -u) != 0 ]] || ! command -v python3 > /dev/null; then
    echo "skipped: needs root (network namespaces) and python3"
    exit 77
fi

cleanup() {
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2> /dev/null && wait "$pid" 2> /dev/null || true; done
    ip netns del "$NS" 2> /dev/null || true
    rm -rf "/etc/netns/$NS"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
mkdir -p "/etc/netns/$NS"
printf '::1 dual.test\n127.0.0.1 dual.test\n' > "/etc/netns/$NS/hosts"

# A listener that accepts nothing, its queue filled, so later SYNs are dropped:
# a connect to it hangs. It exits by itself after 60 s.
BLACKHOLE='
import socket, sys, time
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
server = socket.socket(family, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(0)
fillers = []
for _ in range(3):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex((sys.argv[1], int(sys.argv[2])))
    fillers.append(s)
time.sleep(0.5)
print("ready", flush=True)
time.sleep(60)
'

EXPECTED=$'Server said: hello alex!\nconnection lost\nConnection lost - goodbye!'

# check BROKEN_ADDRESS WORKING_ADDRESS PORT
check() {
    local broken=$1 working=$2 port=$3
    local out="/tmp/twhe-$$-$port"
    ip netns exec "$NS" python3 -c "$BLACKHOLE" "$broken" "$port" > "$out.hole" &
    PIDS+=($!)
    local endpoint="tcp:$port:interface=$working"
    [[ $working == *:* ]] && endpoint="tcp6:$port:interface=${working//:/\\:}"
    ip netns exec "$NS" "$SERVER" --listen "$endpoint" > "$out.server" &
    PIDS+=($!)
    for _ in $(seq 100); do
        grep -q ready "$out.hole" && grep -q listening "$out.server" && break
        sleep 0.1
    done
    grep -q ready "$out.hole" || fail "the blackhole listener on $broken did not start"
    grep -q listening "$out.server" || fail "echo_server on $working did not start"

    # Waiting on the broken address alone would use up the whole timeout.
    local status=0 got
    got=$(ip netns exec "$NS" timeout 30 "$CLIENT" \
        --connect "tcp:host=dual.test:port=$port:timeout=10") || status=$?
    rm -f "$out.hole" "$out.server"
    [[ $status -eq 0 ]] || fail "echo_client exited $status with $broken broken: $got"
    [[ $got == "$EXPECTED" ]] || fail "with $broken broken, echo_client printed: $got"
    echo "ok: connected through $working while $broken dropped the attempt"
}

PORT=$((20000 + RANDOM % 20000))
check ::1 127.0.0.1 "$PORT"
check 127.0.0.1 ::1 "$((PORT + 1))"
