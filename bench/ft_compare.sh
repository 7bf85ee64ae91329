#!/usr/bin/env bash
# twine-ft against the tools users would otherwise pick (an nc pipe, rsync to
# a daemon, rsync over ssh, scp), disk to disk between two network-namespace
# hosts joined by veth (sender 198.18.0.1 in host A, receiver 198.18.0.2 in
# host B), in one run: a table per case (fastest of N runs; wall seconds,
# MiB/s, speed against the case's reference, peak RSS and CPU seconds of each
# end), then PASS/FAIL lines against the project's targets.
#
#   bash bench/ft_compare.sh BUILD_DIR        (as root, for the namespaces)
#
# Cases (FTC_CASES="1 2 3 4 5 6" picks some):
#   1  one random file, FTC_FILE_MIB MiB (1024)
#   2  a tree of FTC_TREE_FILES (1000) random files of FTC_TREE_KIB KiB (256)
#   3  a tree of FTC_SMALL_FILES (10000) random files of FTC_SMALL_KIB KiB (4)
#   4  case 2's tree sent again, unchanged, to a destination holding the
#      copy the same tool made (rsync and twine-ft only; twine-ft's server
#      needs no --allow-overwrite: unchanged files are answered "up to date")
#   5  the regular files of FTC_COMPRESS_SRC (/usr/include), compressible,
#      over a link slowed to FTC_RATE (100mbit) by tbf in both directions;
#      the twine-ft --compress row only when `twine-ft send --help` offers it
#   6  bench/tls_bench.sh (twine TLS echo against plain TCP, loopback),
#      FTC_TLS_SECONDS (3) per measure; needs BUILD_DIR/bench/tls_bench
# FTC_SCALE=N divides the default file size and file counts by N, and takes
# 1/N of case 5's bytes (FTC_SCALE=16: a 64 MiB file, 62 and 625 files), for
# a quick run; the per-case variables above override it.
# FTC_REPEATS (3): runs per tool and case, interleaved; the fastest is shown.
# FTC_LIMIT (300): seconds any one run (and any server) may take.
# TWINE_FT_OLD=/path/to/twine-ft: an older binary measured as well, in rows
# "twine-ft (before)" (plaintext and --compress rows when its help offers them).
#
# The receivers write to a fresh ext4 with a journal on a loop device (direct
# I/O, a sparse image in the scratch directory); FTC_DEST_FS=root writes to
# the scratch directory's own filesystem instead (see below for why not).
# Before every run the destination is emptied (except in case 4), dirty pages
# are flushed (sync) and memory is warmed (see netns_lib.sh); after it the copy
# is compared with the source (cmp, diff -r). Peak RSS is the largest process
# of each end (/usr/bin/time -v counts reaped descendants): for scp and rsync
# over ssh the receiving end is sshd (started in host B, Debian's, throw-away
# keys) with its session processes and the rsync or sftp server it runs;
# sshd sees an empty ~/.bashrc for root (bind-mounted in its own mount
# namespace), so a heavy shell rc on the test machine is not charged to ssh.
# Exits 0 unless a tool failed to run or delivered a copy that differs.
set -euo pipefail

BUILD=${1:?usage: ft_compare.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
FT=$(realpath "$BUILD/examples/filetransfer/twine-ft")
FT_OLD=${TWINE_FT_OLD:-}
[[ -x $FT ]] || { echo "no twine-ft in $BUILD"; exit 1; }
[[ -z $FT_OLD || -x $FT_OLD ]] || { echo "TWINE_FT_OLD=$FT_OLD is not executable"; exit 1; }
[[ -n $FT_OLD ]] && FT_OLD=$(realpath "$FT_OLD")
[[ $(id -u) == 0 ]] || { echo "ft_compare.sh needs root (network namespaces, sshd)"; exit 1; }
for tool in nc rsync ssh scp ssh-keygen tar tc ss losetup mkfs.ext4; do
    command -v $tool > /dev/null || { echo "$tool is needed"; exit 1; }
done
[[ -x /usr/sbin/sshd ]] || { echo "/usr/sbin/sshd is needed (openssh-server)"; exit 1; }
# netns_up/down, rss, cpu, now, TIMED, warm_memory, wait_up, listening, stop_timed
# shellcheck source-path=SCRIPTDIR source=netns_lib.sh
source "$HERE/netns_lib.sh"

SCALE=${FTC_SCALE:-1}
FILE_MIB=${FTC_FILE_MIB:-$((1024 / SCALE))}
TREE_FILES=${FTC_TREE_FILES:-$((1000 / SCALE))}
TREE_KIB=${FTC_TREE_KIB:-256}
SMALL_FILES=${FTC_SMALL_FILES:-$((10000 / SCALE))}
SMALL_KIB=${FTC_SMALL_KIB:-4}
COMPRESS_SRC=${FTC_COMPRESS_SRC:-/usr/include}
RATE=${FTC_RATE:-100mbit}
REPEATS=${FTC_REPEATS:-3}
CASES=" ${FTC_CASES:-1 2 3 4 5 6} "
TLS_SECONDS=${FTC_TLS_SECONDS:-3}
LIMIT=${FTC_LIMIT:-300}
HOST_B=198.18.0.2

has_case() { [[ $CASES == *" $1 "* ]]; }
# helps BINARY FLAG: whether `BINARY send --help` mentions FLAG.
helps() { [[ $("$1" send --help 2>&1) == *"$2"* ]]; }

WORK=$(mktemp -d /tmp/twine-ft-compare.XXXXXX)
SRC=$WORK/src   # read by the sender, in host A
DST=$WORK/dst   # written by the receiver, in host B
SERVER=         # the running server's PID (/usr/bin/time)
MADE_RUN_SSHD=0
LOOP=           # the loop device under $DST, when the script made one
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    [[ -n $SERVER ]] && stop_timed "$SERVER"
    netns_down
    if [[ -n $LOOP ]]; then
        umount "$DST" 2> /dev/null
        losetup -d "$LOOP" 2> /dev/null
    fi
    rm -rf "$WORK"
    ((MADE_RUN_SSHD)) && rmdir /run/sshd 2> /dev/null
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

netns_up twc || { echo "cannot create network namespaces"; exit 1; }
mkdir -p "$SRC" "$DST"
# The receivers write to a fresh ext4 with a journal (Debian's default), a
# sparse image on the same disk behind a loop device with direct I/O. This
# VM's root ext4 has no journal, and without one ext4 skips inodes freed in
# the last seconds when it allocates: after the thousands of deletions
# between runs, creating a file scanned past all of them, and a run's time
# depended on what ran before it (4-6 s to create 8000 small files, 0.6 s
# on the journalled image). FTC_DEST_FS=root writes under /tmp instead.
DEST_FS="ext4 with a journal on a loop device (direct I/O) in $WORK"
if [[ ${FTC_DEST_FS:-loop} == loop ]]; then
    truncate -s 16G "$WORK/dst.img"
    LOOP=$(losetup -f --show --direct-io=on "$WORK/dst.img") || { echo "no loop device"; exit 1; }
    # Inode tables and journal written now, not by a kernel thread during the runs.
    mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$LOOP"
    mount "$LOOP" "$DST"
else
    DEST_FS="the filesystem of $WORK"
fi
echo "ft-compare-token-$$-$RANDOM$RANDOM" > "$WORK/token"

# sshd for scp and rsync over ssh: privilege separation needs /run/sshd.
[[ -d /run/sshd ]] || { mkdir -p /run/sshd && MADE_RUN_SSHD=1; }
mkdir -p "$WORK/ssh"
ssh-keygen -q -N '' -t ed25519 -f "$WORK/ssh/host_key"
ssh-keygen -q -N '' -t ed25519 -f "$WORK/ssh/client_key"
cp "$WORK/ssh/client_key.pub" "$WORK/ssh/authorized_keys"
SFTP_SERVER=internal-sftp
[[ -x /usr/lib/openssh/sftp-server ]] && SFTP_SERVER=/usr/lib/openssh/sftp-server
cat > "$WORK/ssh/sshd_config" << EOF
ListenAddress $HOST_B
HostKey $WORK/ssh/host_key
AuthorizedKeysFile $WORK/ssh/authorized_keys
PermitRootLogin yes
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PidFile $WORK/ssh/sshd.pid
Subsystem sftp $SFTP_SERVER
LogLevel ERROR
EOF
# The commands sshd runs go through root's shell, which reads ~/.bashrc; on
# this VM that runs `pyenv init` (0.7 CPU-seconds per ssh command). sshd gets
# an empty file bind-mounted over it, in a mount namespace of its own.
SSHD=(/usr/sbin/sshd)
ROOT_RC=$(getent passwd root | cut -d : -f 6)/.bashrc
if [[ -f $ROOT_RC ]]; then
    : > "$WORK/ssh/empty_bashrc"
    # shellcheck disable=SC2016 # the inner shell expands them
    SSHD=(unshare -m --propagation private sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' _
        "$WORK/ssh/empty_bashrc" "$ROOT_RC" /usr/sbin/sshd)
fi
SSH_OPTS="-F /dev/null -i $WORK/ssh/client_key -o StrictHostKeyChecking=no"
SSH_OPTS+=" -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR"

# ---------------------------------------------------------------- data
# make_tree DIR COUNT KIB: COUNT random files of KIB KiB, 100 a directory.
make_tree() {
    local dir=$1 count=$2 kib=$3 i=0 n sub
    mkdir -p "$dir"
    while ((i < count)); do
        n=$((count - i < 100 ? count - i : 100))
        sub=$dir/d$(printf %03d $((i / 100)))
        mkdir -p "$sub"
        head -c $((n * kib * 1024)) /dev/urandom | split -b $((kib * 1024)) -d -a 3 - "$sub/f"
        i=$((i + n))
    done
}
bytes_of() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s }'; }

echo "generating test data in $WORK..." >&2
if has_case 1; then
    head -c $((FILE_MIB * 1024 * 1024)) /dev/urandom > "$SRC/file.bin"
fi
if has_case 2 || has_case 4; then make_tree "$SRC/tree" "$TREE_FILES" "$TREE_KIB"; fi
if has_case 3; then make_tree "$SRC/small" "$SMALL_FILES" "$SMALL_KIB"; fi
if has_case 5; then
    total=$(bytes_of "$COMPRESS_SRC")
    mkdir -p "$SRC/include"
    # The regular files, in name order, up to 1/SCALE of the bytes.
    find "$COMPRESS_SRC" -type f -printf '%s %P\n' | sort -k 2 |
        awk -v max=$((total / SCALE)) '{ s += $1 } s <= max { sub(/^[0-9]+ /, ""); print }' \
            > "$WORK/include.list"
    tar c -C "$COMPRESS_SRC" --verbatim-files-from -T "$WORK/include.list" | tar x -C "$SRC/include"
fi

# ---------------------------------------------------------------- tools
declare -A NAME=(
    [nc]="nc" [rsyncd]="rsync daemon" [rsyncd-z]="rsync -z daemon" [rsync-ssh]="rsync over ssh"
    [scp]="scp" [ft]="twine-ft" [ft-plain]="twine-ft plaintext" [ft-z]="twine-ft --compress"
    [ft-old]="twine-ft (before)" [ft-old-plain]="twine-ft plaintext (before)"
    [ft-old-z]="twine-ft --compress (before)"
)
# The twine-ft rows of cases 1-4, and of case 5 (--compress when offered).
FT_ROWS=(ft ft-plain)
FT_C5=(ft)
HAVE_Z=0
helps "$FT" --compress && HAVE_Z=1 && FT_C5+=(ft-z)
if [[ -n $FT_OLD ]]; then
    FT_ROWS+=(ft-old)
    FT_C5+=(ft-old)
    helps "$FT_OLD" --insecure-plaintext && FT_ROWS+=(ft-old-plain)
    helps "$FT_OLD" --compress && FT_C5+=(ft-old-z)
fi

# Best (fastest correct) run of each case/tool; BAD holds why runs failed.
declare -A SEC RSS_S RSS_R CPU_S CPU_R BAD
FAILED=0
PORT=20000
IN_A=(ip netns exec "$NS_A" "${TIMED[@]}" -o "$WORK/cli.time" timeout "$LIMIT")
IN_B=(ip netns exec "$NS_B" "${TIMED[@]}" -o "$WORK/srv.time" timeout "$LIMIT")

# settle PID: waits (at most 5 s) until the daemon under PID (time, timeout,
# daemon) has no children left, so their usage is counted in its report.
settle() {
    local to daemon
    to=$(pgrep -P "$1" || true)
    [[ -n $to ]] || return 0
    daemon=$(pgrep -P "$to" || true)
    [[ -n $daemon ]] || return 0
    for _ in $(seq 50); do
        pgrep -P "$daemon" > /dev/null || return 0
        sleep 0.1
    done
}

# measure CASE TOOL SRC MODE WARM_MIB: one transfer of SRC (a file or a
# directory) from host A into $DST/cCASE-TOOL in host B. MODE: "fresh"
# (emptied first), "rerun" (the destination kept), "populate" (fresh,
# neither warmed nor recorded: the copy case 4 sends again).
measure() {
    local case=$1 tool=$2 src=$3 mode=$4 warm_mib=$5
    local dest=$DST/c$case-$tool name key=$1/$2 input=/dev/null self_exit=0
    local -a client flags=()
    name=$(basename "$src")
    [[ $mode == rerun ]] || rm -rf "$dest"
    mkdir -p "$dest"
    sync
    [[ $mode == populate ]] || warm_memory "$warm_mib" "$WORK"
    PORT=$((PORT + 1))
    rm -f "$WORK/cli.time" "$WORK/srv.time"
    case $tool in
        nc)
            self_exit=1 # the receiver ends at the sender's EOF
            # shellcheck disable=SC2016 # the inner shell expands them
            if [[ -d $src ]]; then
                "${IN_B[@]}" bash -c 'set -o pipefail; nc -l -s "$1" -p "$2" | tar x -C "$3"' _ \
                    "$HOST_B" "$PORT" "$dest" < /dev/null > "$WORK/srv.out" 2>&1 &
                client=(bash -c 'set -o pipefail; tar c -C "$1" "$2" | nc -N "$3" "$4"' _
                    "$(dirname "$src")" "$name" "$HOST_B" "$PORT")
            else
                "${IN_B[@]}" nc -l -s "$HOST_B" -p "$PORT" < /dev/null > "$dest/$name" \
                    2> "$WORK/srv.out" &
                client=(nc -N "$HOST_B" "$PORT")
                input=$src
            fi
            ;;
        rsyncd | rsyncd-z)
            printf '%s\n' "log file = $WORK/rsyncd.log" "[mod]" "path = $dest" "use chroot = no" \
                "read only = no" "uid = root" "gid = root" > "$WORK/rsyncd.conf"
            "${IN_B[@]}" rsync --daemon --no-detach --config="$WORK/rsyncd.conf" \
                --address="$HOST_B" --port="$PORT" < /dev/null > "$WORK/srv.out" 2>&1 &
            client=(rsync -a)
            [[ $tool == rsyncd-z ]] && client+=(-z)
            client+=("$src" "rsync://$HOST_B:$PORT/mod/")
            ;;
        rsync-ssh | scp)
            "${IN_B[@]}" "${SSHD[@]}" -D -e -f "$WORK/ssh/sshd_config" -p "$PORT" \
                < /dev/null > "$WORK/srv.out" 2>&1 &
            if [[ $tool == scp ]]; then
                # shellcheck disable=SC2206 # word splitting wanted: no spaces in $WORK
                client=(scp -q -r $SSH_OPTS -P "$PORT" "$src" "root@$HOST_B:$dest/")
            else
                client=(rsync -a -e "ssh $SSH_OPTS -p $PORT" "$src" "root@$HOST_B:$dest/")
            fi
            ;;
        ft*)
            local bin=$FT
            [[ $tool == ft-old* ]] && bin=$FT_OLD
            [[ $tool == *-plain ]] && flags=(--insecure-plaintext)
            "${IN_B[@]}" "$bin" serve "$dest" -q --listen "tcp:$PORT:interface=$HOST_B" \
                --token-file "$WORK/token" "${flags[@]}" < /dev/null > "$WORK/srv.out" 2>&1 &
            client=("$bin" send "$src" -q --to "tcp:host=$HOST_B:port=$PORT" \
                --token-file "$WORK/token" "${flags[@]}")
            [[ $tool == *-z ]] && client+=(-z)
            ;;
        *) echo "unknown tool $tool" >&2; exit 1 ;;
    esac
    SERVER=$!
    local rc=0 status=ok t0 t1
    if ! wait_up listening "$NS_B" "$PORT"; then
        rc=1
        status="server did not listen"
    else
        t0=$(now)
        "${IN_A[@]}" "${client[@]}" < "$input" > "$WORK/cli.out" 2>&1 || rc=$?
        if ((self_exit && rc == 0)); then wait "$SERVER" || rc=$?; fi
        t1=$(now)
        ((rc == 0)) || status="exit status $rc"
    fi
    ((self_exit && rc == 0)) || { settle "$SERVER"; stop_timed "$SERVER"; }
    SERVER=
    if [[ $status == ok ]]; then
        if [[ -d $src ]]; then
            diff -rq "$src" "$dest/$name" > /dev/null 2>&1 || status="copy differs"
        else
            cmp -s "$src" "$dest/$name" || status="copy differs"
        fi
    fi
    local seconds=-
    [[ $status != ok ]] || seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    printf '  case %s %-28s %-8s %s s  %s\n' "$case" "${NAME[$tool]}" "$mode" "$seconds" "$status" >&2
    if [[ $status != ok ]]; then
        FAILED=$((FAILED + 1))
        BAD[$key]="$status${BAD[$key]:+; ${BAD[$key]}}"
        {
            echo "    sender output:"; tail -n 5 "$WORK/cli.out" | sed 's/^/      /'
            echo "    receiver output:"; tail -n 5 "$WORK/srv.out" | sed 's/^/      /'
        } >&2
        return 0
    fi
    [[ $mode != populate ]] || return 0
    if [[ -z ${SEC[$key]:-} ]] || awk -v a="$seconds" -v b="${SEC[$key]}" 'BEGIN { exit !(a < b) }'; then
        SEC[$key]=$seconds
        RSS_S[$key]=$(rss "$WORK/cli.time")
        RSS_R[$key]=$(rss "$WORK/srv.time")
        CPU_S[$key]=$(cpu "$WORK/cli.time")
        CPU_R[$key]=$(cpu "$WORK/srv.time")
    fi
}

# size BYTES: in MiB, for titles.
size() { awk -v b="$1" 'BEGIN { m = b / 1048576; printf (m < 10 ? "%.1f MiB" : "%.0f MiB"), m }'; }
mib_of() { awk -v b="$1" 'BEGIN { m = int(b / 1048576 + 0.999); print (m < 16 ? 16 : m) }'; }

# run_case CASE SRC MODE TOOL...: REPEATS rounds, each tool in turn.
run_case() {
    local case=$1 src=$2 mode=$3 warm
    shift 3
    warm=$(mib_of "$(bytes_of "$src")")
    for _ in $(seq "$REPEATS"); do
        for tool in "$@"; do measure "$case" "$tool" "$src" "$mode" "$warm"; done
    done
    rm -rf "$DST/c$case-"*
}

# ---------------------------------------------------------------- report
TABLES=()
# table CASE TITLE BYTES REF TOOL...: the rows of CASE against REF's time
# (BYTES empty: no MiB/s column values, for the re-run).
table() {
    local case=$1 title=$2 bytes=$3 ref=$4 out key rate ratio
    shift 4
    out=$(printf '\n%s\n' "$title")
    out+=$(printf '\n%-30s %8s %8s %7s %9s %9s %9s %9s' tool seconds "MiB/s" "x ref" \
        "send RSS" "recv RSS" "send CPU" "recv CPU")
    for tool in "$@"; do
        key=$case/$tool
        if [[ -z ${SEC[$key]:-} ]]; then
            out+=$(printf '\n%-30s WARNING: no correct run (%s)' "${NAME[$tool]}" "${BAD[$key]:-not run}")
            continue
        fi
        rate=-
        [[ -z $bytes ]] || rate=$(awk -v b="$bytes" -v s="${SEC[$key]}" 'BEGIN { printf "%.1f", b / 1048576 / s }')
        ratio=-
        [[ -z ${SEC[$case/$ref]:-} ]] ||
            ratio=$(awk -v r="${SEC[$case/$ref]}" -v s="${SEC[$key]}" 'BEGIN { printf "%.2f", r / s }')
        out+=$(printf '\n%-30s %8.2f %8s %7s %9s %9s %9s %9s' "${NAME[$tool]}" "${SEC[$key]}" "$rate" \
            "$ratio" "${RSS_S[$key]}" "${RSS_R[$key]}" "${CPU_S[$key]}" "${CPU_R[$key]}")
        [[ -z ${BAD[$key]:-} ]] || out+=$(printf '\n%-30s WARNING: other runs failed (%s)' "" "${BAD[$key]}")
    done
    out+=$(printf '\n(x ref: %s seconds / seconds, above 1 is faster; RSS in MiB, CPU user+system s)' "${NAME[$ref]}")
    TABLES+=("$out")
}

LOAD0=$(cut -d ' ' -f 1-3 /proc/loadavg)
echo "running (fastest of $REPEATS each; progress on stderr)..." >&2
if has_case 1; then
    run_case 1 "$SRC/file.bin" fresh nc rsyncd rsync-ssh scp "${FT_ROWS[@]}"
    table 1 "1. one $FILE_MIB MiB random file" "$((FILE_MIB * 1048576))" nc \
        nc rsyncd rsync-ssh scp "${FT_ROWS[@]}"
fi
TREE_BYTES=$((TREE_FILES * TREE_KIB * 1024))
if has_case 2; then
    NAME[nc]="tar | nc"
    run_case 2 "$SRC/tree" fresh nc rsyncd rsync-ssh scp "${FT_ROWS[@]}"
    table 2 "2. a tree of $TREE_FILES x $TREE_KIB KiB random files ($(size "$TREE_BYTES"))" \
        "$TREE_BYTES" nc nc rsyncd rsync-ssh scp "${FT_ROWS[@]}"
fi
if has_case 3; then
    NAME[nc]="tar | nc"
    SMALL_BYTES=$((SMALL_FILES * SMALL_KIB * 1024))
    run_case 3 "$SRC/small" fresh nc rsyncd rsync-ssh scp "${FT_ROWS[@]}"
    table 3 "3. a tree of $SMALL_FILES x $SMALL_KIB KiB random files ($(size "$SMALL_BYTES"))" \
        "$SMALL_BYTES" nc nc rsyncd rsync-ssh scp "${FT_ROWS[@]}"
fi
if has_case 4; then
    RERUN=(rsyncd rsync-ssh "${FT_ROWS[@]}")
    for tool in "${RERUN[@]}"; do measure 4 "$tool" "$SRC/tree" populate 16; done
    run_case 4 "$SRC/tree" rerun "${RERUN[@]}"
    table 4 "4. case 2's tree again, unchanged, onto the copy the same tool made" "" rsyncd "${RERUN[@]}"
fi
if has_case 5; then
    INC_BYTES=$(bytes_of "$SRC/include")
    ip netns exec "$NS_A" tc qdisc add dev "$VETH_A" root tbf rate "$RATE" burst 32kbit latency 400ms
    ip netns exec "$NS_B" tc qdisc add dev "$VETH_B" root tbf rate "$RATE" burst 32kbit latency 400ms
    C5=(rsyncd rsyncd-z "${FT_C5[@]}")
    run_case 5 "$SRC/include" fresh "${C5[@]}"
    ip netns exec "$NS_A" tc qdisc del dev "$VETH_A" root
    ip netns exec "$NS_B" tc qdisc del dev "$VETH_B" root
    table 5 "5. $(find "$SRC/include" -type f | wc -l) files of $COMPRESS_SRC ($(size "$INC_BYTES"), compressible) over a $RATE link (tbf)" \
        "$INC_BYTES" rsyncd "${C5[@]}"
    ((HAVE_Z)) || TABLES+=("(no twine-ft --compress row: \`twine-ft send --help\` does not offer --compress)")
fi
TLS_OUT=
if has_case 6; then
    if [[ -x $BUILD/bench/tls_bench || -x $BUILD/tls_bench ]]; then
        echo "  case 6 bench/tls_bench.sh $BUILD $TLS_SECONDS" >&2
        # Once more if it fails (its server may be slow to start on a loaded machine).
        for attempt in 1 2; do
            if TLS_OUT=$(timeout $((TLS_SECONDS * 12 + 60)) bash "$HERE/tls_bench.sh" "$BUILD" \
                "$TLS_SECONDS" 2>&1); then
                ((attempt == 1)) || TLS_OUT+=$'\n'"(the first attempt failed: $TLS_FIRST)"
                break
            fi
            if ((attempt == 1)); then
                TLS_FIRST=$(tail -n 1 <<< "$TLS_OUT")
            else
                TLS_OUT+=$'\n'"WARNING: bench/tls_bench.sh failed twice"
                FAILED=$((FAILED + 1))
            fi
        done
    else
        TLS_OUT="skipped: no tls_bench in $BUILD (cmake --build $BUILD --target tls_bench)"
    fi
    TABLES+=("$(printf '\n6. TLS echo against plain TCP on loopback (bench/tls_bench.sh, %s s a measure)\n%s' \
        "$TLS_SECONDS" "$TLS_OUT")")
fi

# ---------------------------------------------------------------- targets
TARGETS=()
# target DESC VALUE OP GOAL DETAIL: PASS when VALUE OP GOAL (OP: ">=", ">", "<=").
target() {
    local verdict
    if [[ -z $2 ]]; then
        TARGETS+=("$(printf '%-5s %s: not measured' SKIP "$1")")
        return
    fi
    verdict=$(awk -v v="$2" -v g="$4" -v op="$3" 'BEGIN {
        ok = (op == ">=") ? v >= g : (op == ">") ? v > g : v <= g; print ok ? "PASS" : "FAIL" }')
    TARGETS+=("$(printf '%-5s %s: %s (goal %s %s; %s)' "$verdict" "$1" "$2" "$3" "$4" "$5")")
}
# s CASE TOOL: the best seconds, or nothing.
s() { echo "${SEC[$1/$2]:-}"; }
# div A B [C]: A / B (/ C), two decimals; nothing when an operand is missing.
div() {
    [[ -n $1 && -n $2 && -n ${3-1} ]] || return 0
    awk -v a="$1" -v b="$2" -v c="${3-1}" 'BEGIN { printf "%.2f", a / b / c }'
}
min() { if [[ -z $1 || -z $2 ]]; then echo "$1$2"; else awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; fi; }

if has_case 1; then
    ssh_best=$(min "$(s 1 scp)" "$(s 1 rsync-ssh)")
    [[ -n $(s 1 scp) && -n $(s 1 rsync-ssh) ]] || ssh_best=
    target "case 1, twine-ft vs the faster of scp and rsync over ssh" "$(div "$ssh_best" "$(s 1 ft)")" ">=" 2.5 \
        "scp $(s 1 scp) s, rsync over ssh $(s 1 rsync-ssh) s, twine-ft $(s 1 ft) s"
    target "case 1, twine-ft vs nc" "$(div "$(s 1 nc)" "$(s 1 ft)")" ">=" 0.9 \
        "nc $(s 1 nc) s, twine-ft $(s 1 ft) s"
    target "case 1, twine-ft plaintext vs nc" "$(div "$(s 1 nc)" "$(s 1 ft-plain)")" ">=" 1.0 \
        "nc $(s 1 nc) s, twine-ft plaintext $(s 1 ft-plain) s"
fi
if has_case 2; then
    if has_case 1; then
        scaled=$(awk -v t="$(s 1 ft)" -v tb="$TREE_BYTES" -v fb="$((FILE_MIB * 1048576))" \
            'BEGIN { if (t != "") printf "%.3f", t * tb / fb }')
        target "case 2, twine-ft tree time / file time scaled to the tree's bytes" \
            "$(div "$(s 2 ft)" "$scaled")" "<=" 1.5 "tree $(s 2 ft) s, file scaled ${scaled:-?} s"
    fi
    target "case 2, twine-ft vs rsync daemon" "$(div "$(s 2 rsyncd)" "$(s 2 ft)")" ">" 1.0 \
        "rsync daemon $(s 2 rsyncd) s, twine-ft $(s 2 ft) s"
fi
if has_case 3; then
    target "case 3, twine-ft vs rsync daemon" "$(div "$(s 3 rsyncd)" "$(s 3 ft)")" ">" 1.0 \
        "rsync daemon $(s 3 rsyncd) s, twine-ft $(s 3 ft) s"
fi
if has_case 4; then
    rsync_best=$(min "$(s 4 rsyncd)" "$(s 4 rsync-ssh)")
    target "case 4, re-run, twine-ft vs the faster rsync" "$(div "$rsync_best" "$(s 4 ft)")" ">=" 1.0 \
        "rsync daemon $(s 4 rsyncd) s, rsync over ssh $(s 4 rsync-ssh) s, twine-ft $(s 4 ft) s"
fi
if has_case 5; then
    if ((HAVE_Z)); then
        target "case 5, twine-ft --compress vs rsync -z daemon" "$(div "$(s 5 rsyncd-z)" "$(s 5 ft-z)")" ">" 1.0 \
            "rsync -z $(s 5 rsyncd-z) s, twine-ft --compress $(s 5 ft-z) s"
        target "case 5, twine-ft --compress vs twine-ft" "$(div "$(s 5 ft)" "$(s 5 ft-z)")" ">=" 2.0 \
            "twine-ft $(s 5 ft) s, twine-ft --compress $(s 5 ft-z) s"
    else
        TARGETS+=("SKIP  case 5, twine-ft --compress: this twine-ft has no --compress")
    fi
fi
if [[ $TLS_OUT == *"TLS / TCP"* ]]; then
    tls_ratio=${TLS_OUT##*TLS / TCP}
    TARGETS+=("$(printf '%-5s case 6, twine TLS 1.3 echo / plain TCP echo: %s (no goal)' INFO "${tls_ratio// /}")")
fi
# Peak RSS of each end over every row of this twine-ft.
for end in S R; do
    worst='' where=''
    for key in "${!SEC[@]}"; do
        [[ $key =~ /ft(-plain|-z)?$ ]] || continue
        if [[ $end == S ]]; then v=${RSS_S[$key]}; else v=${RSS_R[$key]}; fi
        if [[ -z $worst ]] || awk -v a="$v" -v b="$worst" 'BEGIN { exit !(a > b) }'; then
            worst=$v
            where="case ${key%%/*}, ${NAME[${key#*/}]}"
        fi
    done
    label=sender
    [[ $end == S ]] || label=receiver
    target "twine-ft peak RSS, $label, largest over its rows (MiB)" "$worst" "<=" 32 "in $where"
done

# ---------------------------------------------------------------- print
echo
echo "twine-ft $FT${FT_OLD:+, before: $FT_OLD}"
echo "$(nproc) cores, load average $LOAD0 at the start, $(cut -d ' ' -f 1-3 /proc/loadavg) at the end;" \
    "host A 198.18.0.1 -> host B 198.18.0.2 (veth); fastest of $REPEATS runs"
echo "$(rsync --version | head -1 | sed 's/  */ /g'); $(ssh -V 2>&1) (default cipher" \
    "$(ssh -G -F /dev/null x < /dev/null 2> /dev/null | awk '/^ciphers/ { split($2, c, ","); print c[1] }'));" \
    "twine-ft default: TLS 1.3 keyed by the token"
echo "receivers write to $DEST_FS."
echo "twine-ft makes received files durable (fsync/syncfs) before it reports; nc, rsync and scp leave them to the page cache."
echo "recv RSS/CPU of scp and rsync over ssh: sshd and everything it ran for the transfer."
printf '%s\n' "${TABLES[@]}"
echo
echo "targets (twine-ft = this build, default mode unless named)"
printf '%s\n' "${TARGETS[@]}"
if ((FAILED)); then
    echo
    echo "$FAILED run(s) failed or delivered a copy that differs (see WARNING rows and stderr)"
    exit 1
fi
exit 0
