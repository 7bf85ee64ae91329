#!/usr/bin/env bash
# Runs every benchmark against BUILD_DIR and prints their tables, in the
# order README shows them. Each benchmark is bounded in time by itself.
#
#   bash bench/run_all.sh BUILD_DIR
set -uo pipefail
build=${1:-build}
here=$(dirname "$0")
run() { echo; echo "### $*"; "$@" || echo "(failed: $*)"; }
[ -x "$build/bench/deferred_bench" ] && run taskset -c 1 "$build/bench/deferred_bench"
[ -x "$build/bench/timer_bench" ] && run taskset -c 1 "$build/bench/timer_bench"
run bash "$here/echo_bench.sh" "$build"
[ -f "$here/haproxy_bench.sh" ] && run bash "$here/haproxy_bench.sh" "$build"
[ -f "$here/udp_bench.sh" ] && run bash "$here/udp_bench.sh" "$build"
[ -f "$here/tls_bench.sh" ] && run bash "$here/tls_bench.sh" "$build"
[ -f "$here/ft_bench.sh" ] && run bash "$here/ft_bench.sh" "$build"
exit 0
