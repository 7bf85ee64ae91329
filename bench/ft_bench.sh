#!/usr/bin/env bash
# twine-ft against an nc pipe and iperf3 (one stream, the link's limit), on
# loopback and between two network-namespace hosts joined by veth; the fastest
# of several runs each, with the peak RSS and the CPU time (user + system) of
# both ends, and twine-ft over TLS on loopback.
# Prints a table.
#
#   bash bench/ft_bench.sh BUILD_DIR        (as root, for the namespaces)
# TWINE_FT_BENCH_MIB=2048 sets the file size; the random file is generated
# once into /tmp and reused (TWINE_FT_BENCH_FILE to choose the path).
# TWINE_FT_BENCH_REPEATS=3 sets how many times each tool runs.
set -euo pipefail

BUILD=${1:?usage: ft_bench.sh BUILD_DIR}
FT=$(realpath "$BUILD/examples/filetransfer/twine-ft")
MIB=${TWINE_FT_BENCH_MIB:-2048}
FILE=${TWINE_FT_BENCH_FILE:-/tmp/twine-ft-bench-${MIB}m.bin}
SIZE=$((MIB * 1024 * 1024))
REPEATS=${TWINE_FT_BENCH_REPEATS:-3}
LIMIT=300  # seconds any one run may take
[[ -x $FT ]] || { echo "no twine-ft in $BUILD"; exit 1; }
for tool in nc iperf3; do command -v $tool > /dev/null || { echo "$tool is needed"; exit 1; }; done
# netns_up/down, rss, cpu, now, TIMED, warm_memory, wait_up, stop_timed
# shellcheck source-path=SCRIPTDIR source=netns_lib.sh
source "$(dirname "$0")/netns_lib.sh"

if [[ ! -f $FILE || $(stat -c %s "$FILE") != "$SIZE" ]]; then
    echo "generating $FILE ($MIB MiB of random data)..."
    head -c "$SIZE" /dev/urandom > "$FILE.tmp" && mv "$FILE.tmp" "$FILE"
fi

WORK=$(mktemp -d /tmp/twine-ft-bench.XXXXXX)
cleanup() {
    jobs -p | xargs -r kill -9 2> /dev/null || true
    netns_down
    rm -rf "$WORK"
}
trap cleanup EXIT

HAVE_NS=0
netns_up twb && HAVE_NS=1

ROWS=()

# row PLACE TOOL SECONDS SENDER_TIME_FILE RECEIVER_TIME_FILE
row() {
    local rate
    rate=$(awk -v s="$3" -v b="$SIZE" 'BEGIN { printf "%.0f", b / 1048576 / s }')
    ROWS+=("$(printf '%-10s %-12s %8.2f %8s %12s %12s %10s %10s' "$1" "$2" "$3" "$rate" \
        "$(rss "$4")" "$(rss "$5")" "$(cpu "$4")" "$(cpu "$5")")")
}

# warm: see netns_lib.sh (this VM returns freed memory to its host).
warm() { warm_memory "$MIB" "$WORK"; }

# twine_ft PLACE TOOL SERVER_PREFIX CLIENT_PREFIX LISTEN_ENDPOINT CONNECT_ENDPOINT:
# one twine-ft send of $FILE, checked byte for byte, as a row named TOOL.
twine_ft() {
    local place=$1 tool=$2 listen=$5 connect=$6
    # shellcheck disable=SC2206 # the prefixes are split into words on purpose
    local -a srv=($3) cli=($4)
    local root=$WORK/root-$place
    mkdir -p "$root"
    echo "bench-token" > "$WORK/token"
    "${srv[@]}" "${TIMED[@]}" -o "$WORK/ft-srv.time" timeout $LIMIT "$FT" serve "$root" -q \
        --listen "$listen" --token-file "$WORK/token" > "$WORK/ft-srv.out" 2>&1 &
    local server=$!
    wait_up grep -q "listening on" "$WORK/ft-srv.out"
    local t0 t1
    warm
    t0=$(now)
    "${cli[@]}" "${TIMED[@]}" -o "$WORK/ft-cli.time" timeout $LIMIT "$FT" send "$FILE" -q \
        --to "$connect" --token-file "$WORK/token"
    t1=$(now)
    stop_timed "$server"
    cmp -s "$FILE" "$root/$(basename "$FILE")" || echo "warning: $tool copy differs"
    row "$place" "$tool" "$(echo "$t1 - $t0" | bc)" "$WORK/ft-cli.time" "$WORK/ft-srv.time"
    rm -rf "$root"
}

# bench PLACE SERVER_PREFIX CLIENT_PREFIX HOST
bench() {
    local place=$1 host=$4
    # shellcheck disable=SC2206 # the prefixes are split into words on purpose
    local -a srv=($2) cli=($3)
    local port=$((20000 + RANDOM % 20000))
    local server t0 t1

    twine_ft "$place" twine-ft "$2" "$3" "tcp:$port:interface=$host" "tcp:host=$host:port=$port"

    # nc pipe
    port=$((port + 1))
    "${srv[@]}" "${TIMED[@]}" -o "$WORK/nc-srv.time" timeout $LIMIT nc -l -s "$host" -p "$port" \
        > "$WORK/nc.out" &
    server=$!
    sleep 0.3
    warm
    t0=$(now)
    "${cli[@]}" "${TIMED[@]}" -o "$WORK/nc-cli.time" timeout $LIMIT nc -N "$host" "$port" < "$FILE"
    wait "$server" || true
    t1=$(now)
    row "$place" "nc" "$(echo "$t1 - $t0" | bc)" "$WORK/nc-cli.time" "$WORK/nc-srv.time"
    rm -f "$WORK/nc.out"

    # iperf3, one stream, same byte count
    port=$((port + 1))
    "${srv[@]}" "${TIMED[@]}" -o "$WORK/ip-srv.time" timeout $LIMIT iperf3 -s -1 -B "$host" \
        -p "$port" > /dev/null &
    server=$!
    sleep 0.5
    warm
    "${cli[@]}" "${TIMED[@]}" -o "$WORK/ip-cli.time" timeout $LIMIT iperf3 -c "$host" -p "$port" \
        -n "$SIZE" -J > "$WORK/iperf.json"
    wait "$server" || true
    local seconds
    seconds=$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["end"]["sum_received"]; print(e["seconds"])' "$WORK/iperf.json")
    row "$place" iperf3 "$seconds" "$WORK/ip-cli.time" "$WORK/ip-srv.time"
}

# Every tool runs REPEATS times, in turn with the others, and the fastest run
# of each is shown.
bash "$(dirname "$0")/../tests/support/make_test_certs.sh" "$WORK/certs" > /dev/null
for _ in $(seq "$REPEATS"); do
    bench loopback "" "" 127.0.0.1
    # TLS 1.3 on loopback (the test certificates name localhost): the cost of
    # encryption against the plain-TCP twine-ft row.
    port=$((20000 + RANDOM % 20000))
    twine_ft loopback twine-ft/tls "" "" \
        "ssl:$port:interface=127.0.0.1:certKey=$WORK/certs/server.pem:privateKey=$WORK/certs/server.key" \
        "tls:host=localhost:port=$port:trustRoots=$WORK/certs/ca.pem"
    if ((HAVE_NS)); then
        bench netns "ip netns exec $NS_B" "ip netns exec $NS_A" 198.18.0.2
    fi
done
((HAVE_NS)) || echo "note: not root or no netns: namespace runs skipped"

echo
echo "file: $FILE ($MIB MiB), $(nproc) cores, fastest of $REPEATS runs each"
printf '%-10s %-12s %8s %8s %12s %12s %10s %10s\n' place tool seconds "MiB/s" "send RSS MiB" \
    "recv RSS MiB" "send CPU s" "recv CPU s"
# The fastest row of each place and tool, in the order they first ran.
printf '%s\n' "${ROWS[@]}" | awk '{
    key = $1 " " $2
    if (!(key in best)) order[n++] = key
    if (!(key in best) || $3 < seconds[key]) { best[key] = $0; seconds[key] = $3 }
} END { for (i = 0; i < n; i++) print best[order[i]] }'
