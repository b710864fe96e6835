#!/usr/bin/env bash
# API reference: builds the DocC documentation of every library module (the products in Package.swift, each with
# its catalog Sources/<dir>/<Module>.docc) with swift-docc-plugin, one archive per module:
# <dir>/StreamKitEngine.doccarchive, … in .build/docs, or in the directory given as the only argument. Fails on any
# DocC warning (a ``symbol`` link that does not resolve, a documented parameter that does not exist, a topic group
# naming nothing): docc runs with --warnings-as-errors, so the failing module's diagnostics are printed as errors
# and the script exits non-zero (the plugin then stops: modules not converted yet are checked on the next run).
# Builds with one job (-j 1); after `swift build` (debug) it reuses that build and only extracts symbol graphs and
# converts them (about 1.5 min on the 2-core machine). Each archive is a static site: e.g.
#   python3 -m http.server -d .build/docs/StreamKitClient.doccarchive 8000
# then open http://127.0.0.1:8000/documentation/streamkitclient.
set -euo pipefail
if [ $# -gt 1 ]; then
    echo "usage: bash scripts/docs.sh [OUTPUT-DIRECTORY]   (default .build/docs)" >&2
    exit 64
fi
out="${1:-}"
cd "$(dirname "$0")/.."
# A relative output directory is relative to where the script was called from; the default to the repository.
if [ -z "$out" ]; then
    out="$PWD/.build/docs"
elif [ "${out#/}" = "$out" ]; then
    out="$OLDPWD/$out"
fi
mkdir -p "$out"
modules=(
    StreamKitLogFiles StreamKitEngine StreamKitWire StreamKitClient StreamKitProcessing StreamKitPostgres
    StreamKitEventSourcing
)
targets=()
for module in "${modules[@]}"; do
    targets+=(--target "$module")
done
# --experimental-skip-synthesized-symbols leaves out what the compiler synthesises (Equatable's `!=`, the
# AsyncSequence operators every sequence type inherits …), --disable-indexing the LMDB index only Xcode reads.
swift package -j 1 --allow-writing-to-directory "$out" \
    generate-documentation "${targets[@]}" --output-path "$out" \
    --warnings-as-errors --disable-indexing --experimental-skip-synthesized-symbols
echo "docs.sh: ${#modules[@]} archives in $out"
