#!/usr/bin/env bash
# Quick start, command 1: installs what is missing, builds the `streamkit` tool in release mode and runs the
# main job: the StreamKit WebSocket server on ws://127.0.0.1:7420/streamkit over the stores in ./data.
#
# Callers need a JWT (HS256): a random secret is generated into ./data/.jwt-secret on the first run (mode 600)
# and handed to the server through STREAMKIT_JWT_SECRET (not the command line, so `ps` does not show it).
# Arguments go to `streamkit serve`, e.g. `bash scripts/run.sh --durability interval:10`, `--no-auth`, or
# `--postgres URL` to serve the stores of a PostgreSQL database instead of ./data.
# STREAMKIT_DATA overrides the data directory. Ctrl-C (SIGINT) or SIGTERM stops the server cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
swift build -c release --product streamkit
BIN=.build/release/streamkit
DATA="${STREAMKIT_DATA:-./data}"
mkdir -p "$DATA"
SECRET_FILE="$DATA/.jwt-secret"
if [ ! -s "$SECRET_FILE" ]; then
    (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$SECRET_FILE")
    echo "generated a JWT secret in $SECRET_FILE" >&2
fi
cat >&2 <<HINT
To call the server, mint a token in a second terminal (see "Try it" in README.md):
  export STREAMKIT_JWT_SECRET="\$(cat $SECRET_FILE)"
  export STREAMKIT_TOKEN="\$($BIN token --all)"
HINT
# With --postgres URL the stores live in PostgreSQL and ./data keeps only the secret.
WHERE=(--data "$DATA")
for arg in "$@"; do
    case "$arg" in --postgres | --postgres=*) WHERE=() ;; esac
done
STREAMKIT_JWT_SECRET="$(cat "$SECRET_FILE")" exec "$BIN" serve "${WHERE[@]}" --host 127.0.0.1 --port 7420 "$@"
