#!/usr/bin/env bash
# Runs every fuzz target in BUILD_DIR for SECONDS each, starting from its seed
# corpus (tests/fuzz/corpus/<target>/, read only: new inputs go to a scratch
# copy), and prints one table row per target. A finding stops it: the input
# is kept in BUILD_DIR/fuzz-findings/ and the exit status is 1.
#
#   bash tests/fuzz/run.sh BUILD_DIR [SECONDS]
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR [SECONDS]}
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
findings=$build/fuzz-findings
scratch=$(mktemp -d /tmp/twine-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$findings"

echo "| target | runs | executions/s | seconds | corpus |"
echo "|---|---:|---:|---:|---:|"
status=0
for target in "$build"/tests/fuzz/fuzz_*; do
    [[ -x $target ]] || continue
    name=$(basename "$target")
    seeds=$here/corpus/$name
    mkdir -p "$scratch/$name"
    [[ -d $seeds ]] && cp -r "$seeds/." "$scratch/$name/"
    log=$scratch/$name.log
    if ! "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$findings/$name-" "$scratch/$name" \
        > "$log" 2>&1; then
        echo "FAIL: $name found a problem; the input is in $findings/:"
        grep -E "property failed|ERROR: |SUMMARY|Test unit written" "$log" | head -10
        status=1
        continue
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    corpus=$(find "$scratch/$name" -type f | wc -l)
    echo "| $name | $runs | $rate | $seconds | $corpus |"
done
exit $status
