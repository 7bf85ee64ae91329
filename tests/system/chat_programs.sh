#!/usr/bin/env bash
# System test: chat_server with three clients (two over TCP on 127.0.0.1, one
# over a Unix socket) who each see the others' lines. Every wait is bounded.
#
#     bash tests/system/chat_programs.sh BUILD_DIR
set -euo pipefail

BUILD=${1:?usage: chat_programs.sh BUILD_DIR}
SERVER=$BUILD/examples/chat_server
WORK=$(mktemp -d)
SERVER_PID=

cleanup() {
    [[ -n $SERVER_PID ]] && kill -KILL "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    [[ -s $WORK/server.err ]] && cat "$WORK/server.err" >&2
    exit 1
}

mkfifo "$WORK/server.out"
"$SERVER" --listen tcp:0:interface=127.0.0.1 --listen "unix:$WORK/chat.sock" \
    >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
exec 3<"$WORK/server.out"
read -t 10 -r tcp_line <&3 || fail "chat_server printed nothing"
read -t 10 -r unix_line <&3 || fail "chat_server printed one line only"
[[ $tcp_line =~ ^listening\ on\ tcp:([0-9]+):interface=127\.0\.0\.1$ ]] ||
    fail "unexpected line: $tcp_line"
PORT=${BASH_REMATCH[1]}
[[ $unix_line == "listening on unix:$WORK/chat.sock" ]] || fail "unexpected line: $unix_line"

# Each step waits for the lines it expects (10 s at most each), so the
# conversation is the same on every run.
timeout 60 python3 - "$PORT" "$WORK/chat.sock" <<'EOF' || fail "the chat conversation went wrong"
import socket
import sys

port, path = int(sys.argv[1]), sys.argv[2]


class Client:
    def __init__(self, name, family, address):
        self.name = name
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(address)
        self.buffer = b""

    def expect(self, line):
        while b"\n" not in self.buffer:
            data = self.sock.recv(4096)
            if not data:
                sys.exit(f"{self.name}: connection closed while waiting for {line!r}")
            self.buffer += data
        got, self.buffer = self.buffer.split(b"\n", 1)
        got = got.decode().rstrip("\r")
        if got != line:
            sys.exit(f"{self.name}: expected {line!r}, got {got!r}")

    def send(self, line):
        self.sock.sendall(line.encode() + b"\n")


def join(name, family, address, others):
    client = Client(name, family, address)
    client.expect("What's your name?")
    client.send(name)
    client.expect(f"Welcome, {name}!")
    # An IP client is announced with its address (a Unix one has none).
    where = ""
    if family == socket.AF_INET:
        host, number = client.sock.getsockname()
        where = f" from {host}:{number}"
    for other in others:
        other.expect(f"* {name} has joined{where}")
    return client


alice = join("alice", socket.AF_INET, ("127.0.0.1", port), [])
bob = join("bob", socket.AF_UNIX, path, [alice])
carol = join("carol", socket.AF_INET, ("127.0.0.1", port), [alice, bob])
people = [alice, bob, carol]

for speaker in people:
    speaker.send(f"hello from {speaker.name}")
    for listener in people:
        if listener is not speaker:
            listener.expect(f"<{speaker.name}> hello from {speaker.name}")

carol.sock.close()
alice.expect("* carol has left")
bob.expect("* carol has left")
print("chat: three clients saw each other's lines")
EOF

kill -TERM "$SERVER_PID"
timeout 10 tail --pid="$SERVER_PID" -f /dev/null || fail "chat_server ignored SIGTERM"
status=0
wait "$SERVER_PID" || status=$?
SERVER_PID=
[[ $status -eq 0 ]] || fail "chat_server exited $status after SIGTERM"

status=0
timeout 10 "$SERVER" --listen unix: >/dev/null 2>"$WORK/bad.err" || status=$?
[[ $status -ne 0 && $status -lt 124 ]] || fail "chat_server --listen unix: exited $status"
grep -q "invalid endpoint" "$WORK/bad.err" || fail "chat_server did not explain a bad endpoint"
timeout 10 "$SERVER" --help | grep -q -- "--listen" || fail "chat_server --help"

echo "chat programs: all checks passed"
