#!/usr/bin/env bash
# twine-ft's default encryption and its retries, between two network-namespace
# hosts (198.18.0.1 <-> 198.18.0.2 over veth):
# - a capture on the veth during a default-mode transfer of a file full of a
#   marker string holds none of it (nor the file's name); the same transfer
#   with --insecure-plaintext on both ends does show it (the control);
# - a wrong token is refused before any file message, clearly at both ends;
# - one end in plaintext mode and the other not fails at once, clearly;
# - the sender killed with kill -9 at ~30% and run again at once completes,
#   with the server on two workers (the re-run lands on the other one);
# - four concurrent senders to those two workers all arrive whole;
# - the receiving server killed mid-transfer and restarted within the retry
#   window: the original send completes by itself, exit 0, file identical.
#
#   bash tests/system/ft_secure_retry.sh BUILD_DIR      (as root)
set -euo pipefail

BUILD=${1:?usage: ft_secure_retry.sh BUILD_DIR}
FT=$BUILD/examples/filetransfer/twine-ft
[[ -x $FT ]] || { echo "no twine-ft in $BUILD"; exit 1; }
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root for network namespaces"; exit 77; }
command -v tcpdump > /dev/null || { echo "SKIP: no tcpdump"; exit 77; }

ID=$$
NS_A=twsr-a-$ID
NS_B=twsr-b-$ID
VETH_A=twsa$ID
VETH_B=twsb$ID
WORK=$(mktemp -d /tmp/twine-ft-secure.XXXXXX)
PORT=9100
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2> /dev/null || true; done
    ip netns del "$NS_A" 2> /dev/null || true
    ip netns del "$NS_B" 2> /dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    exit 1
}
pass() { echo "ok: $*"; }
in_a() { ip netns exec "$NS_A" "$@"; }

ip netns add "$NS_A"
ip netns add "$NS_B"
ip link add "$VETH_A" type veth peer name "$VETH_B"
ip link set "$VETH_A" netns "$NS_A"
ip link set "$VETH_B" netns "$NS_B"
in_a ip addr add 198.18.0.1/24 dev "$VETH_A"
ip netns exec "$NS_B" ip addr add 198.18.0.2/24 dev "$VETH_B"
in_a ip link set "$VETH_A" up
ip netns exec "$NS_B" ip link set "$VETH_B" up
in_a ip link set lo up
ip netns exec "$NS_B" ip link set lo up

echo "twine-ft-secure-token-$ID" > "$WORK/token"
TO="tcp:host=198.18.0.2:port=$PORT:timeout=10"
SRC=$WORK/src
mkdir -p "$SRC"
MARKER="TWINE-PLAINTEXT-MARKER-$ID"
NAME="secret-name-$ID.txt"
# 2 MiB of nothing but the marker: any plaintext packet holds it whole.
yes "$MARKER" | head -c $((2 * 1024 * 1024)) > "$SRC/$NAME" || true # yes dies of SIGPIPE

# start_server ROOT [extra args...]: serves ROOT in host B, waits until it listens.
start_server() {
    local root=$1
    shift
    mkdir -p "$root"
    : > "$WORK/server.out"
    ip netns exec "$NS_B" "$FT" serve "$root" --listen "tcp:$PORT:interface=198.18.0.2" \
        --token-file "$WORK/token" "$@" > "$WORK/server.out" 2>> "$WORK/server.err" &
    SERVER=$!
    PIDS+=("$SERVER")
    for _ in $(seq 100); do
        grep -q "listening on" "$WORK/server.out" 2> /dev/null && return 0
        sleep 0.1
    done
    fail "server did not start: $(cat "$WORK/server.err")"
}
# wait_bounded PID SECONDS: waits for PID, killing it if it outlives SECONDS;
# returns its exit status.
wait_bounded() {
    for _ in $(seq $(($2 * 10))); do
        kill -0 "$1" 2> /dev/null || break
        sleep 0.1
    done
    kill -9 "$1" 2> /dev/null || true
    wait "$1"
}
stop_server() {
    kill "$SERVER" 2> /dev/null || true
    wait_bounded "$SERVER" 10 || true
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
# count FILE TEXT: how many times TEXT occurs in the bytes of FILE.
count() { grep -a -o -F -- "$2" "$1" | wc -l; }

# capture OUT CMD...: runs CMD while tcpdump records the veth of host B into OUT.
capture() {
    local out=$1
    shift
    ip netns exec "$NS_B" tcpdump -i "$VETH_B" -U -s 0 -w "$out" "tcp port $PORT" \
        2> "$WORK/tcpdump.err" &
    local dump=$!
    PIDS+=("$dump")
    for _ in $(seq 100); do
        grep -q "listening on" "$WORK/tcpdump.err" 2> /dev/null && break
        sleep 0.1
    done
    grep -q "listening on" "$WORK/tcpdump.err" || fail "tcpdump did not start: $(cat "$WORK/tcpdump.err")"
    local status=0
    "$@" || status=$?
    sleep 1 # tcpdump writes out what it has buffered
    kill -INT "$dump" 2> /dev/null || true
    wait_bounded "$dump" 10 || true
    return $status
}

# --- default mode: nothing readable on the wire --------------------------
R1=$WORK/root1
start_server "$R1"
capture "$WORK/default.pcap" in_a timeout 60 "$FT" send "$SRC/$NAME" --to "$TO" \
    --token-file "$WORK/token" > "$WORK/send1.out" 2>&1 || fail "default send: $(cat "$WORK/send1.out")"
[[ $(sha "$R1/$NAME") == $(sha "$SRC/$NAME") ]] || fail "file differs after the default send"
BYTES=$(stat -c %s "$WORK/default.pcap")
((BYTES > 1024 * 1024)) || fail "the capture holds only $BYTES bytes: it missed the transfer ($(tail -3 "$WORK/tcpdump.err" | tr "\n" " "))"
[[ $(count "$WORK/default.pcap" "$MARKER") == 0 ]] || fail "the marker crossed the wire in default mode"
[[ $(count "$WORK/default.pcap" "$NAME") == 0 ]] || fail "the file name crossed the wire in default mode"
# (The PSK identity "twine-ft/2 token" is public by design; the messages are not.)
for text in "HELLO version" "FILE name" "DATA name" "proof="; do
    [[ $(count "$WORK/default.pcap" "$text") == 0 ]] || fail "'$text' crossed the wire in default mode"
done
grep -q "warning" "$WORK/send1.out" && fail "default mode printed a warning: $(cat "$WORK/send1.out")"
pass "default mode: a $BYTES-byte capture holds no marker, no file name, no protocol text"
stop_server

# --- the control: --insecure-plaintext shows it --------------------------
R2=$WORK/root2
start_server "$R2" --insecure-plaintext
grep -q "warning: --insecure-plaintext" "$WORK/server.err" || fail "the server gave no plaintext warning"
capture "$WORK/plain.pcap" in_a timeout 60 "$FT" send "$SRC/$NAME" --to "$TO" --insecure-plaintext \
    --token-file "$WORK/token" > "$WORK/send2.out" 2>&1 || fail "plaintext send: $(cat "$WORK/send2.out")"
[[ $(sha "$R2/$NAME") == $(sha "$SRC/$NAME") ]] || fail "file differs after the plaintext send"
grep -q "warning: --insecure-plaintext" "$WORK/send2.out" || fail "the client gave no plaintext warning"
SEEN=$(count "$WORK/plain.pcap" "$MARKER")
((SEEN > 1000)) || fail "control: only $SEEN markers in the plaintext capture"
pass "control: --insecure-plaintext puts the marker on the wire $SEEN times (and warns)"

# --- mismatched modes fail at once, clearly -------------------------------
START=$SECONDS
if in_a timeout 30 "$FT" send "$SRC/$NAME" --to "$TO" --token-file "$WORK/token" \
    > "$WORK/mismatch1.out" 2>&1; then
    fail "a default client against a plaintext server succeeded"
fi
grep -q "does not speak twine-ft's encrypted mode" "$WORK/mismatch1.out" ||
    fail "no clear error (default client, plaintext server): $(cat "$WORK/mismatch1.out")"
stop_server
start_server "$R2"
if in_a timeout 30 "$FT" send "$SRC/$NAME" --to "$TO" --insecure-plaintext \
    --token-file "$WORK/token" > "$WORK/mismatch2.out" 2>&1; then
    fail "a plaintext client against a default server succeeded"
fi
grep -q "before the session began.*encrypted" "$WORK/mismatch2.out" ||
    fail "no clear error (plaintext client, default server): $(cat "$WORK/mismatch2.out")"
grep -q "does not seem to speak TLS" "$WORK/server.err" || fail "the server logged nothing for plain text"
((SECONDS - START < 10)) || fail "mismatched modes took $((SECONDS - START)) s (retried?)"
pass "mismatched modes: $(grep -h 'error' "$WORK/mismatch1.out" "$WORK/mismatch2.out" | cut -c1-90 | tr '\n' '|')"

# --- a wrong token: refused in the handshake, at once --------------------
echo "not-the-token" > "$WORK/wrong"
: > "$WORK/server.err"
START=$SECONDS
if in_a timeout 30 "$FT" send "$SRC/$NAME" --to "$TO" --token-file "$WORK/wrong" \
    > "$WORK/wrong.out" 2>&1; then
    fail "a wrong token was accepted"
fi
grep -q "authentication failed: wrong token" "$WORK/wrong.out" || fail "no clear error: $(cat "$WORK/wrong.out")"
grep -q "refused.*different pre-shared key" "$WORK/server.err" ||
    fail "no server log line: $(cat "$WORK/server.err")"
grep -q "receiving" "$WORK/server.err" && fail "the server saw a file message from a wrong token"
((SECONDS - START < 10)) || fail "a wrong token took $((SECONDS - START)) s (retried?)"
pass "wrong token: $(grep 'error' "$WORK/wrong.out" | head -1)"
stop_server

# --- sender killed at ~30%, run again at once ----------------------------
SIZE=$((64 * 1024 * 1024))
head -c $SIZE /dev/urandom > "$SRC/big.bin"
# ~4 s for the file: a kill at 30% lands mid-transfer.
in_a tc qdisc add dev "$VETH_A" root tbf rate 130mbit burst 256kb latency 50ms
# wait_for_part FILE BYTES: until FILE holds at least BYTES (bounded).
wait_for_part() {
    for _ in $(seq 600); do
        [[ -f $1 ]] && (($(stat -c %s "$1") >= $2)) && return 0
        sleep 0.05
    done
    fail "no partial $1 of $2 bytes appeared"
}
# Served by two workers: the pool hands connections out round-robin, so the
# re-run's connection lands on the other worker and waits there for the dead
# one's claim on the name (held in the root both share) to drain.
R3=$WORK/root3
start_server "$R3" --workers 2
ip netns exec "$NS_A" "$FT" send "$SRC/big.bin" --to "$TO" --token-file "$WORK/token" \
    > "$WORK/send3a.out" 2>&1 &
SENDER=$!
PIDS+=("$SENDER")
wait_for_part "$R3/.big.bin.part" $((SIZE * 3 / 10))
kill -9 "$SENDER"
wait_bounded "$SENDER" 10 || true
in_a timeout 60 "$FT" send "$SRC/big.bin" --to "$TO" --token-file "$WORK/token" \
    > "$WORK/send3b.out" 2>&1 || fail "the immediate re-run failed: $(cat "$WORK/send3b.out")"
[[ $(sha "$R3/big.bin") == $(sha "$SRC/big.bin") ]] || fail "file differs after the re-run"
grep -q "resuming at" "$WORK/send3b.out" || fail "the re-run did not resume: $(cat "$WORK/send3b.out")"
pass "sender killed at 30%, re-run at once (2 workers): $(grep -h '^done' "$WORK/send3b.out")"
# Four senders at once over the same two workers: every file arrives whole.
SENDERS=()
for i in 1 2 3 4; do
    head -c $((1024 * 1024 + i)) /dev/urandom > "$SRC/par$i.bin"
    in_a timeout 60 "$FT" send "$SRC/par$i.bin" --to "$TO" --token-file "$WORK/token" \
        > "$WORK/par$i.out" 2>&1 &
    SENDERS+=($!)
    PIDS+=($!)
done
for i in 1 2 3 4; do
    wait "${SENDERS[$((i - 1))]}" || fail "parallel send $i failed: $(cat "$WORK/par$i.out")"
    [[ $(sha "$R3/par$i.bin") == $(sha "$SRC/par$i.bin") ]] || fail "par$i.bin differs"
done
pass "four concurrent senders over 2 workers: every file identical"
stop_server

# --- receiver killed mid-transfer and restarted: the first send completes -
R4=$WORK/root4
start_server "$R4"
ip netns exec "$NS_A" "$FT" send "$SRC/big.bin" --to "$TO" --token-file "$WORK/token" \
    > "$WORK/send4.out" 2>&1 &
SENDER=$!
PIDS+=("$SENDER")
wait_for_part "$R4/.big.bin.part" $((SIZE * 3 / 10))
kill -9 "$SERVER"
wait_bounded "$SERVER" 10 || true
sleep 1 # down for a while: the sender's first retries are refused
start_server "$R4"
STATUS=0
wait_bounded "$SENDER" 60 || STATUS=$?
((STATUS == 0)) || fail "the original send exited $STATUS: $(cat "$WORK/send4.out")"
[[ $(sha "$R4/big.bin") == $(sha "$SRC/big.bin") ]] || fail "file differs after the restart"
grep -q "retry 1 of 5" "$WORK/send4.out" || fail "no retry was printed: $(cat "$WORK/send4.out")"
grep -q "resuming at" "$WORK/send4.out" || fail "the retried session did not resume"
pass "receiver killed and restarted: $(grep -c 'retry' "$WORK/send4.out") retries, $(grep -h '^done' "$WORK/send4.out")"
stop_server

echo "all twine-ft security and retry checks passed"
