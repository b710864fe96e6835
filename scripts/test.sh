#!/usr/bin/env bash
# Quick start, command 2: installs what is missing (the PostgreSQL server too), builds, and runs every test.
# The PostgreSQL tests get a private throwaway cluster (scripts/postgres.sh: initdb in a temp directory, a free port
# on 127.0.0.1) through STREAMKIT_TEST_POSTGRES_URL; it is stopped and removed on exit, also on failure or Ctrl-C.
# A caller that sets STREAMKIT_TEST_POSTGRES_URL brings its own database instead. Arguments go to `swift test`,
# whose exit status this script returns.
set -euo pipefail
cd "$(dirname "$0")/.."
pg_dir=""
cleanup() {
    local rc=$?
    if [ -n "$pg_dir" ]; then
        bash scripts/postgres.sh stop "$pg_dir" || echo "test.sh: could not stop the test cluster in $pg_dir" >&2
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ -n "${STREAMKIT_TEST_POSTGRES_URL:-}" ]; then
    bash scripts/deps.sh
else
    bash scripts/deps.sh --postgres
    pg_env=$(bash scripts/postgres.sh start)
    eval "$pg_env"
    pg_dir=$STREAMKIT_TEST_POSTGRES_DIR
fi
export STREAMKIT_TEST_POSTGRES_URL
# At most 8 tests at a time (Swift Testing otherwise starts all ~650 at once): on a 2-core machine whose cores are
# busy with other work, hundreds of tests sharing the two cooperative threads made long ones overrun their time
# limits although none was stuck; 8 at a time passed under that load in 178 s (all at once: 26 failures).
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-8}"
swift build --build-tests
swift test --skip-build "$@"
