#!/usr/bin/env bash
# The fault harness (docs/reliability.md): kills `streamkit serve` with SIGKILL under concurrent publishers and
# checks every acknowledged record; damages copies of stores and runs verify/inspect/dump/serve on them; sends
# garbage to the server's port while a publisher and a tail keep working. Prints a table of figures and checks
# and exits non-zero when a check fails (1) or the harness could not run (2).
#
#   scripts/faults.sh                 short run: 90 s in all (what CI runs)
#   scripts/faults.sh --long          long run: 20 minutes, every byte of the tiny stores damaged in turn
#   scripts/faults.sh --release       build and attack the release binary (default debug)
#   scripts/faults.sh --seed N …      other options go to streamkit-faults (--duration S, --phases crash,damage,
#                                     garbage, --work DIR, --keep, --jobs N; see `streamkit-faults --help`)
#
# Every random choice comes from the seed printed at the start; a failing run keeps its work directory (damaged
# copies, data directories) and names it in its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

configuration=debug
arguments=(--duration 90)
while [ $# -gt 0 ]; do
    case "$1" in
        --long) arguments=(--duration 1200 --every-byte) ;;
        --release) configuration=release ;;
        *) arguments+=("$1") ;;
    esac
    shift
done

swift build -c "$configuration" --product streamkit
swift build -c "$configuration" --product streamkit-faults
bin="$(swift build -c "$configuration" --show-bin-path)"
exec "$bin/streamkit-faults" --streamkit "$bin/streamkit" "${arguments[@]}"
