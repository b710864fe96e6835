#!/usr/bin/env bash
# Formatting check (CI runs it first): `swift format lint --strict` over every Swift file of the package, with the
# configuration in .swift-format (4-space indentation, 120 columns). To fix what it reports: `bash scripts/lint.sh --fix`
# formats the tree in place.
set -euo pipefail
cd "$(dirname "$0")/.."
paths=(Package.swift Sources Tests Benchmarks Fuzz)
if [ "${1:-}" = "--fix" ]; then
    exec swift format format --in-place --recursive --parallel "${paths[@]}"
fi
exec swift format lint --strict --recursive --parallel "${paths[@]}"
