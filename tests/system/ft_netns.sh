#!/usr/bin/env bash
# twine-ft end to end between two network-namespace hosts joined by veth
# (198.18.0.1 <-> 198.18.0.2): a large random file and a tree arrive with
# equal SHA-256; a sender and a receiver killed mid-way resume and re-send
# less than the whole file; hostile names are refused with nothing written
# outside the root; a full disk fails clearly at both ends with no final
# file; a wrong token is refused; re-runs move only changed files; 10,000
# small files arrive identical; --dry-run writes nothing; --checksum finds
# changed contents; --compress puts far fewer bytes on the wire.
#
#   bash tests/system/ft_netns.sh BUILD_DIR      (as root)
# TWINE_FT_QUICK=1 uses a 64 MiB file instead of 512 MiB.
set -euo pipefail

BUILD=${1:?usage: ft_netns.sh BUILD_DIR}
FT=$BUILD/examples/filetransfer/twine-ft
[[ -x $FT ]] || { echo "no twine-ft in $BUILD"; exit 1; }
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root for network namespaces"; exit 77; }

SIZE_MIB=512
[[ ${TWINE_FT_QUICK:-0} == 1 ]] && SIZE_MIB=64
ID=$$
NS_A=twft-a-$ID
NS_B=twft-b-$ID
WORK=$(mktemp -d /tmp/twine-ft-sys.XXXXXX)
PORT=9000
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$NS_A" 2>/dev/null || true
    ip netns del "$NS_B" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok: $*"; }
in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }

ip netns add "$NS_A"
ip netns add "$NS_B"
ip link add "twfa$ID" type veth peer name "twfb$ID"
ip link set "twfa$ID" netns "$NS_A"
ip link set "twfb$ID" netns "$NS_B"
in_a ip addr add 198.18.0.1/24 dev "twfa$ID"
in_b ip addr add 198.18.0.2/24 dev "twfb$ID"
in_a ip link set "twfa$ID" up
in_b ip link set "twfb$ID" up
in_a ip link set lo up
in_b ip link set lo up
# Slow the link (token bucket, no netem needed) so a transfer takes a few
# seconds and can be killed mid-way; without tbf the kill still lands
# mid-way on a large file, just less surely.
RATE_MBIT=$((SIZE_MIB * 8 * 1024 * 1024 / 1000000 / 4))
in_a tc qdisc add dev "twfa$ID" root tbf rate ${RATE_MBIT}mbit burst 256kb latency 50ms \
    2>/dev/null || echo "note: tbf unavailable, link not slowed"

echo "twine-ft-system-token-$ID" > "$WORK/token"
SRC=$WORK/src
mkdir -p "$SRC/tree/sub/deeper" "$SRC/tree/empty"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$SRC/big.bin"
for i in 1 2 3; do head -c $((i * 1000 + 7)) /dev/urandom > "$SRC/tree/f$i"; done
echo "deep" > "$SRC/tree/sub/deeper/leaf.txt"
: > "$SRC/tree/sub/empty-file"
ln -s /etc/passwd "$SRC/tree/sub/link-out"

TO="tcp:host=198.18.0.2:port=$PORT:timeout=10"

# start_server ROOT [extra args...]: serves ROOT in host B, waits until it listens.
start_server() {
    local root=$1; shift
    mkdir -p "$root"
    # ip netns exec execs the tool, so $! is twine-ft itself (killed by PID).
    ip netns exec "$NS_B" "$FT" serve "$root" --listen "tcp:$PORT:interface=198.18.0.2" \
        --token-file "$WORK/token" "$@" > "$WORK/server.out" 2> "$WORK/server.err" &
    SERVER=$!
    PIDS+=("$SERVER")
    for _ in $(seq 100); do
        grep -q "listening on" "$WORK/server.out" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "server did not start: $(cat "$WORK/server.err")"
}
# wait_bounded PID SECONDS: waits for PID, killing it if it outlives SECONDS;
# returns its exit status.
wait_bounded() {
    for _ in $(seq $(($2 * 10))); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$1" 2>/dev/null || true
    wait "$1"
}
stop_server() { kill "$SERVER" 2>/dev/null || true; wait_bounded "$SERVER" 10 || true; }

# send_files OUT PATH...: runs twine-ft send from host A, output in OUT; returns its status.
send_files() {
    local out=$1; shift
    in_a timeout 120 "$FT" send "$@" --to "$TO" --token-file "$WORK/token" > "$out" 2>&1
}
bytes_sent() { sed -n 's/.* \([0-9][0-9]*\) bytes sent.*/\1/p' "$1" | tail -1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# wait_for_part FILE BYTES: until FILE holds at least BYTES (bounded).
wait_for_part() {
    for _ in $(seq 600); do
        [[ -f $1 ]] && (($(stat -c %s "$1") >= $2)) && return 0
        sleep 0.05
    done
    fail "no partial $1 of $2 bytes appeared"
}

SIZE=$((SIZE_MIB * 1024 * 1024))

# --- a big file and a tree arrive verified -------------------------------
R1=$WORK/root1
start_server "$R1"
send_files "$WORK/send1.out" "$SRC/big.bin" "$SRC/tree" || fail "send: $(cat "$WORK/send1.out")"
[[ $(sha "$R1/big.bin") == $(sha "$SRC/big.bin") ]] || fail "big.bin differs"
(cd "$SRC" && find tree -type f -print0 | sort -z | xargs -0 sha256sum) > "$WORK/src.sums"
(cd "$R1" && sha256sum -c --quiet "$WORK/src.sums") || fail "tree differs"
[[ -d $R1/tree/empty ]] || fail "empty directory missing"
[[ ! -e $R1/tree/sub/link-out ]] || fail "symlink was followed or copied"
grep -q "skipping symlink tree/sub/link-out" "$WORK/send1.out" || fail "no note for the symlink"
pass "$SIZE_MIB MiB file and tree arrived with equal SHA-256"
FETCHED=$WORK/fetched
mkdir -p "$FETCHED"
in_a timeout 120 "$FT" fetch big.bin tree --from "$TO" -o "$FETCHED" --token-file "$WORK/token" \
    > "$WORK/fetch1.out" 2>&1 || fail "fetch: $(cat "$WORK/fetch1.out")"
[[ $(sha "$FETCHED/big.bin") == $(sha "$SRC/big.bin") ]] || fail "fetched big.bin differs"
(cd "$FETCHED" && sha256sum -c --quiet "$WORK/src.sums") || fail "fetched tree differs"
# The server's PLAN gives the fetching side the totals (big.bin and the tree).
total=$(($(find "$SRC/tree" -type f | wc -l) + 1))
grep -q "^progress: $total/$total files .* ETA " "$WORK/fetch1.out" ||
    fail "the fetch's progress line has no totals: $(grep progress "$WORK/fetch1.out")"
if in_a timeout 30 "$FT" fetch no-such-file --from "$TO" -o "$FETCHED" \
    --token-file "$WORK/token" > "$WORK/fetch2.out" 2>&1; then
    fail "fetching a missing name succeeded"
fi
grep -q "no-such-file.*not-found" "$WORK/fetch2.out" || fail "no clear error: $(cat "$WORK/fetch2.out")"
pass "fetched the file and the tree back with equal SHA-256, totals in the progress line; a missing name is an error"

# --- re-runs move only what changed --------------------------------------
# The tree holds 5 files; the receiver kept their mtimes, so all are up to date.
send_files "$WORK/rerun1.out" "$SRC/tree" || fail "unchanged re-run: $(cat "$WORK/rerun1.out")"
grep -q "done: 0 verified, 5 up to date, 0 failed; 0 bytes sent" "$WORK/rerun1.out" ||
    fail "unchanged re-run moved data: $(cat "$WORK/rerun1.out")"
EDITED=$WORK/edited
mkdir -p "$EDITED"
cp -a "$SRC/tree" "$EDITED/tree"
echo "changed" >> "$EDITED/tree/f2"
if send_files "$WORK/rerun2.out" "$EDITED/tree"; then
    fail "a changed file replaced the server's copy without --allow-overwrite"
fi
grep -q "tree/f2.*exists" "$WORK/rerun2.out" || fail "no exists error: $(cat "$WORK/rerun2.out")"
grep -q "0 verified, 4 up to date, 1 failed; 0 bytes sent" "$WORK/rerun2.out" ||
    fail "unchanged files were re-sent: $(cat "$WORK/rerun2.out")"
(cd "$R1" && sha256sum -c --quiet "$WORK/src.sums") || fail "the server's tree changed"
echo "local edit" >> "$FETCHED/tree/f3"
in_a timeout 60 "$FT" fetch tree --from "$TO" -o "$FETCHED" --allow-overwrite \
    --token-file "$WORK/token" > "$WORK/rerun3.out" 2>&1 || fail "fetch re-run: $(cat "$WORK/rerun3.out")"
grep -q "done: 1 verified, 4 up to date, 0 failed; $(stat -c %s "$R1/tree/f3") bytes" \
    "$WORK/rerun3.out" || fail "fetch re-run moved more than the changed file: $(cat "$WORK/rerun3.out")"
(cd "$FETCHED" && sha256sum -c --quiet "$WORK/src.sums") || fail "the changed file was not replaced"
pass "re-runs: an unchanged tree moves no data and exits 0; a changed file is refused (exists) or, with --allow-overwrite, the only one sent"
stop_server

# --- many small files, dry runs, --checksum, --compress -------------------
# Under a sanitizer (TWINE_FT_QUICK) 2,000: each file costs it many times more.
SMALL_COUNT=$([[ -n ${TWINE_FT_QUICK:-} ]] && echo 2000 || echo 10000)
mkdir -p "$SRC/small"
head -c $((SMALL_COUNT * 4096)) /dev/urandom | split -d -b 4096 -a 5 - "$SRC/small/f"
R3=$WORK/root3
start_server "$R3" --allow-overwrite
send_files "$WORK/small1.out" "$SRC/small" || fail "small files: $(tail -3 "$WORK/small1.out")"
grep -q "done: $SMALL_COUNT verified" "$WORK/small1.out" || fail "small files: $(tail -3 "$WORK/small1.out")"
diff -r "$SRC/small" "$R3/small" > /dev/null || fail "small files differ"
pass "$SMALL_COUNT small files arrived identical"

CHANGED=$SRC/small/f00042
head -c 4096 /dev/urandom > "$CHANGED"
touch -d @1700000000 "$CHANGED"
send_files "$WORK/dry.out" --dry-run "$SRC/small" || fail "dry run: $(tail -3 "$WORK/dry.out")"
grep -q "would transfer small/f00042 " "$WORK/dry.out" || fail "dry run: $(tail -3 "$WORK/dry.out")"
grep -q "dry run: 1 files would be transferred" "$WORK/dry.out" || fail "dry run count"
cmp -s "$CHANGED" "$R3/small/f00042" && fail "a dry run wrote the file"
send_files "$WORK/small2.out" "$SRC/small" || fail "re-run: $(tail -3 "$WORK/small2.out")"
grep -q "done: 1 verified, $((SMALL_COUNT - 1)) up to date, 0 failed; 4096 bytes sent" \
    "$WORK/small2.out" || fail "re-run: $(tail -3 "$WORK/small2.out")"
cmp -s "$CHANGED" "$R3/small/f00042" || fail "the changed file was not replaced"
pass "--dry-run lists the one changed file and writes nothing; the real run sends only it"

# The same size and mtime, other contents: only --checksum notices; new
# mtimes alone are not a change to it.
head -c 4096 /dev/urandom > "$CHANGED"
touch -d @1700000000 "$CHANGED"
touch -d @1600000000 "$SRC/small/f00007"
send_files "$WORK/sum.out" --checksum "$SRC/small" || fail "checksum: $(tail -3 "$WORK/sum.out")"
grep -q "done: 1 verified, $((SMALL_COUNT - 1)) up to date, 0 failed; 4096 bytes sent" \
    "$WORK/sum.out" || fail "checksum: $(tail -3 "$WORK/sum.out")"
cmp -s "$CHANGED" "$R3/small/f00042" || fail "--checksum did not send the changed contents"
[[ $(stat -c %Y "$R3/small/f00007") == 1600000000 ]] || fail "--checksum kept the old mtime"
pass "--checksum sends contents that changed under the same size and mtime, and nothing else"

# tx_bytes of host A's veth.
tx_bytes() { in_a cat "/sys/class/net/twfa$ID/statistics/tx_bytes"; }
TEXT=$SRC/text
mkdir -p "$TEXT"
for i in $(seq 40); do
    awk -v f="$i" 'BEGIN { for (j = 0; j < 3000; j++)
        printf "#define TWINE_FT_%d_%d %d /* a header line, as in /usr/include */\n", f, j, j * f }' \
        > "$TEXT/header-$i.h"
done
before=$(tx_bytes)
send_files "$WORK/plain.out" "$TEXT" || fail "text tree: $(tail -3 "$WORK/plain.out")"
plain=$(($(tx_bytes) - before))
rm -rf "$R3/text"
before=$(tx_bytes)
send_files "$WORK/zstd.out" --compress "$TEXT" || fail "--compress: $(tail -3 "$WORK/zstd.out")"
zstd=$(($(tx_bytes) - before))
diff -r "$TEXT" "$R3/text" > /dev/null || fail "the compressed tree differs"
((zstd * 3 < plain)) || fail "--compress sent $zstd bytes, plain $plain"
pass "--compress: the text tree arrived identical in $zstd bytes on the wire instead of $plain"
stop_server

# --- the sender killed mid-way, then resumed -----------------------------
R2=$WORK/root2
start_server "$R2"
ip netns exec "$NS_A" "$FT" send "$SRC/big.bin" --to "$TO" --token-file "$WORK/token" \
    > "$WORK/send2a.out" 2>&1 &
SENDER=$!
PIDS+=("$SENDER")
wait_for_part "$R2/.big.bin.part" $((SIZE / 4))
kill -9 "$SENDER"
wait_bounded "$SENDER" 10 || true
[[ ! -e $R2/big.bin ]] || fail "final name exists after the sender was killed"
sleep 0.5  # let the server see the connection drop
send_files "$WORK/send2b.out" "$SRC/big.bin" || fail "resumed send: $(cat "$WORK/send2b.out")"
SENT=$(bytes_sent "$WORK/send2b.out")
[[ -n $SENT ]] && ((SENT < SIZE)) || fail "resume re-sent ${SENT:-?} of $SIZE bytes"
[[ $(sha "$R2/big.bin") == $(sha "$SRC/big.bin") ]] || fail "resumed file differs"
pass "sender killed and resumed: re-sent $SENT of $SIZE bytes"
stop_server

# --- the receiver killed mid-way, then resumed ---------------------------
R3=$WORK/root3
start_server "$R3"
# --retries 0: this checks the failure is reported (ft_secure_retry.sh checks
# that a send with retries outlives a restarted receiver).
ip netns exec "$NS_A" "$FT" send "$SRC/big.bin" --to "$TO" --token-file "$WORK/token" \
    --retries 0 > "$WORK/send3a.out" 2>&1 &
SENDER=$!
PIDS+=("$SENDER")
wait_for_part "$R3/.big.bin.part" $((SIZE / 3))
kill -9 "$SERVER"
wait_bounded "$SERVER" 10 || true
wait_bounded "$SENDER" 30 && fail "send succeeded although the receiver died"
grep -q "twine-ft: error:" "$WORK/send3a.out" || fail "no error line: $(cat "$WORK/send3a.out")"
[[ ! -e $R3/big.bin ]] || fail "final name exists after the receiver was killed"
start_server "$R3"
send_files "$WORK/send3b.out" "$SRC/big.bin" || fail "resumed send: $(cat "$WORK/send3b.out")"
SENT=$(bytes_sent "$WORK/send3b.out")
[[ -n $SENT ]] && ((SENT < SIZE)) || fail "resume re-sent ${SENT:-?} of $SIZE bytes"
[[ $(sha "$R3/big.bin") == $(sha "$SRC/big.bin") ]] || fail "resumed file differs"
pass "receiver killed and resumed: re-sent $SENT of $SIZE bytes"
stop_server

# --- hostile names: refused, nothing written outside the root -----------
R4=$WORK/root4
OUTSIDE=$WORK/outside
mkdir -p "$R4" "$OUTSIDE"
ln -s "$OUTSIDE" "$R4/planted"
start_server "$R4" --insecure-plaintext  # the raw client below speaks no TLS
in_a timeout 30 python3 - "$WORK/token" 198.18.0.2 "$PORT" > "$WORK/hostile.out" 2>&1 <<'PY' \
    || fail "hostile client: $(cat "$WORK/hostile.out")"
import hashlib, hmac, os, socket, sys
token = open(sys.argv[1]).read().strip().encode()
sock = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=10)
reader = sock.makefile("rb")
def send(line): sock.sendall(line.encode() + b"\n")
def fields(line): return dict(f.split("=", 1) for f in line.split()[1:])
hello = reader.readline().decode().strip()
server_nonce = bytes.fromhex(fields(hello)["nonce"])
nonce = os.urandom(32)
send("HELLO version=2 role=client caps=resume nonce=" + nonce.hex())
proof = hmac.new(token, b"twine-ft client" + server_nonce + nonce, hashlib.sha256).hexdigest()
send("AUTH proof=" + proof)
assert reader.readline().startswith(b"WELCOME"), "not welcomed"
hostile = ["..%2Fescape", "%2Fetc%2Fescape", "a%2F..%2F..%2Fescape", "..%5C..%5Cescape",
           "a%00b", "a%0Ab", "", ".x.part", "planted%2Fescape", "a%2F%2Fb", "%1B%5B2J"]
for name in hostile:
    send("FILE name=%s size=5 mode=644 mtime=0" % name)
    answer = reader.readline().decode().strip()
    print(name, "->", answer)
    assert answer.startswith("ERROR") and "code=bad-name" in answer, answer
send("GET name=..%2F..%2Fetc%2Fpasswd")
answer = reader.readline().decode().strip()
assert answer.startswith("ERROR") and "code=bad-name" in answer, answer
send("GET name=planted")
answer = reader.readline().decode().strip()
assert answer.startswith("ERROR"), answer
send("FILE name=x size=1 mode=644 mtime=0 " + "k=" + "a" * 9000)
answer = reader.readline().decode().strip()
assert answer.startswith("ERROR") and "bad-message" in answer, answer
print("all refused")
PY
[[ -z $(ls -A "$OUTSIDE") ]] || fail "something was written outside the root"
[[ $(find "$R4" -mindepth 1 | wc -l) == 1 ]] || fail "something was written in the root"
pass "hostile names refused, nothing written outside the root"
stop_server

# --- a wrong token is refused --------------------------------------------
R5=$WORK/root5
start_server "$R5"
echo "not-the-token" > "$WORK/wrong"
if in_a timeout 30 "$FT" send "$SRC/tree/f1" --to "$TO" --token-file "$WORK/wrong" \
    > "$WORK/wrong.out" 2>&1; then
    fail "a wrong token was accepted"
fi
grep -q "wrong token" "$WORK/wrong.out" || fail "no clear error: $(cat "$WORK/wrong.out")"
[[ -z $(ls -A "$R5") ]] || fail "a file was written with a wrong token"
pass "wrong token refused: $(grep 'error' "$WORK/wrong.out" | head -1)"
stop_server

# --- a full disk: clear errors at both ends, no final file ---------------
R6=$WORK/root6
mkdir -p "$R6"
ip netns exec "$NS_B" unshare -m sh -c "mount -t tmpfs -o size=16m tmpfs '$R6' && \
    echo mounted > '$WORK/mounted' && exec '$FT' serve '$R6' \
    --listen 'tcp:$PORT:interface=198.18.0.2' --token-file '$WORK/token'" \
    > "$WORK/server.out" 2> "$WORK/server.err" &
SERVER=$!
PIDS+=("$SERVER")
for _ in $(seq 100); do grep -q "listening on" "$WORK/server.out" 2>/dev/null && break; sleep 0.1; done
grep -q "listening on" "$WORK/server.out" || fail "tmpfs server did not start: $(cat "$WORK/server.err")"
head -c $((24 * 1024 * 1024)) /dev/urandom > "$WORK/too-big.bin"
if send_files "$WORK/full.out" "$WORK/too-big.bin"; then fail "a file larger than the disk arrived"; fi
grep -q "too-big.bin.*no-space" "$WORK/full.out" || fail "sender: no clear error: $(cat "$WORK/full.out")"
grep -q "too-big.bin.*no-space" "$WORK/server.err" || fail "server: no clear error: $(cat "$WORK/server.err")"
# The disk fills during the transfer: two 10 MiB uploads at once both pass
# the free-space check of a 16 MiB disk; one of them must hit ENOSPC.
head -c $((10 * 1024 * 1024)) /dev/urandom > "$WORK/ten-a.bin"
head -c $((10 * 1024 * 1024)) /dev/urandom > "$WORK/ten-b.bin"
# One attempt each (--retries 0): this checks what the receiver does on
# ENOSPC. A retry after a lost connection resumes from a partial, which
# is then kept on purpose, and is tested on its own above.
send_files "$WORK/full-a.out" "$WORK/ten-a.bin" --retries 0 & SEND_A=$!
send_files "$WORK/full-b.out" "$WORK/ten-b.bin" --retries 0 & SEND_B=$!
STATUS_A=0; STATUS_B=0
wait_bounded "$SEND_A" 120 || STATUS_A=$?
wait_bounded "$SEND_B" 120 || STATUS_B=$?
((STATUS_A != 0 || STATUS_B != 0)) || fail "20 MiB fitted a 16 MiB disk"
cat "$WORK/full-a.out" "$WORK/full-b.out" > "$WORK/full2.out"
grep -q "ten-[ab].bin.*no-space" "$WORK/full2.out" || fail "sender: no clear error: $(cat "$WORK/full2.out")"
grep -q "ten-[ab].bin.*no-space" "$WORK/server.err" || fail "server: no clear error: $(cat "$WORK/server.err")"
# The tmpfs is visible only inside the server's mount namespace: a failed
# upload left no final file (and no partial); a successful one is whole.
for name in a b; do
    status=$STATUS_A; [[ $name == b ]] && status=$STATUS_B
    if ((status != 0)); then
        nsenter -t "$SERVER" -m sh -c "[ ! -e '$R6/ten-$name.bin' ] && [ ! -e '$R6/.ten-$name.bin.part' ]" \
            || fail "a file was left under ten-$name.bin on a full disk"
    else
        [[ $(nsenter -t "$SERVER" -m sha256sum "$R6/ten-$name.bin" | cut -d' ' -f1) == \
           $(sha "$WORK/ten-$name.bin") ]] || fail "ten-$name.bin differs"
    fi
done
nsenter -t "$SERVER" -m sh -c "[ ! -e '$R6/too-big.bin' ] && [ ! -e '$R6/.too-big.bin.part' ]" \
    || fail "too-big.bin (or its partial) was left"
pass "full disk: $(grep -h 'error' "$WORK/full.out" "$WORK/full2.out" | head -2 | tr '\n' ' ')"
stop_server

echo "all twine-ft system checks passed"
