#!/usr/bin/env bash
# Runs the CI command (.ci/run) on a fresh clone of HEAD while the machine is loaded: two busy loops keep both
# cores occupied and a third process writes with O_DSYNC (fsync-heavy), as a shared CI machine may be.
# Usage: bash scripts/ci-under-load.sh [RUNS]   (default 3). Exit status 0 only when every run passed.
set -uo pipefail
runs="${1:-3}"
top="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
load_pids=()
cleanup() {
    for pid in "${load_pids[@]}"; do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

git clone -q "$top" "$work/clone"
for _ in 1 2; do
    ( while :; do :; done ) &
    load_pids+=($!)
done
( while :; do dd if=/dev/zero of="$work/dsync" bs=64k count=256 oflag=dsync status=none; done ) &
load_pids+=($!)

failed=0
for i in $(seq 1 "$runs"); do
    start=$(date +%s)
    if (cd "$work/clone" && CI=true bash .ci/run) > "$work/run-$i.log" 2>&1; then
        echo "run $i: passed in $(( $(date +%s) - start )) s"
    else
        failed=$((failed + 1))
        echo "run $i: FAILED in $(( $(date +%s) - start )) s; failures:"
        grep -E '✘|error:|failed' "$work/run-$i.log" | grep -v '^\[' | head -40
        cp "$work/run-$i.log" "/tmp/ci-under-load-run-$i.log" && echo "(full log: /tmp/ci-under-load-run-$i.log)"
    fi
done
echo "$((runs - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
