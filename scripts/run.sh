#!/usr/bin/env bash
# Quick start, command 1: installs what is missing, builds in release mode and runs the main job
# (for now the LogFiles benchmark scenarios; arguments are passed to the Benchmarks executable).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
swift build -c release --product Benchmarks
if [ $# -eq 0 ]; then set -- logfiles; fi
exec .build/release/Benchmarks "$@"
