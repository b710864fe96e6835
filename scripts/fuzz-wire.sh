#!/usr/bin/env bash
# Fuzzes the StreamKitWire decoders (codec frames and mux frames) with libFuzzer + AddressSanitizer.
#
#   scripts/fuzz-wire.sh [seconds] [extra libFuzzer flags…]      (default 60 s)
#
# Builds the engine (the codec's only dependency) once with SwiftPM (debug, scratch path $SCRATCH, default
# .build-wire), then compiles the codec and mux sources of Sources/Wire (Codec, Messages, Mux: no NIO, no
# server) + Fuzz/WireDecodeFuzzer.swift together with `swiftc -sanitize=fuzzer,address` (only that code is
# instrumented) and links the dependencies' objects. The corpus lives in
# $SCRATCH/fuzz/corpus (seeded with one valid frame per message kind); crashes go to $SCRATCH/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_TO_RUN="${1:-60}"
shift || true
SCRATCH="${SCRATCH:-.build-wire}"
JOBS="${JOBS:-2}"
OUT="$SCRATCH/fuzz"
mkdir -p "$OUT/corpus"

swift build --scratch-path "$SCRATCH" --target StreamKitEngine -j "$JOBS"
BIN="$(swift build --scratch-path "$SCRATCH" --show-bin-path)"

objects=()
for module in StreamKitEngine StreamKitLogFiles Logging CStreamKitSupport; do
    while IFS= read -r object; do objects+=("$object"); done < <(find "$BIN/$module.build" -name '*.o' | sort)
done

swiftc -sanitize=fuzzer,address -parse-as-library -O -g \
    -swift-version 6 \
    -enable-upcoming-feature ExistentialAny \
    -enable-upcoming-feature MemberImportVisibility \
    -enable-upcoming-feature InternalImportsByDefault \
    -module-name StreamKitWire \
    -I "$BIN/Modules" -I Sources/CLZ4 \
    -Xcc -fmodule-map-file="$BIN/CStreamKitSupport.build/module.modulemap" \
    $(find Sources/Wire/Codec Sources/Wire/Messages Sources/Wire/Mux -name '*.swift' | sort) Fuzz/WireDecodeFuzzer.swift \
    "${objects[@]}" -llz4 \
    -o "$OUT/wire-decode-fuzzer"

if [ -z "$(ls -A "$OUT/corpus")" ]; then
    WIRE_FUZZ_SEED_DIR="$OUT/corpus" "$OUT/wire-decode-fuzzer" -runs=0 "$OUT/corpus" >/dev/null 2>&1 || true
fi

"$OUT/wire-decode-fuzzer" "$OUT/corpus" \
    -max_total_time="$SECONDS_TO_RUN" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$OUT/" -print_final_stats=1 "$@"
