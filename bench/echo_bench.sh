#!/usr/bin/env bash
# twine's echo_server against the raw libuv floor (echo_floor), side by side in
# one run. Server pinned to core 0, load generator to core 1. Reports
# throughput, the server's CPU time per message and the ratio to the floor.
#
#   bash bench/echo_bench.sh BUILD_DIR [SECONDS_PER_RUN] [REPEATS]
#
# ECHO_BENCH_PAIR="BASE CANDIDATE" compares two other servers: floor, twine
# (echo_server on tcp:) or haproxy (echo_server on haproxy:tcp:, every
# connection opened with a PROXY header); bench/haproxy_bench.sh uses it.
set -euo pipefail
build=${1:-build}
secs=${2:-4}
repeats=${3:-3}
loadgen=$build/bench/echo_loadgen
floor=$build/bench/echo_floor
twine=$build/examples/echo_server
port_base=$((20000 + RANDOM % 20000))
server_pid=
read -r base candidate <<<"${ECHO_BENCH_PAIR:-floor twine}"

cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true; }
trap cleanup EXIT

start_server() {  # kind port
    case $1 in
        floor) taskset -c 0 "$floor" "$2" >/dev/null 2>&1 & ;;
        twine) taskset -c 0 "$twine" --listen "tcp:$2:interface=127.0.0.1" >/dev/null 2>&1 & ;;
        haproxy)
            taskset -c 0 "$twine" --listen "haproxy:tcp:$2:interface=127.0.0.1" >/dev/null 2>&1 &
            ;;
    esac
    server_pid=$!
    for _ in $(seq 100); do
        nc -z 127.0.0.1 "$2" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "server $1 did not start" >&2
    exit 1
}

stop_server() {
    kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
    server_pid=
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }

# One measured run: prints "msgs_per_s mib_per_s cpu_us_per_msg p50 p99".
measure() {  # kind port loadgen-args...
    local kind=$1 port=$2
    shift 2
    start_server "$kind" "$port"
    local before after out
    before=$(cpu_ticks "$server_pid")
    local header=()
    [ "$kind" = haproxy ] && header=(-x)  # what a balancer sends first
    out=$(taskset -c 1 "$loadgen" -p "$port" -t "$secs" "${header[@]}" "$@")
    after=$(cpu_ticks "$server_pid")
    stop_server
    local msgs ticks
    msgs=$(echo "$out" | field msgs)
    ticks=$((after - before))
    [ "$(echo "$out" | field errors)" = 0 ] || { echo "byte check failed: $out" >&2; exit 1; }
    awk -v m="$msgs" -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v o="$out" 'BEGIN {
        n = split(o, kv, " "); for (i = 1; i <= n; i++) { split(kv[i], p, "="); v[p[1]] = p[2] }
        printf "%s %s %.2f %s %s\n", v["msgs_per_s"], v["mib_per_s"], m ? t / hz * 1e6 / m : 0, v["p50_us"], v["p99_us"] }'
}

# Best of REPEATS runs, alternating the two servers so both see the same machine.
scenario() {  # label loadgen-args...
    local label=$1
    shift
    local best_floor="0" best_twine="0" port=$port_base line
    for _ in $(seq "$repeats"); do
        port=$((port + 1)); line=$(measure "$base" "$port" "$@")
        best_floor=$(printf '%s\n%s\n' "$best_floor" "$line" | sort -k1,1nr | head -1)
        port=$((port + 1)); line=$(measure "$candidate" "$port" "$@")
        best_twine=$(printf '%s\n%s\n' "$best_twine" "$line" | sort -k1,1nr | head -1)
    done
    port_base=$port
    read -r f_rate f_mib f_cpu f_p50 f_p99 <<<"$best_floor"
    read -r t_rate t_mib t_cpu t_p50 t_p99 <<<"$best_twine"
    awk -v l="$label" -v fr="$f_rate" -v tr="$t_rate" -v fm="$f_mib" -v tm="$t_mib" \
        -v fc="$f_cpu" -v tc="$t_cpu" -v fp="$f_p99" -v tp="$t_p99" 'BEGIN {
        printf "| %-26s | %10.0f | %10.0f | %7.1f | %7.1f | %6.2f | %6.2f | %7.0f | %7.0f | **%.2f** |\n",
               l, fr, tr, fm, tm, fc, tc, fp, tp, fr ? tr / fr : 0 }'
}

idle_memory() {  # kind port -> KiB per connection
    local kind=$1 port=$2 before pids=() per=5000
    start_server "$kind" "$port"
    sleep 0.2
    before=$(rss_kib "$server_pid")
    for src in 127.0.0.2 127.0.0.3; do
        taskset -c 1 "$loadgen" -p "$port" -b "$src" -c "$per" -m idle -t 6 >"/tmp/idle.$$.$src" &
        pids+=($!)
    done
    local ready=0
    for _ in $(seq 400); do
        ready=$(cat /tmp/idle.$$.* 2>/dev/null | grep -c connected= || true)
        [ "$ready" -ge 2 ] && break
        sleep 0.05
    done
    if [ "$ready" -lt 2 ]; then
        echo "idle $kind: the load generators did not connect all $((2 * per)) in 20 s" >&2
        exit 1
    fi
    sleep 0.5
    local after
    after=$(rss_kib "$server_pid")
    wait "${pids[@]}" 2>/dev/null || true
    rm -f /tmp/idle.$$.*
    stop_server
    awk -v a="$after" -v b="$before" -v n=$((2 * per)) 'BEGIN { printf "%.2f", (a - b) / n }'
}

b=$base c=$candidate
echo "echo: $candidate vs $base — ${secs}s per run, best of ${repeats}, server on core 0, load on core 1"
echo
echo "| scenario                   | $b msg/s | $c msg/s | $b MiB/s | $c MiB/s | $b CPU µs/msg | $c CPU µs/msg | $b p99 µs | $c p99 µs | $c/$b |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
scenario "1 conn x 64 B ping-pong" -c 1 -s 64
scenario "50 conns x 1 KiB ping-pong" -c 50 -s 1024
scenario "50 conns x 16 KiB ping-pong" -c 50 -s 16384
scenario "10 conns pipelined 16 x 1 KiB" -c 10 -s 1024 -w 16384 -m stream
scenario "10 conns streaming 64 KiB" -c 10 -s 65536 -m stream
if [ "$base" != floor ]; then
    # A new connection per message: where a per-connection cost shows.
    scenario "4 conns connect+64 B+close" -c 4 -s 64 -m connect
    exit 0
fi
f_mem=$(idle_memory floor $((port_base + 1)))
t_mem=$(idle_memory twine $((port_base + 2)))
echo
awk -v f="$f_mem" -v t="$t_mem" 'BEGIN {
    printf "10,000 idle connections: floor %.2f KiB/conn, twine %.2f KiB/conn, twine/floor %.2f\n", f, t, (f > 0 ? t / f : 0) }'
