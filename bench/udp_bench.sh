#!/usr/bin/env bash
# twine's UDP echo against the raw-libuv floor (bench/udp_floor.c), in the same
# run: ping-pong round trips per second and one-way flood datagrams per second,
# with the server's CPU time per datagram it served. Each server runs pinned
# to core 0, the load generator to core 1; every run is bounded in datagrams
# and seconds. The two servers alternate, ROUNDS runs each; the best rate and
# the lowest CPU time per datagram of each are kept.
#
#   bash bench/udp_bench.sh BUILD_DIR [ROUNDS]
#
# Environment: PINGPONG_COUNT, FLOOD_COUNT, SECONDS_PER_RUN, SIZE, PORT.
set -euo pipefail

build=${1:?usage: udp_bench.sh BUILD_DIR [ROUNDS]}
rounds=${2:-3}
twine_bin="$build/bench/udp_bench"
floor_bin="$build/bench/udp_floor"
for bin in "$twine_bin" "$floor_bin"; do
    [[ -x $bin ]] || { echo "udp_bench.sh: $bin not built (cmake --build $build --target udp_bench udp_floor)" >&2; exit 2; }
done

pingpong_count=${PINGPONG_COUNT:-100000}
flood_count=${FLOOD_COUNT:-2000000}
seconds=${SECONDS_PER_RUN:-5}
size=${SIZE:-64}
port=${PORT:-$((20000 + RANDOM % 20000))}

pin_server="taskset -c 0"
pin_load="taskset -c 1"
if ! taskset -c 1 true 2>/dev/null; then
    echo "udp_bench.sh: fewer than two cores; running unpinned" >&2
    pin_server=""
    pin_load=""
fi

work=$(mktemp -d)
server_pid=""
cleanup() {
    if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

field() {  # field NAME LINE -> the value of NAME=VALUE in LINE
    sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$2"
}

# run_once SERVER MODE -> prints "datagrams-per-second cpu-us-per-datagram"
run_once() {
    local kind=$1 mode=$2 server_cmd count
    if [[ $kind == twine ]]; then server_cmd=("$twine_bin" server); else server_cmd=("$floor_bin"); fi
    if [[ $mode == pingpong ]]; then count=$pingpong_count; else count=$flood_count; fi
    # A fresh port per run: run_once runs in a subshell, so a counter would not
    # advance, and the last run's port may still be held.
    port=$((20000 + RANDOM % 20000))
    $pin_server /usr/bin/time -f "%U %S" -o "$work/server.cpu" timeout 60 "${server_cmd[@]}" \
        --port "$port" --interface 127.0.0.1 --idle-ms 1000 \
        >"$work/server.out" 2>"$work/server.err" &
    server_pid=$!
    for _ in $(seq 100); do  # up to 5 s for "ready"
        grep -q ready "$work/server.out" 2>/dev/null && break
        sleep 0.05
    done
    grep -q ready "$work/server.out" || { echo "udp_bench.sh: $kind server did not start: $(cat "$work/server.err")" >&2; exit 1; }
    local load
    load=$($pin_load timeout 60 "$twine_bin" load --port "$port" --interface 127.0.0.1 \
        --mode "$mode" --count "$count" --seconds "$seconds" --size "$size")
    wait "$server_pid" || true
    server_pid=""
    local served rate
    served=$(grep '^server ' "$work/server.out" || true)
    if [[ $mode == pingpong ]]; then rate=$(field rate "$load"); else rate=$(field rate "$served"); fi
    awk -v r="$rate" -v n="$(field datagrams "$served")" -v c="$(cat "$work/server.cpu")" 'BEGIN {
        split(c, t, " "); printf "%.0f %.2f\n", r, (n > 0 ? (t[1] + t[2]) * 1e6 / n : 0) }'
}

# cell MODE -> "floor-rate floor-cpu twine-rate twine-cpu": the servers take
# turns, so both see the same machine; best rate and lowest CPU of each.
cell() {
    local mode=$1 line
    local -A rate=([floor]=0 [twine]=0) cpu=([floor]=0 [twine]=0)
    for _ in $(seq "$rounds"); do
        for kind in floor twine; do
            line=$(run_once "$kind" "$mode")
            read -r r c <<<"$line"
            if awk -v a="$r" -v b="${rate[$kind]}" 'BEGIN { exit !(a > b) }'; then rate[$kind]=$r; fi
            if [[ ${cpu[$kind]} == 0 ]] || awk -v a="$c" -v b="${cpu[$kind]}" 'BEGIN { exit !(a < b) }'; then
                cpu[$kind]=$c
            fi
        done
    done
    echo "${rate[floor]} ${cpu[floor]} ${rate[twine]} ${cpu[twine]}"
}

printf '%-10s %16s %16s %8s %18s %18s\n' mode "floor (dgram/s)" "twine (dgram/s)" ratio \
    "floor CPU us/dgram" "twine CPU us/dgram"
status=0
for mode in pingpong flood; do
    read -r floor_rate floor_cpu twine_rate twine_cpu <<<"$(cell "$mode")"
    ratio=$(awk -v t="$twine_rate" -v f="$floor_rate" 'BEGIN { printf "%.3f", (f > 0 ? t / f : 0) }')
    printf '%-10s %16s %16s %8s %18s %18s\n' "$mode" "$floor_rate" "$twine_rate" "$ratio" \
        "$floor_cpu" "$twine_cpu"
    awk -v r="$ratio" 'BEGIN { exit !(r >= 0.95) }' || status=1
done
echo "($size-byte datagrams; best of $rounds runs each, servers alternating; server on core 0, load on core 1; target ratio >= 0.95)"
exit $status
