#!/usr/bin/env bash
# The cost of the PROXY protocol wrapper: echo_server on haproxy:tcp: (every
# connection opened with a v1 header, as HAProxy's send-proxy does) against
# the same server on plain tcp:, side by side in one run, plus the rate of
# new connections with and without it.
#
#   bash bench/haproxy_bench.sh BUILD_DIR [SECONDS_PER_RUN] [REPEATS]
ECHO_BENCH_PAIR="twine haproxy" exec bash "$(dirname "$0")/echo_bench.sh" "$@"
