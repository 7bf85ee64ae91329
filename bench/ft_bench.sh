#!/usr/bin/env bash
# twine-ft against an nc pipe and iperf3 (one stream, the link's limit), on
# loopback and between two network-namespace hosts joined by veth; one run
# each, with the peak RSS of both ends. Prints a table.
#
#   bash bench/ft_bench.sh BUILD_DIR        (as root, for the namespaces)
# TWINE_FT_BENCH_MIB=2048 sets the file size; the random file is generated
# once into /tmp and reused (TWINE_FT_BENCH_FILE to choose the path).
set -euo pipefail

BUILD=${1:?usage: ft_bench.sh BUILD_DIR}
FT=$(realpath "$BUILD/examples/filetransfer/twine-ft")
MIB=${TWINE_FT_BENCH_MIB:-2048}
FILE=${TWINE_FT_BENCH_FILE:-/tmp/twine-ft-bench-${MIB}m.bin}
SIZE=$((MIB * 1024 * 1024))
LIMIT=300  # seconds any one run may take
[[ -x $FT ]] || { echo "no twine-ft in $BUILD"; exit 1; }
for tool in nc iperf3; do command -v $tool > /dev/null || { echo "$tool is needed"; exit 1; }; done
[[ -x /usr/bin/time ]] || apt-get install -y time > /dev/null

if [[ ! -f $FILE || $(stat -c %s "$FILE") != "$SIZE" ]]; then
    echo "generating $FILE ($MIB MiB of random data)..."
    head -c "$SIZE" /dev/urandom > "$FILE.tmp" && mv "$FILE.tmp" "$FILE"
fi

ID=$$
NS_A=twftb-a-$ID
NS_B=twftb-b-$ID
WORK=$(mktemp -d /tmp/twine-ft-bench.XXXXXX)
cleanup() {
    jobs -p | xargs -r kill -9 2> /dev/null || true
    ip netns del "$NS_A" 2> /dev/null || true
    ip netns del "$NS_B" 2> /dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

HAVE_NS=0
if [[ $(id -u) == 0 ]] && ip netns add "$NS_A" 2> /dev/null; then
    ip netns add "$NS_B"
    ip link add "twba$ID" type veth peer name "twbb$ID"
    ip link set "twba$ID" netns "$NS_A"
    ip link set "twbb$ID" netns "$NS_B"
    ip netns exec "$NS_A" ip addr add 198.18.0.1/24 dev "twba$ID"
    ip netns exec "$NS_B" ip addr add 198.18.0.2/24 dev "twbb$ID"
    for ns in "$NS_A" "$NS_B"; do ip netns exec "$ns" ip link set lo up; done
    ip netns exec "$NS_A" ip link set "twba$ID" up
    ip netns exec "$NS_B" ip link set "twbb$ID" up
    HAVE_NS=1
fi

# rss FILE: the peak RSS in MiB that /usr/bin/time -v wrote to FILE.
rss() { awk '/Maximum resident/ { printf "%.1f", $6 / 1024 }' "$1"; }
now() { date +%s.%N; }
TIMED=(/usr/bin/time -v)
ROWS=()

# row PLACE TOOL SECONDS SENDER_RSS RECEIVER_RSS
row() {
    local rate
    rate=$(awk -v s="$3" -v b="$SIZE" 'BEGIN { printf "%.0f", b / 1048576 / s }')
    ROWS+=("$(printf '%-10s %-8s %8.2f %10s %12s %14s' "$1" "$2" "$3" "$rate" "$4" "$5")")
}

# wait_up CHECK...: polls until CHECK succeeds (bounded).
wait_up() { for _ in $(seq 100); do "$@" && return 0; sleep 0.1; done; return 1; }

# bench PLACE SERVER_PREFIX CLIENT_PREFIX HOST
bench() {
    local place=$1 host=$4
    local -a srv=($2) cli=($3)
    local port=$((20000 + RANDOM % 20000))

    # twine-ft
    local root=$WORK/root-$place
    mkdir -p "$root"
    echo "bench-token" > "$WORK/token"
    "${srv[@]}" "${TIMED[@]}" -o "$WORK/ft-srv.time" timeout $LIMIT "$FT" serve "$root" -q \
        --listen "tcp:$port:interface=$host" --token-file "$WORK/token" > "$WORK/ft-srv.out" 2>&1 &
    local server=$!
    wait_up grep -q "listening on" "$WORK/ft-srv.out"
    local t0 t1
    t0=$(now)
    "${cli[@]}" "${TIMED[@]}" -o "$WORK/ft-cli.time" timeout $LIMIT "$FT" send "$FILE" -q \
        --to "tcp:host=$host:port=$port" --token-file "$WORK/token"
    t1=$(now)
    # $server is /usr/bin/time; its child, timeout, passes SIGTERM on to the tool.
    kill -TERM "$(pgrep -P "$server")" 2> /dev/null || true
    wait "$server" || true
    cmp -s "$FILE" "$root/$(basename "$FILE")" || echo "warning: twine-ft copy differs"
    row "$place" twine-ft "$(echo "$t1 - $t0" | bc)" "$(rss "$WORK/ft-cli.time")" "$(rss "$WORK/ft-srv.time")"
    rm -rf "$root"

    # nc pipe
    port=$((port + 1))
    "${srv[@]}" "${TIMED[@]}" -o "$WORK/nc-srv.time" timeout $LIMIT nc -l -s "$host" -p "$port" \
        > "$WORK/nc.out" &
    server=$!
    sleep 0.3
    t0=$(now)
    "${cli[@]}" "${TIMED[@]}" -o "$WORK/nc-cli.time" timeout $LIMIT nc -N "$host" "$port" < "$FILE"
    wait "$server" || true
    t1=$(now)
    row "$place" "nc" "$(echo "$t1 - $t0" | bc)" "$(rss "$WORK/nc-cli.time")" "$(rss "$WORK/nc-srv.time")"
    rm -f "$WORK/nc.out"

    # iperf3, one stream, same byte count
    port=$((port + 1))
    "${srv[@]}" "${TIMED[@]}" -o "$WORK/ip-srv.time" timeout $LIMIT iperf3 -s -1 -B "$host" \
        -p "$port" > /dev/null &
    server=$!
    sleep 0.5
    "${cli[@]}" "${TIMED[@]}" -o "$WORK/ip-cli.time" timeout $LIMIT iperf3 -c "$host" -p "$port" \
        -n "$SIZE" -J > "$WORK/iperf.json"
    wait "$server" || true
    local seconds
    seconds=$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["end"]["sum_received"]; print(e["seconds"])' "$WORK/iperf.json")
    row "$place" iperf3 "$seconds" "$(rss "$WORK/ip-cli.time")" "$(rss "$WORK/ip-srv.time")"
}

bench loopback "" "" 127.0.0.1
if ((HAVE_NS)); then
    bench netns "ip netns exec $NS_B" "ip netns exec $NS_A" 198.18.0.2
else
    echo "note: not root or no netns: namespace runs skipped"
fi

echo
echo "file: $FILE ($MIB MiB), $(nproc) cores, one run each"
printf '%-10s %-8s %8s %10s %12s %14s\n' place tool seconds "MiB/s" "send RSS MiB" "recv RSS MiB"
printf '%s\n' "${ROWS[@]}"
