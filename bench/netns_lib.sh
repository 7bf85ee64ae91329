# Shell helpers shared by the file-transfer benchmarks (bench/ft_bench.sh,
# bench/ft_compare.sh): two network-namespace hosts joined by a veth,
# 198.18.0.1 (host A) and 198.18.0.2 (host B); reading /usr/bin/time -v
# reports; warming memory before a run. Source it; it sets no options.
# shellcheck shell=bash

# netns_up TAG: creates namespaces $NS_A and $NS_B joined by the veth pair
# $VETH_A (in A, 198.18.0.1/24) and $VETH_B (in B, 198.18.0.2/24), loopback up
# in both. TAG (at most 6 characters, e.g. "twb") names them, with the
# shell's PID. Returns 1 when not root or namespaces are unavailable.
# The caller's EXIT trap must call netns_down.
netns_up() {
    local tag=$1
    NS_A=$tag-a-$$
    NS_B=$tag-b-$$
    VETH_A=${tag}a$$
    VETH_B=${tag}b$$
    [[ $(id -u) == 0 ]] || return 1
    ip netns add "$NS_A" 2> /dev/null || return 1
    ip netns add "$NS_B" || return 1
    ip link add "$VETH_A" type veth peer name "$VETH_B" || return 1
    ip link set "$VETH_A" netns "$NS_A" || return 1
    ip link set "$VETH_B" netns "$NS_B" || return 1
    ip netns exec "$NS_A" ip addr add 198.18.0.1/24 dev "$VETH_A" || return 1
    ip netns exec "$NS_B" ip addr add 198.18.0.2/24 dev "$VETH_B" || return 1
    ip netns exec "$NS_A" ip link set lo up || return 1
    ip netns exec "$NS_B" ip link set lo up || return 1
    ip netns exec "$NS_A" ip link set "$VETH_A" up || return 1
    ip netns exec "$NS_B" ip link set "$VETH_B" up
}

# netns_down: deletes what netns_up made (the veth goes with its namespace).
netns_down() {
    [[ -n ${NS_A:-} ]] && ip netns del "$NS_A" 2> /dev/null
    [[ -n ${NS_B:-} ]] && ip netns del "$NS_B" 2> /dev/null
    return 0
}

# rss FILE: the peak RSS in MiB that /usr/bin/time -v wrote to FILE (for a
# process that forks, the largest of it and its reaped descendants).
rss() { awk '/Maximum resident/ { printf "%.1f", $6 / 1024 }' "$1"; }
# cpu FILE: the user + system seconds that /usr/bin/time -v wrote to FILE.
cpu() { awk '/User time|System time/ { s += $NF } END { printf "%.2f", s }' "$1"; }
now() { date +%s.%N; }
# shellcheck disable=SC2034 # used by the scripts that source this
TIMED=(/usr/bin/time -v)
[[ -x /usr/bin/time ]] || apt-get install -y time > /dev/null

# warm_memory MIB DIR: writes and deletes a file of MIB MiB in DIR, just before a
# run. This VM hands freed memory back to its host (virtio-balloon free page
# reporting) a few seconds after it is freed; the next first touch of each
# page then costs about 13 us (measured: writing 1 GiB into fresh page cache
# takes 3.8 s of system time, into memory freed a moment ago 0.35 s). Warming
# gives every tool's receiver the same memory, as a bare-metal host would.
warm_memory() {
    dd if=/dev/zero of="$2/warm" bs=1M count="$1" status=none
    rm -f "$2/warm"
}

# wait_up CHECK...: polls until CHECK succeeds (bounded: 10 s).
wait_up() { for _ in $(seq 100); do "$@" && return 0; sleep 0.1; done; return 1; }

# listening NS PORT: whether something in namespace NS listens on TCP PORT.
listening() { [[ -n $(ip netns exec "$1" ss -Hltn "sport = :$2") ]]; }

# stop_timed PID: PID is a background `/usr/bin/time ... timeout ... TOOL`
# (possibly through `ip netns exec`, which execs). Sends SIGTERM to its
# child, timeout, which passes it on to the tool's process group; then reaps.
stop_timed() {
    local child
    child=$(pgrep -P "$1" || true)
    [[ -n $child ]] && kill -TERM "$child" 2> /dev/null
    wait "$1" 2> /dev/null || true
}
